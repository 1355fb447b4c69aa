"""Prediction log: served and shadow predictions and their feedback, in SQLite or PostgreSQL.

Request handlers call `enqueue`, which only appends to an in-memory queue; one background thread
writes the queue in batches (one transaction per batch), so logging never adds a database round
trip to a prediction. The schema is owned by the Alembic migrations in `migrations/`, run by
`start()`; the tables below mirror them for queries and must be kept in step with them.
"""

from __future__ import annotations

import atexit
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DataError,
    DBAPIError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
    StatementError,
)

from homeprice.errors import HomepriceError, UserInputError

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# Named constraints let later migrations alter them (SQLite batch mode needs the names).
metadata = sa.MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})

prediction_logs = sa.Table(
    "prediction_logs",
    metadata,
    sa.Column("prediction_id", sa.String(64), primary_key=True),
    # Unbounded strings: a long client-supplied request or client id must not fail a whole batch.
    sa.Column("request_id", sa.String(), nullable=False),
    sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
    sa.Column("dataset", sa.String(), nullable=False),
    sa.Column("variant", sa.String(), nullable=False),
    sa.Column("model_version", sa.String(), nullable=False),
    sa.Column("served", sa.Boolean(), nullable=False),
    sa.Column("prediction", sa.Float(), nullable=False),
    sa.Column("lower", sa.Float(), nullable=False),
    sa.Column("upper", sa.Float(), nullable=False),
    sa.Column("features", sa.Text(), nullable=False),
    sa.Column("client_id", sa.String(), nullable=True),
    sa.Column("latency_ms", sa.Float(), nullable=True),
    # A shadow prediction's served prediction (whose feedback labels it); NULL for served rows.
    sa.Column("parent_prediction_id", sa.String(64), nullable=True),
    sa.Index("ix_prediction_logs_dataset_ts", "dataset", "ts"),
    sa.Index("ix_prediction_logs_request_id", "request_id"),
    sa.Index("ix_prediction_logs_parent_prediction_id", "parent_prediction_id"),
)

# No foreign key to prediction_logs: existence is checked in add_feedback, and pruning old
# predictions must not depend on (or cascade into) the labels kept for evaluation.
feedback = sa.Table(
    "feedback",
    metadata,
    sa.Column("prediction_id", sa.String(64), primary_key=True),
    sa.Column("actual_price", sa.Float(), nullable=False),
    sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
)

# The log's own Alembic version table: MLflow keeps its `alembic_version` in a PostgreSQL
# database the log may share with it.
VERSION_TABLE = "homeprice_log_alembic_version"

LABELLED_COLUMNS = ["prediction_id", "request_id", "ts", "dataset", "variant",
                    "model_version", "served", "prediction", "lower", "upper", "actual_price",
                    "feedback_ts", "client_id", "parent_prediction_id"]

_JSON_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY
# How long add_feedback waits for its prediction's row when it is still queued.
_FEEDBACK_WAIT = 10.0
# How long close() waits for the writer to drop its batch in hand after giving up on an outage.
_GIVE_UP_GRACE = 2.0
# While the database stays down, one warning per this many seconds (and one when it is back).
_OUTAGE_LOG_INTERVAL = 30.0
# Several stores in one process (tests, CLI + server) must not run migrations at the same time:
# SQLite DDL is not transactional, so two concurrent `upgrade head` would both create tables.
_MIGRATION_LOCK = threading.Lock()


@dataclass(frozen=True, slots=True)
class PredictionRecord:
    """One logged prediction (served, or shadow: computed and logged but not returned)."""

    prediction_id: str
    request_id: str
    ts: datetime
    dataset: str
    variant: str
    model_version: str
    served: bool
    prediction: float
    lower: float
    upper: float
    features: dict[str, Any]
    client_id: str | None = None
    latency_ms: float | None = None
    # Shadow predictions: the prediction_id of the served prediction they shadow.
    parent_prediction_id: str | None = None


class UnknownPrediction(HomepriceError):
    """Feedback names a prediction_id that was never logged."""


class DuplicateFeedback(HomepriceError):
    """Feedback for this prediction_id was already recorded."""


