"""The non-blocking prediction writer: a bounded in-memory queue drained by one thread in batches.

Request handlers only append to the queue; the thread writes it in batches (one transaction
per batch), so logging never adds a database round trip to a prediction. While the database
is unreachable the thread retries the batch in hand with capped exponential backoff and new
records wait in the bounded queue; when the queue is full they go to a local spill file
(`spill`), replayed into the database once it answers, and only when the spill is full too
are records dropped, each one counted.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from itertools import repeat
from operator import itemgetter
from typing import IO, Any

import orjson
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
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
from homeprice.predictionlog.health import LogHealth, LogState
from homeprice.predictionlog.records import PredictionRecord, RequestRecords
from homeprice.predictionlog.schema import prediction_logs, utc
from homeprice.predictionlog.spill import SealedFile, SpillDirectory, encode

log = logging.getLogger(__name__)

_JSON_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY
# The most of close()'s grace period kept back to spill what the drain did not write.
_GIVE_UP_GRACE = 1.0
# While the database stays down (or records spill or drop), one log line per this many seconds.
_OUTAGE_LOG_INTERVAL = 30.0
# No value of a row is this object: the conversion memo of _DriverInsert starts empty.
_UNSET = object()
# What _execute answers when the database refused the rows for their data.
_REFUSED = object()
# The columns of prediction_logs in table order, as RequestRecords rows are built; the
# positions of those that differ row by row within a request.
_COLUMNS = ("prediction_id", "request_id", "ts", "dataset", "variant", "model_version",
            "served", "prediction", "lower", "upper", "features", "client_id", "latency_ms",
            "parent_prediction_id", "mode")
_PER_ROW_COLUMNS = frozenset(_COLUMNS.index(name) for name in (
    "prediction_id", "prediction", "lower", "upper", "features", "parent_prediction_id"))


def _values(chunk: RequestRecords, i: int) -> list[Any]:
    """Row `i` of a request as the values of prediction_logs, in table order (_COLUMNS)."""
    parents = chunk.parent_prediction_ids
    return [
        str(chunk.prediction_ids[i]), str(chunk.request_id),
        # SQLite stores datetimes without an offset, so every value is written in UTC.
        utc(chunk.ts), str(chunk.dataset), str(chunk.variant), str(chunk.model_version),
        bool(chunk.served), float(chunk.prices[i]), float(chunk.lowers[i]),
        float(chunk.uppers[i]),
        # Sorted keys: identical features give identical text.
        orjson.dumps(chunk.features[i], default=str, option=_JSON_OPTIONS).decode(),
        None if chunk.client_id is None else str(chunk.client_id),
        None if chunk.latency_ms is None else float(chunk.latency_ms),
        None if parents is None else str(parents[i]),
        None if chunk.mode is None else str(chunk.mode)]


def _row(record: PredictionRecord) -> dict[str, Any]:
    """The prediction_logs row of a record."""
    return dict(zip(_COLUMNS, _values(RequestRecords.of(record), 0), strict=True))


def _rows(chunks: Sequence[RequestRecords]) -> tuple[list[dict[str, Any]], int]:
    """The prediction_logs rows of queued requests, and how many records could not be converted
    (each logged); for the rare paths that need rows one by one (spilling, a refused batch)."""
    rows, bad = [], 0
    for chunk in chunks:
        for i in range(len(chunk)):
            try:
                rows.append(dict(zip(_COLUMNS, _values(chunk, i), strict=True)))
            except Exception as exc:  # a malformed record must not take the rest along
                bad += 1
                log.error("prediction log dropped record %r: %s",
                          chunk.part(i, i + 1).records()[0], exc)
    return rows, bad


class _DriverInsert:
    """The plain insert of prediction_logs rows as the driver's own SQL and parameters.

    SQLAlchemy's executemany rebuilds every row's parameters through its compiled statement
    (a dict per row, a processor lookup per value): in a profile of batch /predict it cost
    more than pricing the batch did, on the thread that shares the serving process's GIL. The
    statement is compiled once for the dialect, each column's bind processor (SQLite's
    datetime text, say) looked up once, and rows go to the driver's executemany as tuples (or
    dicts, for drivers with named parameters); the values are the ones SQLAlchemy would bind.
    """

    def __init__(self, engine: Engine) -> None:
        dialect = engine.dialect
        compiled = prediction_logs.insert().compile(dialect=dialect)
        self.sql = compiled.string
        processors = {column.name: column.type.dialect_impl(dialect).bind_processor(dialect)
                      for column in prediction_logs.columns}
        # The bind names in the driver's order; drivers with named parameters take dicts.
        self._positional = compiled.positiontup is not None
        self._names = tuple(compiled.positiontup or processors)
        self._convert = tuple((i, processors[name]) for i, name in enumerate(self._names)
                              if processors[name] is not None)
        # The columnar path builds rows in the table's column order: which columns need a
        # processor there, and how to reorder rows for a driver that takes another order.
        if set(processors) != set(_COLUMNS):
            raise ValueError(f"prediction_logs has columns {sorted(processors)}, the writer "
                             f"knows {sorted(_COLUMNS)}")
        self._convert_columns = tuple((i, processors[name]) for i, name in enumerate(_COLUMNS)
                                      if processors[name] is not None)
        self._reorder = (None if self._names == _COLUMNS or not self._positional
                         else itemgetter(*(_COLUMNS.index(name) for name in self._names)))

    def parameters(self, rows: list[dict[str, Any]]) -> list[Any]:
        """The driver's parameters of `rows` (a missing column is NULL, as in an insert); a
        value that cannot be bound raises StatementError, as SQLAlchemy's own binding does."""
        names, convert, positional = self._names, self._convert, self._positional
        # The rows of one request share their timestamp object (and often more): a value is
        # converted once per run of identical objects, not once per row.
        last: list[Any] = [_UNSET] * len(names)
        done: list[Any] = [None] * len(names)
        out = []
        try:
            for row in rows:
                values = list(map(row.get, names))
                for i, process in convert:
                    value = values[i]
                    if value is None:
                        continue
                    if value is not last[i]:
                        last[i], done[i] = value, process(value)
                    values[i] = done[i]
                out.append(tuple(values) if positional else dict(zip(names, values, strict=True)))
        except (TypeError, ValueError, AttributeError) as exc:
            raise StatementError("a value of the row cannot be bound", self.sql, None,
                                 exc) from exc
        return out

    def of_requests(self, chunks: Sequence[RequestRecords]) -> list[Any]:
        """The driver's parameters of queued requests, the values `_row` would give.

        A request's shared values are converted once and repeated; its per-row columns are
        converted with one C-level map each, and zip makes the driver's tuples: no dict nor
        Python-level loop per row except for the features' JSON. A value that cannot be
        converted raises StatementError (the caller then takes the rows one by one).
        """
        out: list[Any] = []
        try:
            for chunk in chunks:
                out.extend(self._request_rows(chunk))
        except (TypeError, ValueError, AttributeError) as exc:
            raise StatementError("a value of the request cannot be bound", self.sql, None,
                                 exc) from exc
        return out

    def _request_rows(self, chunk: RequestRecords) -> Iterable[Any]:
        """The driver's rows of one request (see of_requests)."""
        size = len(chunk)
        if size == 1:
            return (self._single_row(chunk),)
        parents = chunk.parent_prediction_ids
        # In the table's column order (_COLUMNS); lists are per-row columns.
        values: list[Any] = [
            list(map(str, chunk.prediction_ids)), str(chunk.request_id), utc(chunk.ts),
            str(chunk.dataset), str(chunk.variant), str(chunk.model_version),
            bool(chunk.served), list(map(float, chunk.prices)), list(map(float, chunk.lowers)),
            list(map(float, chunk.uppers)),
            [orjson.dumps(f, default=str, option=_JSON_OPTIONS).decode() for f in chunk.features],
            None if chunk.client_id is None else str(chunk.client_id),
            None if chunk.latency_ms is None else float(chunk.latency_ms),
            [None] * size if parents is None else list(map(str, parents)),
            None if chunk.mode is None else str(chunk.mode)]
        for i, process in self._convert_columns:
            value = values[i]
            if i in _PER_ROW_COLUMNS:
                values[i] = [None if v is None else process(v) for v in value]
            elif value is not None:
                values[i] = process(value)
        (ids, request_id, ts, dataset, variant, version, served, prices, lowers, uppers,
         features, client_id, latency, parent_ids, mode) = values
        rows = zip(ids, repeat(request_id, size), repeat(ts, size), repeat(dataset, size),
                   repeat(variant, size), repeat(version, size), repeat(served, size),
                   prices, lowers, uppers, features, repeat(client_id, size),
                   repeat(latency, size), parent_ids, repeat(mode, size), strict=True)
        return self._as_driver_rows(rows)

    def _single_row(self, chunk: RequestRecords) -> Any:
        """The driver's row of a request of one home (most requests): scalars, no columns."""
        row = _values(chunk, 0)
        for i, process in self._convert_columns:
            if row[i] is not None:
                row[i] = process(row[i])
        (driver_row,) = self._as_driver_rows((tuple(row),))
        return driver_row

    def _as_driver_rows(self, rows: Iterable[tuple[Any, ...]]) -> Iterable[Any]:
        """Rows in table order as the driver takes them: dicts for named parameters, tuples in
        its own order otherwise."""
        if not self._positional:
            return (dict(zip(_COLUMNS, row, strict=True)) for row in rows)
        return rows if self._reorder is None else map(self._reorder, rows)


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

    `enqueue` never waits: when the queue is full, records go to the spill files (`spill`),
    and from then on every new record does too until the queue is empty and the writer starts
    replaying them; it takes newer queued records only after that replay, so the database
    receives records in the order they were accepted. Records are lost only when the
    spill is full or fails as well (or spilling is off), or when the database refuses a row for
    its data (a duplicate id, a value out of range): each is counted in `dropped` and logged.
    """

    def __init__(self, engine: Engine, *, batch_size: int, flush_interval: float,
                 max_queue: int, retry_initial: float, retry_max: float,
                 spill: SpillDirectory | None = None, fsync_interval: float = 1.0) -> None:
        self._engine = engine
        self._fast = _DriverInsert(engine)
        self._batch_size = batch_size
        self._flush_interval = flush_interval
        self._max_queue = max_queue
        self._retry_initial = retry_initial
        self._retry_max = retry_max
        self._spill = spill
        self._fsync_interval = fsync_interval

        # One lock guards the queue, the spill file, the sequence numbers and the counters; the
        # conditions share it so a waiter sees a consistent state when it wakes.
        self._lock = threading.Lock()
        self._has_items = threading.Condition(self._lock)
        self._progress = threading.Condition(self._lock)
        # Wakes the writer from a retry backoff when close() gives up.
        self._retry_wake = threading.Condition(self._lock)
        # Queued requests, each with the sequence number of its first record. Records get
        # increasing sequence numbers; the writer handles them in order, so "everything up to n
        # is written or dropped" is the single number _done.
        self._queue: deque[tuple[int, RequestRecords]] = deque()
        # Records (not requests) in the queue: max_queue and batch_size count records.
        self._queued = 0
        self._accepted = 0
        self._done = 0
        # The batch the writer holds (None: none); whoever takes it accounts for it.
        self._hand: list[RequestRecords] | None = None
        # prediction_id -> sequence number, for records not yet written (feedback may race them).
        self._pending: dict[str, int] = {}
        self._urgent = 0
        self._stopping = False
        self._closed = False
        # Set when close() ran out of time: a database failure from then on spills the records.
        self._gave_up = False
        # True from the first spilled record until the writer, its queue empty, starts a replay.
        self._spilling = False
        # The writer should look at the spill folder (records spilled, or leftovers at start).
        self._replay_wanted = spill is not None
        # No replay pass before this monotonic time (a pass that found nothing to claim waits).
        self._replay_not_before = 0.0
        # Monotonic time of the first failed write of the current outage (None: writes succeed).
        self._failing_since: float | None = None
        self._last_error: str | None = None
        # Why the database last refused rows for their data (for the drop's log line).
        self._last_reason = ""
        self._last_outage_log = 0.0
        self._last_spill_log = -_OUTAGE_LOG_INTERVAL
        self._last_drop_log = -_OUTAGE_LOG_INTERVAL
        self._drops_unlogged = 0
        self._thread: threading.Thread | None = None
        self._written = 0
        self._spilled = 0
        self._replayed = 0
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
        """Start the writer thread (the caller starts it once); it first replays leftover spill
        files of earlier processes."""
        self._thread = threading.Thread(target=self._run, name="homeprice-prediction-log",
                                        daemon=True)
        self._thread.start()

    def close(self, timeout: float) -> bool:
        """Write what is queued within `timeout` seconds, spill the rest, stop; True if stopped.

        The writer drains the queue (and replays this process's spill) for most of `timeout`;
        what is still unwritten then goes to the spill files for the next process to replay.
        Records that cannot be spilled either are counted in `dropped` and logged with their
        exact number. False when already closed, or when the writer is stuck in a database call.
        """
        with self._lock:
            if self._closed:
                return False
            self._closed = True
            self._stopping = True
            self._has_items.notify_all()
            thread = self._thread
            if thread is None:
                self._spill_queue("the log closed before it started")
        if thread is not None:
            # Keep a little of the grace period to spill what the drain did not write.
            reserve = min(_GIVE_UP_GRACE, timeout / 4)
            thread.join(max(0.0, timeout - reserve))
            if thread.is_alive():
                self._give_up(thread, timeout, reserve)
        with self._lock:
            detached = self._spill.detach() if self._spill is not None else None
            stopped = thread is None or not thread.is_alive()
        self._close_detached(detached)
        return stopped

    def _give_up(self, thread: threading.Thread, timeout: float, reserve: float) -> None:
        """close() ran out of time: spill the queue, and the batch in hand if the writer is
        stuck in a database call."""
        with self._lock:
            self._gave_up = True
            self._retry_wake.notify_all()
            self._has_items.notify_all()
            self._spill_queue(f"not written within the {timeout:.1f} s shutdown grace period")
        # The writer spills its batch in hand once its attempt in progress (if any) fails.
        thread.join(reserve)
        if thread.is_alive():
            with self._lock:
                hand, self._hand = self._hand, None
                rows = self._spill_hand(hand, "the writer is stuck in a database call at "
                                        "shutdown")
            # A replay in progress needs nothing more: its file stays for the next process.
            log.error("prediction log: the writer is still in a database call %.1f s after "
                      "shutdown began; %d records of its batch in hand were spilled", timeout,
                      rows)

    def _close_detached(self, detached: tuple[IO[bytes], bool] | None) -> None:
        """Outside the lock: fsync and close a spill file taken off the append path."""
        if detached is None or self._spill is None:
            return
        try:
            self._spill.close_detached(detached)
        except OSError as exc:
            log.error("prediction log: could not fsync a spill file in %s: %s",
                      self._spill.folder, exc)

    # -- queueing ----------------------------------------------------------------------------
    def enqueue(self, records: RequestRecords | Sequence[PredictionRecord]) -> None:
        """Queue records for writing; never waits and never raises.

        A full queue sends the records to the spill files instead (or, with spilling off or
        full, drops them with a count); see the class docstring for the order kept. The request
        path hands over one RequestRecords per request; a sequence of single records is
        queued as requests of one row each.
        """
        chunks = ([records] if isinstance(records, RequestRecords)
                  else [RequestRecords.of(record) for record in records])
        with self._lock:
            before = self._queued
            overflow = []
            for chunk in chunks:
                taken = 0
                if not self._spilling and not self._closed:
                    taken = min(len(chunk), self._max_queue - self._queued)
                    if taken > 0:
                        self._take(chunk if taken == len(chunk) else chunk.part(0, taken))
                # The queue is full from here on: later chunks of this call overflow whole.
                if taken < len(chunk):
                    overflow.append(chunk if taken == 0 else chunk.part(taken, len(chunk)))
            after = self._queued
            # Wake the writer only when it can act: on the first record of an empty queue (it
            # sleeps until records come) or when a batch is full (it waits up to
            # flush_interval for one). Waking it on every record made it take the GIL and the
            # lock back from the request path once per prediction, for nothing.
            if after > before and (before == 0 or before < self._batch_size <= after):
                self._has_items.notify()
            if overflow:
                rows, bad = _rows(overflow)
                self._dropped += bad
                why = "the log is closed" if self._closed else (
                    f"the queue is full ({self._max_queue} records)")
                self._spill_rows(rows, why)

    def _take(self, chunk: RequestRecords) -> None:
        """With the lock held: append a request's records to the queue."""
        first = self._accepted + 1
        self._accepted += len(chunk)
        self._queued += len(chunk)
        self._queue.append((first, chunk))
        self._pending.update(zip(chunk.prediction_ids, range(first, self._accepted + 1),
                                 strict=True))

    def _settle(self, batch: Sequence[tuple[int, RequestRecords]]) -> None:
        """With the lock held: the records of `batch` are no longer waiting to be written."""
        pending = self._pending
        for first, chunk in batch:
            for seq, prediction_id in enumerate(chunk.prediction_ids, first):
                if pending.get(prediction_id) == seq:
                    del pending[prediction_id]

    def _spill_queue(self, why: str) -> None:
        """With the lock held: move every queued record to the spill files.

        The batch in the writer's hand is not touched: the writer accounts for it.
        """
        self._settle(self._queue)
        rows, bad = _rows([chunk for _, chunk in self._queue])
        self._dropped += bad
        self._queue.clear()
        self._queued = 0
        if self._hand is None:
            self._done = self._accepted
        self._progress.notify_all()
        if rows:
            self._spill_rows(rows, why, at_once=True)

    def _spill_hand(self, hand: list[RequestRecords] | None, why: str) -> int:
        """With the lock held: spill the records of a batch taken out of the writer's hand (at
        once, logging every loss); the number of records it spilled or tried to."""
        if not hand:
            return 0
        rows, bad = _rows(hand)
        self._dropped += bad
        self._spill_rows(rows, why, at_once=True)
        return len(rows)

    def _spill_rows(self, rows: list[dict[str, Any]], why: str, *, at_once: bool = False
                    ) -> None:
        """With the lock held: append rows to the spill file; drop (and count) what does not fit.

        Log lines are rate-limited (one per `_OUTAGE_LOG_INTERVAL`) on the request path, so an
        outage does not flood the log; `at_once` (shutdown) logs every loss as it happens.
        """
        spilled = 0
        failure: str | None = None
        if self._spill is not None and rows:
            try:
                spilled = self._spill.append([encode(row) for row in rows])
            except (OSError, TypeError, ValueError) as exc:
                failure = f"{exc.__class__.__name__}: {exc}"
        if spilled:
            self._spilled += spilled
            self._spilling = True
            self._replay_wanted = True
            self._has_items.notify()
        lost = len(rows) - spilled
        self._dropped += lost
        self._drops_unlogged += lost
        now = time.monotonic()
        if spilled and (at_once or now - self._last_spill_log >= _OUTAGE_LOG_INTERVAL):
            self._last_spill_log = now
            assert self._spill is not None
            log.warning("prediction log spilled %d records to %s (%s); %d records (%d bytes of "
                        "%d) wait there for the database", spilled, self._spill.folder, why,
                        self._spill.records, self._spill.bytes, self._spill.max_bytes)
        if self._drops_unlogged and (at_once or now - self._last_drop_log >= _OUTAGE_LOG_INTERVAL):
            self._last_drop_log = now
            if self._spill is None:
                cause = "spilling is off"
            elif failure is not None:
                cause = f"the spill file failed ({failure})"
            else:
                cause = f"the spill is full ({self._spill.max_bytes} bytes)"
            log.error("prediction log dropped %d records (%d in all): %s and %s",
                      self._drops_unlogged, self._dropped, why, cause)
            self._drops_unlogged = 0

    def flush(self, timeout: float) -> bool:
        """Wait until every record enqueued so far is written, spilled records included (or
        dropped); True if drained."""
        with self._lock:
            return self._wait_settled(timeout)

    def still_queued(self, prediction_id: str, timeout: float) -> bool:
        """Wait up to `timeout` for a queued prediction to be written; True if it still waits.

        False when the prediction is not (or no longer) in the queue: its row, if any, is in
        the database (or in the spill files, see `spill_records`).
        """
        with self._lock:
            seq = self._pending.get(prediction_id)
            return seq is not None and not self._wait_done(seq, timeout)

    def _wait_done(self, seq: int, timeout: float) -> bool:
        """With the lock held: wait until records up to `seq` are handled by the writer."""
        return self._wait_for(lambda: self._done >= seq, timeout)

    def _wait_settled(self, timeout: float) -> bool:
        """With the lock held: wait until the queue and this process's spill are written."""
        accepted = self._accepted
        return self._wait_for(lambda: self._done >= accepted and not self._spill_backlog(),
                              timeout)

    def _wait_for(self, condition: Callable[[], bool], timeout: float) -> bool:
        if condition():
            return True
        if self._thread is None or not self._thread.is_alive():
            return False
        # Tell the writer not to wait for a fuller batch while someone is waiting on it.
        self._urgent += 1
        self._has_items.notify_all()
        try:
            return self._progress.wait_for(condition, timeout)
        finally:
            self._urgent -= 1

    def _spill_backlog(self) -> int:
        """With the lock held: records this process spilled that are not replayed yet."""
        return 0 if self._spill is None else self._spill.records

    # -- writing (the thread) ----------------------------------------------------------------
    def _run(self) -> None:
        """The writer thread: write batches off the queue, and replay the spill when the queue
        is empty, until closed."""
        while True:
            self._sync_spill()
            detached = None
            with self._lock:
                if not self._queue and not self._stopping and not self._replay_due():
                    # Wake now and then to fsync the spill file (and retry a deferred replay).
                    self._has_items.wait(self._fsync_interval)
                    continue
                if not self._queue:
                    if self._replay_due() and not self._gave_up:
                        self._replay_wanted = False
                        assert self._spill is not None
                        detached = self._spill.detach()
                        # Everything spilled so far is sealed and the queue is empty, so new
                        # records may use the queue again: the writer takes them only after
                        # this pass, which keeps the order. (Waiting for an empty spill instead
                        # would never end under steady traffic.)
                        self._spilling = False
                    else:
                        return
                    batch: list[tuple[int, RequestRecords]] = []
                else:
                    if (self._queued < self._batch_size and not self._stopping
                            and not self._urgent):
                        # A short wait for a fuller batch: fewer, larger transactions under load.
                        self._has_items.wait_for(
                            lambda: (self._queued >= self._batch_size or self._stopping
                                     or self._urgent > 0),
                            self._flush_interval)
                        if not self._queue:  # close() gave up on the records meanwhile
                            continue
                    batch = self._next_batch()
            if not batch:
                self._close_detached(detached)
                self._replay()
                continue
            try:
                self._write_batch([chunk for _, chunk in batch])
            except Exception:  # the writer must survive anything, or every later record is lost
                log.exception("prediction log: unexpected error writing %d records",
                              sum(len(chunk) for _, chunk in batch))
                with self._lock:
                    hand, self._hand = self._hand, None
                    self._spill_hand(hand, "an unexpected error")
            with self._lock:
                # Records arrive in order: whatever is still queued comes after the batch.
                self._done = self._queue[0][0] - 1 if self._queue else self._accepted
                self._settle(batch)
                self._progress.notify_all()

    def _next_batch(self) -> list[tuple[int, RequestRecords]]:
        """With the lock held: take up to batch_size records off the queue, in order; a
        request larger than what is left of the batch is split, its rest staying queued."""
        batch = []
        room = self._batch_size
        while room and self._queue:
            first, chunk = self._queue[0]
            if len(chunk) <= room:
                self._queue.popleft()
                batch.append((first, chunk))
                room -= len(chunk)
            else:
                batch.append((first, chunk.part(0, room)))
                self._queue[0] = (first + room, chunk.part(room, len(chunk)))
                room = 0
        self._queued -= self._batch_size - room
        return batch

    def _replay_due(self) -> bool:
        """With the lock held: whether the writer should make a replay pass now."""
        return self._replay_wanted and time.monotonic() >= self._replay_not_before

    def _sync_spill(self) -> None:
        """Outside the lock: fsync the spill file if its interval has passed."""
        if self._spill is None:
            return
        with self._lock:
            due = self._spill.sync_due(self._fsync_interval)
        if due is None:
            return
        try:
            self._spill.fsync(*due)
        except OSError as exc:
            log.error("prediction log: could not fsync a spill file in %s: %s",
                      self._spill.folder, exc)

    def _write_batch(self, chunks: list[RequestRecords]) -> None:
        """Insert the records of queued requests; spill them if close() gave up on the
        database."""
        with self._lock:
            self._hand = chunks
        written = self._insert_requests(chunks)
        with self._lock:
            hand, self._hand = self._hand, None
            if not written:
                # Rows of the batch already written are spilled again: replay skips them.
                self._spill_hand(hand, "the database is still unreachable at shutdown")

    def _insert_requests(self, chunks: list[RequestRecords]) -> bool:
        """Insert the records of queued requests in one transaction, straight from their
        columns; False if close() gave up. Records that cannot be converted, and a batch the
        database refuses for its data, go row by row (`_insert`), losing only offending rows."""
        try:
            parameters = self._fast.of_requests(chunks)
        except StatementError:
            return self._insert_rows_of(chunks)
        outcome = self._execute(
            lambda connection: connection.exec_driver_sql(self._fast.sql, parameters),
            len(parameters), count_written=True)
        if outcome is _REFUSED:
            # Retrying cannot help: write row by row and lose only the offending rows.
            return self._insert_rows_of(chunks, one_by_one=True)
        return bool(outcome)

    def _insert_rows_of(self, chunks: list[RequestRecords], *, one_by_one: bool = False
                        ) -> bool:
        """Insert the records of queued requests as rows (in one transaction, or one by one),
        dropping (and counting) those that cannot be converted."""
        rows, bad = _rows(chunks)
        if bad:
            with self._lock:
                self._dropped += bad
        if one_by_one:
            return all(self._insert([row]) for row in rows)
        return not rows or self._insert(rows)

    def _replay(self) -> None:
        """Write the sealed spill files (this process's and leftovers) in order, deleting each
        when done; stop where close() gives up, leaving the rest for the next process."""
        assert self._spill is not None
        replayed_any = False
        for path in self._spill.sealed_files():
            sealed = self._spill.claim(path)
            if sealed is None:
                continue  # another process appends to it or replays it
            if not self._replay_file(sealed):
                sealed.release()
                return
            sealed.remove()
            replayed_any = True
            with self._lock:
                self._spill.forget(path)
                self._progress.notify_all()
        with self._lock:
            self._spill.forget_missing()
            if self._spill.records and not self._replay_wanted:
                # Sealed files of ours that a sibling process is replaying: look again later.
                self._replay_wanted = True
                if not replayed_any:
                    self._replay_not_before = time.monotonic() + self._fsync_interval
            self._progress.notify_all()

    def _replay_file(self, sealed: SealedFile) -> bool:
        """Insert a sealed file's rows, skipping ids already written; False if close() gave up."""
        batch: list[dict[str, Any]] = []
        last = sealed.done - 1

        def write() -> bool:
            if self._gave_up:
                return False  # shutting down: the next process replays the rest
            if batch and not self._insert(batch, idempotent=True):
                return False
            with self._lock:
                self._replayed += len(batch)
            sealed.done = last + 1
            batch.clear()
            return True

        for number, row in sealed.rows():
            last = number
            if row is None:
                if number not in sealed.bad:
                    sealed.bad.add(number)
                    with self._lock:
                        self._dropped += 1
                    log.error("prediction log dropped line %d of %s: not a readable record",
                              number + 1, sealed.path)
                continue
            batch.append(row)
            if len(batch) >= self._batch_size and not write():
                return False
        return write()

    def _insert(self, rows: list[dict[str, Any]], *, idempotent: bool = False) -> bool:
        """Insert rows in one transaction, waiting out database outages; False if close gave up.

        Rows the database refuses for their data are written one by one, so only the offending
        rows are dropped. `idempotent` (replay): rows whose prediction_id is already in the
        table are skipped, so a replay interrupted and started again writes no duplicates.
        """
        if idempotent:
            statement = self._skip_written_statement()
            outcome = self._execute(lambda connection: connection.execute(statement, rows),
                                    len(rows), count_written=False)
        else:
            # Converted inside the attempt: a value that cannot be bound is a refused row.
            outcome = self._execute(
                lambda connection: connection.exec_driver_sql(self._fast.sql,
                                                              self._fast.parameters(rows)),
                len(rows), count_written=True)
        if outcome is not _REFUSED:
            return bool(outcome)
        if len(rows) == 1:
            with self._lock:
                self._dropped += 1
            log.error("prediction log dropped record %s, refused by the database: %s",
                      rows[0]["prediction_id"], self._last_reason)
            return True
        # Retrying cannot help: write row by row and lose only the offending rows.
        return all(self._insert([row], idempotent=idempotent) for row in rows)

    def _execute(self, run: Callable[[Connection], Any], rows: int, *, count_written: bool
                 ) -> bool | object:
        """Run one insert of `rows` rows in a transaction, waiting out database outages.

        True once written, False if close() gave up, `_REFUSED` if the database refused the
        rows for their data. Any other failure (connection refused or lost, a missing table, a
        read-only server, a full disk) is retried with capped exponential backoff for as long
        as the store is open.
        """
        attempt = 0
        while True:
            try:
                with self._engine.begin() as connection:
                    run(connection)
            except SQLAlchemyError as exc:
                with self._lock:
                    self._errors += 1
                    self._last_error = exc.__class__.__name__
                if _refused_data(exc):
                    self._last_reason = reason(exc)
                    self._database_answers()
                    return _REFUSED
                attempt += 1
                if not self._backoff(attempt, rows, exc):
                    return False
            else:
                if count_written:
                    with self._lock:
                        self._written += rows
                self._database_answers()
                return True

    def _skip_written_statement(self) -> Any:
        """An insert that skips rows whose prediction_id is already written (replay)."""
        if self._engine.dialect.name == "postgresql":
            return postgresql.insert(prediction_logs).on_conflict_do_nothing(
                index_elements=["prediction_id"])
        return sqlite.insert(prediction_logs).on_conflict_do_nothing(
            index_elements=["prediction_id"])

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
            queued = self._queued
            spilled = self._spill_backlog()
        self._sync_spill()
        if report:
            log.warning("prediction log cannot write (%s: %s); %d records in hand, %d queued and "
                        "%d spilled wait, retrying (attempt %d, next in %.2f s)",
                        exc.__class__.__name__, reason(exc), rows, queued, spilled, attempt,
                        delay)
        with self._lock:
            return not self._retry_wake.wait_for(lambda: self._gave_up, delay)

    def _database_answers(self) -> None:
        """The database took a write (or judged its rows): end the outage, if there was one."""
        with self._lock:
            since, self._failing_since = self._failing_since, None
            queued = self._queued
            spilled = self._spill_backlog()
        if since is not None:
            log.warning("prediction log database is back after %.1f s; writing %d queued and "
                        "%d spilled records", time.monotonic() - since, queued, spilled)

    # -- counters ----------------------------------------------------------------------------
    @property
    def queue_depth(self) -> int:
        """Records accepted but not yet written or dropped (including the batch in flight)."""
        with self._lock:
            return self._accepted - self._done

    @property
    def written(self) -> int:
        """Records written to the database from the queue by this writer."""
        with self._lock:
            return self._written

    @property
    def spilled(self) -> int:
        """Records this writer appended to a spill file."""
        with self._lock:
            return self._spilled

    @property
    def replayed(self) -> int:
        """Spilled records (of this process or earlier ones) this writer sent to the database."""
        with self._lock:
            return self._replayed

    @property
    def spill_records(self) -> int:
        """Records this process spilled that wait for replay."""
        with self._lock:
            return self._spill_backlog()

    @property
    def spill_bytes(self) -> int:
        """Bytes of this process's spill files that wait for replay."""
        with self._lock:
            return 0 if self._spill is None else self._spill.bytes

    @property
    def dropped(self) -> int:
        """Records lost: the queue and the spill were both full (or the spill failed or is
        off), the database refused them for their data, or a spill line was unreadable."""
        with self._lock:
            return self._dropped

    @property
    def errors(self) -> int:
        """Failed write attempts (each retry during an outage counts)."""
        with self._lock:
            return self._errors

    def health(self) -> LogHealth:
        """State, last error class and backlog sizes, from the writes actually attempted."""
        with self._lock:
            if self._failing_since is not None:
                state: LogState = "down"
            elif self._spilling or self._spill_backlog():
                state = "degraded"
            else:
                state = "ok"
            failing = (None if self._failing_since is None
                       else round(time.monotonic() - self._failing_since, 3))
            return LogHealth(state=state, last_error=self._last_error,
                             failing_for_seconds=failing,
                             queue_depth=self._accepted - self._done,
                             spill_records=self._spill_backlog(),
                             spill_bytes=0 if self._spill is None else self._spill.bytes,
                             written=self._written, spilled=self._spilled,
                             replayed=self._replayed, dropped=self._dropped)
