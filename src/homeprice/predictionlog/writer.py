"""The non-blocking prediction writer: a bounded in-memory queue drained by one thread in batches.

Request handlers only append to the queue; the thread writes it in batches (one transaction
per batch), so logging never adds a database round trip to a prediction. While the database
is unreachable the thread retries the batch in hand with capped exponential backoff and new
records wait in the bounded queue.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy.engine import Engine
from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
    StatementError,
)

from homeprice.predictionlog.database import reason
from homeprice.predictionlog.records import PredictionRecord
from homeprice.predictionlog.schema import prediction_logs, utc

log = logging.getLogger(__name__)

_JSON_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY
# How long close() waits for the writer to drop its batch in hand after giving up on an outage.
_GIVE_UP_GRACE = 2.0
# While the database stays down, one warning per this many seconds (and one when it is back).
_OUTAGE_LOG_INTERVAL = 30.0


def _row(record: PredictionRecord) -> dict[str, Any]:
    """The prediction_logs row of a record."""
    return {
        "prediction_id": str(record.prediction_id),
        "request_id": str(record.request_id),
        # SQLite stores datetimes without an offset, so every value is written in UTC.
        "ts": utc(record.ts),
        "dataset": str(record.dataset),
        "variant": str(record.variant),
        "model_version": str(record.model_version),
        "served": bool(record.served),
        "prediction": float(record.prediction),
        "lower": float(record.lower),
        "upper": float(record.upper),
        # Sorted keys: identical features give identical text.
        "features": orjson.dumps(record.features, default=str, option=_JSON_OPTIONS).decode(),
        "client_id": None if record.client_id is None else str(record.client_id),
        "latency_ms": None if record.latency_ms is None else float(record.latency_ms),
        "parent_prediction_id": (None if record.parent_prediction_id is None
                                 else str(record.parent_prediction_id)),
    }


def _refused_data(exc: SQLAlchemyError) -> bool:
    """True if the database refused the rows themselves; False for an outage or server fault.

    Connectivity failures (OperationalError, InterfaceError, a dropped connection) and faults
    of the database rather than of the rows (a missing table, a read-only server) are worth
    waiting out; a duplicate id or a value out of range (IntegrityError, DataError) is not.
    """
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated or isinstance(exc, (OperationalError, InterfaceError)):
            return False
        return isinstance(exc, (IntegrityError, DataError))
    # Not from the driver: a value SQLAlchemy could not bind is the row's fault.
    return isinstance(exc, StatementError)


class BatchWriter:
    """Queued records written to prediction_logs by one background thread, in batches.

    Records are lost only when the queue overflows (it stayed full for `enqueue_timeout`) or
    when `close` runs out of time with the database still down; both are counted in `dropped`
    and logged as errors. A row the database refuses for its data (a duplicate id, a value out
    of range) is dropped alone, without the rest of its batch.
    """

    def __init__(self, engine: Engine, *, batch_size: int, flush_interval: float,
                 max_queue: int, enqueue_timeout: float, retry_initial: float,
                 retry_max: float) -> None:
        self._engine = engine
        self._batch_size = batch_size
        self._flush_interval = flush_interval
        self._max_queue = max_queue
        self._enqueue_timeout = enqueue_timeout
        self._retry_initial = retry_initial
        self._retry_max = retry_max

        # One lock guards the queue, the sequence numbers and the counters; the conditions
        # share it so a waiter sees a consistent state when it wakes.
        self._lock = threading.Lock()
        self._has_items = threading.Condition(self._lock)
        self._has_space = threading.Condition(self._lock)
        self._progress = threading.Condition(self._lock)
        # Wakes the writer from a retry backoff when close() gives up.
        self._retry_wake = threading.Condition(self._lock)
        self._queue: deque[tuple[int, PredictionRecord]] = deque()
        # Records get increasing sequence numbers; the writer handles them in order, so
        # "everything up to n is written or dropped" is the single number _done.
        self._accepted = 0
        self._done = 0
        # True while the writer holds a batch taken off the queue.
        self._in_hand = False
        # prediction_id -> sequence number, for records not yet written (feedback may race them).
        self._pending: dict[str, int] = {}
        self._urgent = 0
        self._stopping = False
        self._closed = False
        # Set when close() ran out of time: a database failure from then on drops the records.
        self._gave_up = False
        # Monotonic time of the first failed write of the current outage (None: writes succeed).
        self._failing_since: float | None = None
        self._last_outage_log = 0.0
        self._thread: threading.Thread | None = None
        self._written = 0
        self._dropped = 0
        self._errors = 0

    # -- lifecycle ---------------------------------------------------------------------------
    @property
    def started(self) -> bool:
        """Whether the writer thread was started."""
        return self._thread is not None

    @property
    def closed(self) -> bool:
        """Whether close() was called."""
        with self._lock:
            return self._closed

    def start(self) -> None:
        """Start the writer thread (the caller starts it once)."""
        self._thread = threading.Thread(target=self._run, name="homeprice-prediction-log",
                                        daemon=True)
        self._thread.start()

    def close(self, timeout: float) -> bool:
        """Write everything queued and stop the thread; True if this call stopped the writer.

        While the database is down the writer keeps retrying for up to `timeout` seconds; the
        records still unwritten then are counted in `dropped` and logged as an error. False
        when already closed, or when the writer is still busy after giving up.
        """
        with self._lock:
            if self._closed:
                return False
            self._closed = True
            self._stopping = True
            self._has_items.notify_all()
            self._has_space.notify_all()
            thread = self._thread
            lost = self._drop_queue() if thread is None else 0
        if lost:
            log.error("prediction log closed before start(): %d queued records not written",
                      lost)
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive() and not self._give_up(thread, timeout):
                return False
        return True

    def _give_up(self, thread: threading.Thread, timeout: float) -> bool:
        """close() ran out of time: drop what waits for a database still down; True if stopped."""
        with self._lock:
            self._gave_up = True
            self._retry_wake.notify_all()
            failing = self._failing_since is not None
            lost = self._drop_queue() if failing else 0
        if failing:
            log.error("prediction log closed with the database still unreachable after %.1f s: "
                      "%d queued records not written", timeout, lost)
            # The writer drops the batch in hand once its attempt in progress (if any) fails.
            thread.join(_GIVE_UP_GRACE)
        if thread.is_alive():
            log.error("prediction log: %d records still unwritten after %.1f s; the writer keeps "
                      "going while the process lives", self.queue_depth, timeout)
            return False
        return True

    def _drop_queue(self) -> int:
        """With the lock held: count every queued record as dropped and clear the queue.

        The batch in the writer's hand is not touched: the writer accounts for it.
        """
        lost = len(self._queue)
        for seq, record in self._queue:
            if self._pending.get(record.prediction_id) == seq:
                del self._pending[record.prediction_id]
        self._queue.clear()
        self._dropped += lost
        if not self._in_hand:
            self._done = self._accepted
            self._progress.notify_all()
        self._has_space.notify_all()
        return lost

    # -- queueing ----------------------------------------------------------------------------
    def enqueue(self, records: Sequence[PredictionRecord]) -> None:
        """Queue records for writing; waits briefly when the queue is full, never raises."""
        deadline = time.monotonic() + self._enqueue_timeout
        taken = 0
        with self._lock:
            while taken < len(records) and not self._closed:
                space = self._max_queue - len(self._queue)
                if space <= 0:
                    # Backpressure: the writer frees space batch by batch.
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._has_space.wait(remaining)
                    continue
                for record in records[taken:taken + space]:
                    self._accepted += 1
                    self._queue.append((self._accepted, record))
                    self._pending[record.prediction_id] = self._accepted
                taken = min(len(records), taken + space)
                self._has_items.notify()
            refused = len(records) - taken
            self._dropped += refused
            closed = self._closed
        if refused:
            reason_text = "the log is closed" if closed else (
                f"the queue stayed full ({self._max_queue} records) for {self._enqueue_timeout} s")
            log.error("prediction log dropped %d records: %s", refused, reason_text)

    def flush(self, timeout: float) -> bool:
        """Wait until every record enqueued so far is written (or dropped); True if drained."""
        with self._lock:
            return self._wait_done(self._accepted, timeout)

    def still_queued(self, prediction_id: str, timeout: float) -> bool:
        """Wait up to `timeout` for a queued prediction to be written; True if it still waits.

        False when the prediction is not (or no longer) in the queue: its row, if any, is in
        the database.
        """
        with self._lock:
            seq = self._pending.get(prediction_id)
            return seq is not None and not self._wait_done(seq, timeout)

    def _wait_done(self, seq: int, timeout: float) -> bool:
        """With the lock held: wait until records up to `seq` are handled by the writer."""
        if self._done >= seq:
            return True
        if self._thread is None or not self._thread.is_alive():
            return False
        # Tell the writer not to wait for a fuller batch while someone is waiting on it.
        self._urgent += 1
        self._has_items.notify_all()
        try:
            return self._progress.wait_for(lambda: self._done >= seq, timeout)
        finally:
            self._urgent -= 1

    # -- writing (the thread) ----------------------------------------------------------------
    def _run(self) -> None:
        """The writer thread: take batches off the queue and write them until closed and empty."""
        while True:
            with self._lock:
                while not self._queue and not self._stopping:
                    self._has_items.wait()
                if not self._queue:
                    return
                if (len(self._queue) < self._batch_size and not self._stopping
                        and not self._urgent):
                    # A short wait for a fuller batch: fewer, larger transactions under load.
                    self._has_items.wait_for(
                        lambda: (len(self._queue) >= self._batch_size or self._stopping
                                 or self._urgent > 0),
                        self._flush_interval)
                    if not self._queue:  # close() gave up on the records meanwhile
                        continue
                size = min(self._batch_size, len(self._queue))
                batch = [self._queue.popleft() for _ in range(size)]
                self._in_hand = True
                self._has_space.notify_all()
            try:
                self._write_batch([record for _, record in batch])
            except Exception:  # the writer must survive anything, or every later record is lost
                log.exception("prediction log: unexpected error writing %d records", len(batch))
                with self._lock:
                    self._dropped += len(batch)
            with self._lock:
                self._in_hand = False
                # Records arrive in order: whatever is still queued comes after the batch.
                self._done = self._queue[0][0] - 1 if self._queue else self._accepted
                for seq, record in batch:
                    if self._pending.get(record.prediction_id) == seq:
                        del self._pending[record.prediction_id]
                self._progress.notify_all()

    def _write_batch(self, records: list[PredictionRecord]) -> None:
        """Convert records to rows (dropping unconvertible ones, with a log line) and insert."""
        rows = []
        for record in records:
            try:
                rows.append(_row(record))
            except Exception as exc:  # a malformed record must not take its batch with it
                log.error("prediction log dropped record %r: %s", record, exc)
                with self._lock:
                    self._dropped += 1
        if rows:
            self._insert(rows)

    def _insert(self, rows: list[dict[str, Any]]) -> bool:
        """Insert rows in one transaction, waiting out database outages; False if close gave up.

        Rows the database refuses for their data are written one by one, so only the offending
        rows are dropped. Any other failure (connection refused or lost, a missing table, a
        read-only server) is retried with capped exponential backoff for as long as the store
        is open: the rows wait, and the bounded queue holds the records that arrive meanwhile.
        """
        attempt = 0
        while True:
            try:
                with self._engine.begin() as connection:
                    connection.execute(prediction_logs.insert(), rows)
            except SQLAlchemyError as exc:
                with self._lock:
                    self._errors += 1
                if _refused_data(exc):
                    self._database_answers()
                    if len(rows) == 1:
                        with self._lock:
                            self._dropped += 1
                        log.error("prediction log dropped record %s, refused by the database: "
                                  "%s", rows[0]["prediction_id"], reason(exc))
                        return True
                    # Retrying cannot help: write row by row and lose only the offending rows.
                    for i, row in enumerate(rows):
                        if not self._insert([row]):
                            rest = len(rows) - i - 1
                            if rest:
                                with self._lock:
                                    self._dropped += rest
                                log.error("prediction log dropped %d more records of the same "
                                          "batch", rest)
                            return False
                    return True
                attempt += 1
                if not self._backoff(attempt, len(rows), exc):
                    with self._lock:
                        self._dropped += len(rows)
                        lost = self._drop_queue()
                    log.error("prediction log dropped %d records: closed with the database still "
                              "unreachable (%s: %s)", len(rows) + lost, exc.__class__.__name__,
                              reason(exc))
                    return False
            else:
                with self._lock:
                    self._written += len(rows)
                self._database_answers()
                return True

    def _backoff(self, attempt: int, rows: int, exc: SQLAlchemyError) -> bool:
        """Wait before retrying failed attempt number `attempt`; False if close() gave up."""
        delay = min(self._retry_max, self._retry_initial * 2.0 ** min(attempt - 1, 30))
        now = time.monotonic()
        with self._lock:
            if self._gave_up:
                return False
            first = self._failing_since is None
            report = first or now - self._last_outage_log >= _OUTAGE_LOG_INTERVAL
            if first:
                self._failing_since = now
            if report:
                self._last_outage_log = now
            queued = len(self._queue)
        if report:
            log.warning("prediction log cannot write (%s: %s); %d records in hand and %d queued "
                        "wait, retrying (attempt %d, next in %.2f s)", exc.__class__.__name__,
                        reason(exc), rows, queued, attempt, delay)
        with self._lock:
            return not self._retry_wake.wait_for(lambda: self._gave_up, delay)

    def _database_answers(self) -> None:
        """The database took a write (or judged its rows): end the outage, if there was one."""
        with self._lock:
            since, self._failing_since = self._failing_since, None
            queued = len(self._queue)
        if since is not None:
            log.warning("prediction log database is back after %.1f s; writing %d queued records",
                        time.monotonic() - since, queued)

    # -- counters ----------------------------------------------------------------------------
    @property
    def queue_depth(self) -> int:
        """Records accepted but not yet written or dropped (including the batch in flight)."""
        with self._lock:
            return self._accepted - self._done

    @property
    def written(self) -> int:
        """Records written to the database by this writer."""
        with self._lock:
            return self._written

    @property
    def dropped(self) -> int:
        """Records lost: refused by a full (or closed) queue, refused by the database for their
        data, or still unwritten when close() timed out with the database down."""
        with self._lock:
            return self._dropped

    @property
    def errors(self) -> int:
        """Failed write attempts (each retry during an outage counts)."""
        with self._lock:
            return self._errors
