"""Prediction log: served and shadow predictions and their feedback, in SQLite or PostgreSQL.

`PredictionLog` is the one object serving and monitoring hold: it ties the database
(`database`), the schema migrations (`migrate`), the non-blocking batch writer (`writer`),
feedback (`feedback`) and the read side (`queries`) to one engine. Request handlers call
`enqueue`, which only appends to an in-memory queue (or, when it is full, to a local spill
file), so logging never adds a database round trip, nor a wait, to a prediction.
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from homeprice.errors import HomepriceError, UserInputError
from homeprice.predictionlog import queries
from homeprice.predictionlog.database import create_engine, store_url
from homeprice.predictionlog.feedback import checked_price, prediction_dataset, record_feedback
from homeprice.predictionlog.health import LogHealth
from homeprice.predictionlog.migrate import upgrade
from homeprice.predictionlog.records import (
    DuplicateFeedback,
    PredictionNotWrittenYet,
    PredictionRecord,
    RequestRecords,
    UnknownPrediction,
)
from homeprice.predictionlog.schema import utc
from homeprice.predictionlog.spill import SpillDirectory
from homeprice.predictionlog.writer import BatchWriter

# DuplicateFeedback and UnknownPrediction stay importable from here for modules that still
# import them from `homeprice.predictionlog.store` (new code imports `homeprice.predictionlog`).
__all__ = ["DuplicateFeedback", "PredictionLog", "PredictionRecord", "UnknownPrediction"]

log = logging.getLogger(__name__)

# How long add_feedback waits for its prediction's row when it is still queued.
_FEEDBACK_WAIT = 10.0


class PredictionLog:
    """The prediction log store: batched background writes, feedback, and monitoring reads.

    While the database is unreachable the writer retries the batch in hand with capped
    exponential backoff and new records wait in the bounded queue, so requests never notice.
    When the queue is full, records go to a JSON-lines file in `spill_dir` (one per process, at
    most `spill_max_bytes`), replayed in order into the database once it answers, without
    duplicates (the prediction_id is the key); a later process replays files left behind.
    Records are lost only when the spill is full too (or fails, or `spill_dir` is None), or when
    the database refuses a row for its data (a duplicate id, a value out of range): each is
    counted in `rows_dropped` and logged as an error.
    """

    def __init__(self, url: str, *, batch_size: int = 500, flush_interval: float = 0.05,
                 max_queue: int = 100_000, retry_initial: float = 0.1, retry_max: float = 5.0,
                 spill_dir: Path | None = None, spill_max_bytes: int = 256 * 2**20,
                 fsync_interval: float = 1.0) -> None:
        if batch_size < 1 or max_queue < 1:
            raise UserInputError("batch_size and max_queue must be at least 1")
        if not 0 < retry_initial <= retry_max:
            raise UserInputError(f"need 0 < retry_initial <= retry_max, got {retry_initial} "
                                 f"and {retry_max}")
        if spill_max_bytes < 0:
            raise UserInputError(f"spill_max_bytes must be 0 or more, got {spill_max_bytes}")
        self._url = store_url(url)
        self.url = self._url.render_as_string(hide_password=True)
        self._engine = create_engine(self._url)
        spill = None if spill_dir is None else SpillDirectory(Path(spill_dir), spill_max_bytes)
        self._writer = BatchWriter(self._engine, batch_size=batch_size,
                                   flush_interval=flush_interval, max_queue=max_queue,
                                   retry_initial=retry_initial, retry_max=retry_max,
                                   spill=spill, fsync_interval=fsync_interval)
        self._start_lock = threading.Lock()

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Bring the schema to the latest migration and start the background writer."""
        with self._start_lock:
            if self._writer.closed:
                raise HomepriceError("the prediction log is closed; create a new PredictionLog")
            if self._writer.started:
                return
            upgrade(self._engine, self._url)
            self._writer.start()
            # A daemon thread dies with the interpreter; drain the queue first on a normal exit.
            atexit.register(self.close)
            log.info("prediction log writing to %s", self.url)

    def prepare(self) -> None:
        """Bring the schema to the latest migration without starting the writer.

        `homeprice serve --workers N` calls this once before the workers start: their own
        start() then finds the schema current, instead of N processes migrating a new database
        at once (the in-process migration lock cannot order processes).
        """
        with self._start_lock:
            upgrade(self._engine, self._url)

    def close(self, timeout: float = 30.0) -> None:
        """Write what is queued, stop the writer and release the database connections.

        The drain is bounded by `timeout` seconds (the shutdown grace period): records still
        unwritten then are spilled for the next process to replay, or, if they cannot be,
        counted in `rows_dropped` and logged as an error with their number.
        """
        if not self._writer.close(timeout):
            return  # already closed, or the writer keeps going while the process lives
        atexit.unregister(self.close)
        self._engine.dispose()

    # -- writing -----------------------------------------------------------------------------
    def enqueue(self, records: RequestRecords | Sequence[PredictionRecord]) -> None:
        """Queue records for writing (spill them when the queue is full); never waits or raises.

        The request path hands over one RequestRecords per request (a row per home, by column).
        """
        self._writer.enqueue(records)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every record enqueued so far is written (spilled ones replayed) or dropped;
        True if drained."""
        return self._writer.flush(timeout)

    # -- feedback ----------------------------------------------------------------------------
    def add_feedback(self, prediction_id: str, actual_price: float,
                     ts: datetime | None = None) -> None:
        """Record the actual price for a logged prediction (received at `ts`, default now).

        Raises UnknownPrediction for an id never logged, DuplicateFeedback for a second label,
        and PredictionNotWrittenYet (503) for an id not written while spilled records wait.
        """
        price = checked_price(actual_price)
        received = datetime.now(UTC) if ts is None else utc(ts)
        # Feedback can beat its prediction's row to the database: wait for that row first.
        queued = self._writer.still_queued(prediction_id, _FEEDBACK_WAIT)
        try:
            record_feedback(self._engine, prediction_id, price, received, queued=queued)
        except UnknownPrediction:
            # Spilled ids are not kept in memory (the spill may hold millions): while any wait
            # for replay, an unknown id may be one of them, and "send it again" beats a 404.
            if self._writer.spill_records:
                raise PredictionNotWrittenYet(
                    f"prediction_id {prediction_id!r} is not in the prediction log yet (spilled "
                    f"records wait for the database); send the feedback again later") from None
            raise

    # -- reading -----------------------------------------------------------------------------
    def dataset_of(self, prediction_id: str) -> str | None:
        """The dataset whose prediction `prediction_id` is, or None while no row has that id."""
        return prediction_dataset(self._engine, prediction_id)

    def ping(self) -> bool:
        """True if the database answers."""
        try:
            with self._engine.connect() as connection:
                connection.execute(sa.text("SELECT 1"))
        except SQLAlchemyError as exc:
            log.warning("prediction log database at %s does not answer: %s", self.url, exc)
            return False
        return True

    def count(self, dataset: str | None = None) -> int:
        """The number of logged predictions (of one dataset, or all)."""
        return queries.count(self._engine, dataset)

    def labelled(self, dataset: str, since: datetime | None = None) -> pd.DataFrame:
        """Predictions of `dataset` with an actual price (made since `since`), oldest first;
        shadow predictions take their parent's label (see `queries.labelled`)."""
        return queries.labelled(self._engine, dataset, since)

    def features_of(self, prediction_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The logged request features of each of `prediction_ids` still in the log, by id."""
        return queries.features_of(self._engine, prediction_ids)

    def recent_features(self, dataset: str, limit: int = 5000,
                        variant: str | None = None, since: datetime | None = None
                        ) -> pd.DataFrame:
        """The features of the latest `limit` requests (since `since`), one column per feature,
        oldest first; without `variant`, served predictions only."""
        return queries.recent_features(self._engine, dataset, limit, variant, since)

    def requests_since(self, dataset: str, since: datetime) -> pd.DataFrame:
        """One row per served prediction of `dataset` since `since`: ts (UTC), request_id,
        variant and latency_ms (the request's latency shared out over its items)."""
        return queries.requests_since(self._engine, dataset, since)

    # -- counters ----------------------------------------------------------------------------
    @property
    def queue_depth(self) -> int:
        """Records accepted but not yet written or dropped (including the batch in flight)."""
        return self._writer.queue_depth

    @property
    def rows_written(self) -> int:
        """Records written to the database by this instance."""
        return self._writer.written

    @property
    def rows_spilled(self) -> int:
        """Records this instance appended to a spill file (the queue was full, or at shutdown)."""
        return self._writer.spilled

    @property
    def rows_replayed(self) -> int:
        """Spilled records (of this process or earlier ones) sent to the database."""
        return self._writer.replayed

    @property
    def spill_records(self) -> int:
        """Records this instance spilled that wait for replay."""
        return self._writer.spill_records

    @property
    def spill_bytes(self) -> int:
        """Bytes of this instance's spill files that wait for replay."""
        return self._writer.spill_bytes

    @property
    def rows_dropped(self) -> int:
        """Records lost: the queue and the spill were both full (or the spill failed or is
        off), the database refused them for their data, or a spill line was unreadable."""
        return self._writer.dropped

    def health(self) -> LogHealth:
        """ok / degraded (records wait in the spill) / down (writes fail), from the writes
        actually attempted, with the last error class and the backlog sizes."""
        return self._writer.health()

    @property
    def write_errors(self) -> int:
        """Failed write attempts (each retry during an outage counts)."""
        return self._writer.errors