def store_url(url: str) -> URL:
    """The parsed log store URL; plain postgresql:// is pointed at the psycopg 3 driver."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise UserInputError(f"prediction log URL is not a database URL: {exc}") from exc
    if parsed.drivername in ("postgresql", "postgres"):
        # SQLAlchemy's bare "postgresql" means psycopg2, which homeprice does not install.
        parsed = parsed.set(drivername="postgresql+psycopg")
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise UserInputError(f"prediction log URL must be sqlite:/// or postgresql://, "
                             f"got {parsed.drivername}://")
    if backend == "sqlite" and parsed.database in (None, "", ":memory:"):
        # Each pooled connection would see its own empty in-memory database.
        raise UserInputError("prediction log URL must name a SQLite file, not an in-memory "
                             "database (the writer thread uses its own connection)")
    return parsed


def alembic_config(url: str | URL) -> Config:
    """An Alembic configuration for the prediction log migrations on `url` (no alembic.ini)."""
    parsed = url if isinstance(url, URL) else store_url(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation: a literal % (URL-encoded passwords) must be doubled.
    rendered = parsed.render_as_string(hide_password=False)
    config.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    return config


def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    """Put each new SQLite connection in WAL mode with synchronous=NORMAL."""
    # WAL lets readers (feedback checks, monitoring queries) run while the writer commits;
    # NORMAL stays safe across application crashes and only risks the last commits on power loss.
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _create_engine(url: URL) -> Engine:
    """An engine for the store: SQLite with its folder created, or PostgreSQL with pre-ping."""
    if url.get_backend_name() == "sqlite":
        Path(url.database or "").parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    connect_args: dict[str, Any] = {}
    if "connect_timeout" not in url.query:
        # A readiness probe must fail, not hang, when the server is unreachable.
        connect_args["connect_timeout"] = 10
    # pre-ping: a server restart must not fail the first batch written after it.
    return sa.create_engine(url, pool_pre_ping=True, connect_args=connect_args)


def _utc(moment: datetime) -> datetime:
    """`moment` in UTC; a naive datetime is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def _row(record: PredictionRecord) -> dict[str, Any]:
    """The prediction_logs row of a record."""
    return {
        "prediction_id": str(record.prediction_id),
        "request_id": str(record.request_id),
        # SQLite stores datetimes without an offset, so every value is written in UTC.
        "ts": _utc(record.ts),
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


def _reason(exc: SQLAlchemyError) -> object:
    """The driver's message of a database error (without the SQL and parameters)."""
    return getattr(exc, "orig", None) or exc


def _checked_price(actual_price: Any) -> float:
    """`actual_price` as a float, or UserInputError naming the field."""
    problem = "must be a finite, non-negative number"
    if isinstance(actual_price, bool):
        raise UserInputError(f"actual_price {problem}, got {actual_price!r}")
    try:
        value = float(actual_price)
    except (TypeError, ValueError) as exc:
        raise UserInputError(f"actual_price {problem}, got {actual_price!r}") from exc
    if not math.isfinite(value) or value < 0:
        raise UserInputError(f"actual_price {problem}, got {actual_price!r}")
    return value


class PredictionLog:
    """The prediction log store: batched background writes, feedback, and monitoring reads.

    While the database is unreachable the writer retries the batch in hand with capped
    exponential backoff and new records wait in the bounded queue, so requests never notice.
    Records are lost only when the queue overflows (it stayed full for `enqueue_timeout`) or
    when `close` runs out of time with the database still down; both are counted in
    `rows_dropped` and logged as errors. A row the database refuses for its data (a duplicate
    id, a value out of range) is dropped alone, without the rest of its batch.
    """

    def __init__(self, url: str, *, batch_size: int = 500, flush_interval: float = 0.05,
                 max_queue: int = 100_000, enqueue_timeout: float = 1.0,
                 retry_initial: float = 0.1, retry_max: float = 5.0) -> None:
        if batch_size < 1 or max_queue < 1:
            raise UserInputError("batch_size and max_queue must be at least 1")
        if not 0 < retry_initial <= retry_max:
            raise UserInputError(f"need 0 < retry_initial <= retry_max, got {retry_initial} "
                                 f"and {retry_max}")
        self._url = store_url(url)
        self.url = self._url.render_as_string(hide_password=True)
        self._engine = _create_engine(self._url)
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
        self._start_lock = threading.Lock()
        self._written = 0
        self._dropped = 0
        self._errors = 0

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Bring the schema to the latest migration and start the background writer."""
        with self._start_lock:
            if self._closed:
                raise HomepriceError("the prediction log is closed; create a new PredictionLog")
            if self._thread is not None:
                return
            self._migrate()
            self._thread = threading.Thread(target=self._run, name="homeprice-prediction-log",
                                            daemon=True)
            self._thread.start()
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
            self._migrate()

    def _migrate(self) -> None:
        """Run Alembic `upgrade head` on the store's own engine (so SQLite pragmas apply)."""
        config = alembic_config(self._url)
        alembic_log = logging.getLogger("alembic")
        try:
            with _MIGRATION_LOCK:
                # `upgrade head` logs a few INFO lines on every start; only warnings are news.
                level = alembic_log.level
                alembic_log.setLevel(logging.WARNING)
                try:
                    with self._engine.begin() as connection:
                        config.attributes["connection"] = connection
                        command.upgrade(config, "head")
                finally:
                    alembic_log.setLevel(level)
        except SQLAlchemyError as exc:
            raise HomepriceError(f"cannot prepare the prediction log at {self.url}: "
                                 f"{exc.__class__.__name__}: {_reason(exc)}") from exc

    def close(self, timeout: float = 30.0) -> None:
        """Write everything queued, stop the writer and release the database connections.

        While the database is down the writer keeps retrying for up to `timeout` seconds; the
        records still unwritten then are counted in `rows_dropped` and logged as an error.
        """
        with self._lock:
            if self._closed:
                return
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
                return
        atexit.unregister(self.close)
        self._engine.dispose()

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

    # -- writing -----------------------------------------------------------------------------
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
            reason = "the log is closed" if closed else (
                f"the queue stayed full ({self._max_queue} records) for {self._enqueue_timeout} s")
            log.error("prediction log dropped %d records: %s", refused, reason)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every record enqueued so far is written (or dropped); True if drained."""
        with self._lock:
            return self._wait_done(self._accepted, timeout)

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
                                  "%s", rows[0]["prediction_id"], _reason(exc))
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
                              _reason(exc))
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
                        _reason(exc), rows, queued, attempt, delay)
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

    # -- feedback ----------------------------------------------------------------------------
    def add_feedback(self, prediction_id: str, actual_price: float,
                     ts: datetime | None = None) -> None:
        """Record the actual price for a logged prediction (received at `ts`, default now)."""
        price = _checked_price(actual_price)
        received = datetime.now(timezone.utc) if ts is None else _utc(ts)
        with self._lock:
            seq = self._pending.get(prediction_id)
            # Feedback can beat its prediction's row to the database: wait for that row first.
            if seq is not None and self._wait_done(seq, _FEEDBACK_WAIT):
                seq = None
        with self._engine.begin() as connection:
            # A prediction still queued (the writer is slow) is known even without its row.
            if seq is None:
                known = connection.execute(
                    sa.select(prediction_logs.c.prediction_id)
                    .where(prediction_logs.c.prediction_id == prediction_id)).first()
                if known is None:
                    raise UnknownPrediction(f"unknown prediction_id {prediction_id!r}")
            try:
                connection.execute(feedback.insert().values(
                    prediction_id=prediction_id, actual_price=price, ts=received))
            except IntegrityError as exc:
                raise DuplicateFeedback(
                    f"feedback for prediction_id {prediction_id!r} was already recorded") from exc

    # -- reading -----------------------------------------------------------------------------
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
        query = sa.select(sa.func.count()).select_from(prediction_logs)
        if dataset is not None:
            query = query.where(prediction_logs.c.dataset == dataset)
        with self._engine.connect() as connection:
            return int(connection.execute(query).scalar_one())

    def labelled(self, dataset: str, since: datetime | None = None) -> pd.DataFrame:
        """Predictions of `dataset` with an actual price (made since `since`), oldest first.

        A shadow prediction has no feedback of its own (the client never saw its id); it takes
        the actual price given for its parent: the served prediction it shadowed.
        """
        p = prediction_logs
        own = feedback.alias("own_feedback")
        label_columns = (feedback.c.actual_price, feedback.c.ts.label("feedback_ts"))
        columns = [p.c[name] for name in LABELLED_COLUMNS[:10]]
        tail = (p.c.client_id, p.c.parent_prediction_id)
        direct = (sa.select(*columns, *label_columns, *tail)
                  .select_from(p.join(feedback, feedback.c.prediction_id == p.c.prediction_id))
                  .where(p.c.dataset == dataset))
        via_parent = (
            sa.select(*columns, *label_columns, *tail)
            .select_from(p.join(feedback,
                                feedback.c.prediction_id == p.c.parent_prediction_id))
            .where(p.c.dataset == dataset, p.c.served == sa.false(),
                   ~sa.exists().where(own.c.prediction_id == p.c.prediction_id)))
        if since is not None:
            direct = direct.where(p.c.ts >= _utc(since))
            via_parent = via_parent.where(p.c.ts >= _utc(since))
        union = sa.union_all(direct, via_parent).subquery()
        query = sa.select(union).order_by(union.c.ts, union.c.prediction_id)
        with self._engine.connect() as connection:
            rows = connection.execute(query).all()
        frame = pd.DataFrame.from_records([tuple(row) for row in rows], columns=LABELLED_COLUMNS)
        # SQLite hands back naive UTC datetimes, PostgreSQL aware ones: give both as UTC.
        for column in ("ts", "feedback_ts"):
            frame[column] = pd.to_datetime(frame[column], utc=True)
        frame["served"] = frame["served"].astype(bool)
        for column in ("prediction", "lower", "upper", "actual_price"):
            frame[column] = frame[column].astype(float)
        return frame

    def recent_features(self, dataset: str, limit: int = 5000,
                        variant: str | None = None, since: datetime | None = None
                        ) -> pd.DataFrame:
        """The features of the latest `limit` requests (since `since`), one column per feature,
        oldest first.

        Without `variant`, only served predictions count, so a request with a shadow prediction
        is not counted twice.
        """
        if limit < 1:
            raise UserInputError(f"limit must be at least 1, got {limit}")
        query = sa.select(prediction_logs.c.features).where(prediction_logs.c.dataset == dataset)
        if since is not None:
            query = query.where(prediction_logs.c.ts >= _utc(since))
        if variant is None:
            query = query.where(prediction_logs.c.served == sa.true())
        else:
            query = query.where(prediction_logs.c.variant == variant)
        query = query.order_by(prediction_logs.c.ts.desc(),
                               prediction_logs.c.prediction_id.desc()).limit(limit)
        with self._engine.connect() as connection:
            texts = connection.execute(query).scalars().all()
        return pd.DataFrame.from_records([orjson.loads(text) for text in reversed(texts)])

    def requests_since(self, dataset: str, since: datetime) -> pd.DataFrame:
        """One row per served prediction of `dataset` since `since`: ts (UTC), request_id,
        variant and latency_ms (the request's latency shared out over its items)."""
        p = prediction_logs
        query = (sa.select(p.c.ts, p.c.request_id, p.c.variant, p.c.latency_ms)
                 .where(p.c.dataset == dataset, p.c.served == sa.true(), p.c.ts >= _utc(since))
                 .order_by(p.c.ts))
        with self._engine.connect() as connection:
            rows = connection.execute(query).all()
        frame = pd.DataFrame.from_records([tuple(row) for row in rows],
                                          columns=["ts", "request_id", "variant", "latency_ms"])
        frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
        frame["latency_ms"] = frame["latency_ms"].astype(float)
        return frame

    # -- counters ----------------------------------------------------------------------------
    @property
    def queue_depth(self) -> int:
        """Records accepted but not yet written or dropped (including the batch in flight)."""
        with self._lock:
            return self._accepted - self._done

    @property
    def rows_written(self) -> int:
        """Records written to the database by this instance."""
        with self._lock:
            return self._written

    @property
    def rows_dropped(self) -> int:
        """Records lost: refused by a full (or closed) queue, refused by the database for their
        data, or still unwritten when close() timed out with the database down."""
        with self._lock:
            return self._dropped

    @property
    def write_errors(self) -> int:
        """Failed write attempts (each retry during an outage counts)."""
        with self._lock:
            return self._errors
