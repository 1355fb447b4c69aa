"""Exact values of the prediction log's writer: health() in each state, the backoff sequence,
spill and replay counts and order, the give-up accounting and the outage log lines.

The other writer tests check behaviour end to end (zero loss, bounded shutdown); these pin the
numbers the writer reports, so a changed counter, delay or log line fails a test (they are the
tests `make mutation` relies on for writer.py). A SQLite engine that fails or hangs on demand and
a fake clock stand in for a real outage and real waiting, which keeps each test well under a
second.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    ProgrammingError,
    SQLAlchemyError,
    StatementError,
)

from homeprice.predictionlog.health import LogHealth
from homeprice.predictionlog.records import PredictionRecord, RequestRecords
from homeprice.predictionlog.schema import metadata, prediction_logs
from homeprice.predictionlog.spill import SPILL_GLOB, SpillDirectory, encode
from homeprice.predictionlog.writer import BatchWriter, _refused_data, _row
from tests.support.predictionlog import record, wait_until

LOGGER = "homeprice.predictionlog.writer"
DATASET = "values"
OUTAGE = OperationalError("INSERT INTO prediction_logs", {}, Exception("connection refused"))


class Clock:
    """Stands in for the writer module's `time`: monotonic() returns `now`, set by the test."""

    def __init__(self, now: float) -> None:
        self.now = now

    def monotonic(self) -> float:
        return self.now


class NoWait:
    """Stands in for the writer's retry condition: records each backoff delay, waits for none.

    `on_wait` runs at each wait (to end an outage, or give up, after a number of retries).
    """

    def __init__(self, on_wait: Callable[[int], None] | None = None) -> None:
        self.waits: list[float] = []
        self.on_wait = on_wait

    def wait_for(self, predicate: Callable[[], bool], timeout: float) -> bool:
        self.waits.append(timeout)
        if self.on_wait is not None:
            self.on_wait(len(self.waits))
        return predicate()

    def notify_all(self) -> None:
        pass


class FlakyEngine:
    """A real SQLite database whose begin() fails like an outage while `down` is set, and
    blocks (a hung database call) while `hang` is set and not released."""

    def __init__(self, path: Path) -> None:
        self.real = sa.create_engine(f"sqlite:///{path}")
        metadata.create_all(self.real)
        self.dialect = self.real.dialect
        self.down = False
        self.hang: threading.Event | None = None
        self.entered = threading.Event()
        self.batches: list[int] = []
        self._rows: list[Any] = []

    def begin(self) -> Any:
        self.entered.set()
        if self.hang is not None:
            self.hang.wait()
        if self.down:
            raise OUTAGE
        return self.real.begin()

    def ids(self) -> list[str]:
        """The prediction ids in the table, in insertion order."""
        query = sa.select(prediction_logs.c.prediction_id).order_by(sa.text("rowid"))
        with self.real.connect() as connection:
            return [row[0] for row in connection.execute(query)]


def make_writer(
    engine: FlakyEngine,
    *,
    spill: SpillDirectory | None = None,
    batch_size: int = 10,
    max_queue: int = 100,
    retry_initial: float = 0.1,
    retry_max: float = 1.0,
) -> BatchWriter:
    return BatchWriter(
        engine,  # type: ignore[arg-type]
        batch_size=batch_size,
        flush_interval=0.01,
        max_queue=max_queue,
        retry_initial=retry_initial,
        retry_max=retry_max,
        spill=spill,
    )


def line_size() -> int:
    """Bytes one spilled line of `record(DATASET)` takes (every such record is as long).

    Computed per test, not at import: `make mutation` swaps `_row` between runs.
    """
    return len(encode(_row(record(DATASET))))


def messages(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno == level]


def spilled_ids(folder: Path) -> list[str]:
    """The prediction ids in the spill files of `folder`, file by file, line by line."""
    ids = []
    for path in sorted(folder.glob(SPILL_GLOB)):
        for line in path.read_bytes().splitlines():
            ids.append(line.split(b'"prediction_id":"')[1].split(b'"')[0].decode())
    return ids


def health(**fields: Any) -> LogHealth:
    """A LogHealth with every count zero and no error, but for `fields`."""
    values: dict[str, Any] = dict(
        state="ok",
        last_error=None,
        failing_for_seconds=None,
        queue_depth=0,
        spill_records=0,
        spill_bytes=0,
        written=0,
        spilled=0,
        replayed=0,
        dropped=0,
    )
    return LogHealth(**{**values, **fields})


# -- rows -----------------------------------------------------------------------------------
def test_a_record_becomes_its_row_field_for_field() -> None:
    # Guards _row: every column from its own field, in UTC, features as sorted-key JSON.
    parent = record(DATASET)
    shadow = PredictionRecord(
        prediction_id="p-1",
        request_id="r-1",
        ts=datetime(2025, 3, 1, 14, 30, tzinfo=timezone(timedelta(hours=2))),
        dataset=DATASET,
        variant="challenger",
        model_version="7",
        served=False,
        prediction=250_000,
        lower=200_000,
        upper=300_000,
        features={"rooms": 4, "ocean": "NEAR BAY", 3: 1.5, "fee": Decimal("12.5")},
        client_id="c-9",
        latency_ms=2,
        parent_prediction_id=parent.prediction_id,
        mode="shadow",
    )
    row = _row(shadow)
    assert row == {
        "prediction_id": "p-1",
        "request_id": "r-1",
        "ts": datetime(2025, 3, 1, 12, 30, tzinfo=UTC),
        "dataset": DATASET,
        "variant": "challenger",
        "model_version": "7",
        "served": False,
        "prediction": 250_000.0,
        "lower": 200_000.0,
        "upper": 300_000.0,
        # Non-integer keys as text, values JSON cannot hold as their str().
        "features": '{"3":1.5,"fee":"12.5","ocean":"NEAR BAY","rooms":4}',
        "client_id": "c-9",
        "latency_ms": 2.0,
        "parent_prediction_id": parent.prediction_id,
        "mode": "shadow",
    }
    assert [type(row[k]) for k in ("prediction", "lower", "upper", "latency_ms")] == [float] * 4
    assert row["ts"].tzinfo == UTC
    bare = _row(dataclasses.replace(record(DATASET), latency_ms=None))
    keys = ("client_id", "latency_ms", "parent_prediction_id", "mode")
    assert [bare[k] for k in keys] == [None] * 4


# -- classifying failures -------------------------------------------------------------------
def _dbapi(kind: type[DBAPIError], invalidated: bool = False) -> DBAPIError:
    return kind("INSERT", {}, Exception("boom"), connection_invalidated=invalidated)


@pytest.mark.parametrize(
    ("exc", "refused"),
    [
        (_dbapi(OperationalError), False),
        (_dbapi(InterfaceError), False),
        (_dbapi(ProgrammingError), False),  # a missing table: the database's fault, waited out
        (_dbapi(IntegrityError), True),
        (_dbapi(DataError), True),
        (_dbapi(IntegrityError, invalidated=True), False),  # the connection dropped mid-statement
        (StatementError("could not bind", "INSERT", {}, ValueError("x")), True),
        (SQLAlchemyError("something else"), False),
    ],
)
def test_only_the_rows_own_faults_count_as_refused(exc: SQLAlchemyError, refused: bool) -> None:
    # Guards the split between "drop the row" and "wait the outage out".
    assert _refused_data(exc) is refused


# -- backoff and outage lines --------------------------------------------------------------
def test_backoff_doubles_from_the_initial_delay_up_to_the_cap(
    engine: FlakyEngine, clock: Clock
) -> None:
    # Guards the delay formula: initial * 2^(attempt-1), capped by retry_max.
    writer = make_writer(engine, retry_initial=0.1, retry_max=1.0)
    writer._retry_wake = wake = NoWait()  # type: ignore[assignment]
    assert [writer._backoff(attempt, 1, OUTAGE) for attempt in range(1, 7)] == [True] * 6
    assert wake.waits == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]


def test_backoff_exponent_is_capped_at_thirty(engine: FlakyEngine, clock: Clock) -> None:
    # Guards the exponent cap (a long outage must not overflow 2.0 ** attempt).
    writer = make_writer(engine, retry_initial=1.0, retry_max=1e300)
    writer._retry_wake = wake = NoWait()  # type: ignore[assignment]
    for attempt in (1, 2, 30, 31, 32, 5000):
        writer._backoff(attempt, 1, OUTAGE)
    assert wake.waits == [1.0, 2.0, 2.0**29, 2.0**30, 2.0**30, 2.0**30]


def test_backoff_reports_the_outage_once_per_interval(
    engine: FlakyEngine, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    # Guards the outage line's numbers and its rate limit (one per 30 s, the first at once).
    writer = make_writer(engine, max_queue=2)
    writer._retry_wake = NoWait()  # type: ignore[assignment]
    writer.enqueue([record(DATASET) for _ in range(2)])
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        writer._backoff(1, 7, OUTAGE)
        clock.now += 29
        writer._backoff(2, 7, OUTAGE)
        assert writer.health().failing_for_seconds == 29.0
        clock.now += 1  # exactly 30 s after the first line
        writer._backoff(3, 7, OUTAGE)
        clock.now += 29.95
        writer._backoff(4, 7, OUTAGE)
    assert messages(caplog, logging.WARNING) == [
        "prediction log cannot write (OperationalError: connection refused); 7 records in "
        "hand, 2 queued and 0 spilled wait, retrying (attempt 1, next in 0.10 s)",
        "prediction log cannot write (OperationalError: connection refused); 7 records in "
        "hand, 2 queued and 0 spilled wait, retrying (attempt 3, next in 0.40 s)",
    ]
    # The outage began at the first failure, not at a later one.
    assert writer.health() == health(state="down", failing_for_seconds=59.95, queue_depth=2)


def test_backoff_stops_when_close_gives_up(engine: FlakyEngine, clock: Clock) -> None:
    # Guards both exits: given up before the wait (no wait at all) and during it.
    writer = make_writer(engine)
    writer._retry_wake = wake = NoWait(lambda _: setattr(writer, "_gave_up", True))  # type: ignore[assignment]
    assert writer._backoff(1, 1, OUTAGE) is False
    assert writer._backoff(2, 1, OUTAGE) is False
    assert wake.waits == [0.1]


def test_an_outage_is_waited_out_then_reported_over(
    engine: FlakyEngine, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    # Guards _insert's retry loop and counters, health() while down, and the "is back" line.
    writer = make_writer(engine, retry_initial=0.5, retry_max=4.0)
    seen: list[tuple[float | None, str | None]] = []

    def on_wait(waits: int) -> None:
        # Called with the writer's lock held (health() would wait for it): read the fields.
        seen.append((writer._failing_since, writer._last_error))
        clock.now += 2.5
        if waits == 3:
            engine.down = False

    writer._retry_wake = wake = NoWait(on_wait)  # type: ignore[assignment]
    rows = [_row(record(DATASET)) for _ in range(3)]
    engine.down = True
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert writer._insert(rows) is True
    assert wake.waits == [0.5, 1.0, 2.0]
    # The outage began at the first failure and the error class was kept at each.
    assert seen == [(1000.0, "OperationalError")] * 3
    assert writer.health() == health(last_error="OperationalError", written=3)
    assert writer.errors == 3
    assert messages(caplog, logging.WARNING) == [
        "prediction log cannot write (OperationalError: connection refused); 3 records in "
        "hand, 0 queued and 0 spilled wait, retrying (attempt 1, next in 0.50 s)",
        "prediction log database is back after 7.5 s; writing 0 queued and 0 spilled records",
    ]
    assert engine.ids() == [row["prediction_id"] for row in rows]


def test_a_refused_row_is_dropped_alone_and_replays_count_apart(
    engine: FlakyEngine, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    # Guards the row-by-row fallback (one drop, the rest written) and that replayed rows
    # (idempotent inserts) are not counted as written.
    writer = make_writer(engine)
    first = _row(record(DATASET))
    assert writer._insert([first]) is True
    batch = [_row(record(DATASET)), first, _row(record(DATASET))]
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        assert writer._insert(batch) is True
    assert (writer.written, writer.dropped, writer.errors) == (3, 1, 2)
    assert writer.health().state == "ok" and writer.health().last_error == "IntegrityError"
    assert messages(caplog, logging.ERROR) == [
        f"prediction log dropped record {first['prediction_id']}, refused by the database: "
        "UNIQUE constraint failed: prediction_logs.prediction_id"
    ]
    again = [_row(record(DATASET)), first]
    assert writer._insert(again, idempotent=True) is True  # the duplicate is skipped
    assert (writer.written, writer.dropped) == (3, 1)
    assert engine.ids() == [
        first["prediction_id"],
        batch[0]["prediction_id"],
        batch[2]["prediction_id"],
        again[0]["prediction_id"],
    ]
    # A replayed row the table refuses (NOT NULL): row by row, still idempotent (uncounted).
    broken = {**_row(record(DATASET)), "dataset": None}
    assert writer._insert([_row(record(DATASET)), broken], idempotent=True) is True
    assert (writer.written, writer.dropped) == (3, 2)


# -- spilling and dropping --------------------------------------------------------------------
def test_overflow_spills_then_drops_with_exact_counts_and_lines(
    engine: FlakyEngine, clock: Clock, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    line = line_size()
    # Guards enqueue's split between queue and spill, "degraded", the spill cap, the drop
    # counts and the rate-limited spill and drop lines (writer not started: nothing drains).
    folder = tmp_path / "spill"
    writer = make_writer(engine, max_queue=3, spill=SpillDirectory(folder, max_bytes=5 * line))
    sent = [record(DATASET) for _ in range(9)]
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        writer.enqueue(sent[:4])  # three queued, one spilled
        assert writer.health() == health(
            state="degraded", queue_depth=3, spill_records=1, spill_bytes=line, spilled=1
        )
        clock.now += 10
        writer.enqueue(sent[4:6])  # spilling: they follow the first one, queue or not
        clock.now += 19.9
        writer.enqueue(sent[6:9])  # two fit under the cap, one is dropped
        assert writer.health() == health(
            state="degraded",
            queue_depth=3,
            spill_records=5,
            spill_bytes=5 * line,
            spilled=5,
            dropped=1,
        )
        clock.now += 0.1
        writer.enqueue([record(DATASET)])  # 30 s after the first spill line: logged again
    assert writer.spilled == 5 and writer.dropped == 2
    assert messages(caplog, logging.WARNING) == [
        f"prediction log spilled 1 records to {folder} (the queue is full (3 records)); "
        f"1 records ({line} bytes of {5 * line}) wait there for the database"
    ]
    assert messages(caplog, logging.ERROR) == [
        "prediction log dropped 1 records (1 in all): the queue is full (3 records) and the "
        f"spill is full ({5 * line} bytes)"
    ]
    assert spilled_ids(folder) == [r.prediction_id for r in sent[3:8]]
    # Queued records wait (no thread writes them); spilled ones are not in the queue.
    assert writer.still_queued(sent[0].prediction_id, 0) is True
    assert writer.still_queued(sent[3].prediction_id, 0) is False
    assert writer._pending == {r.prediction_id: n for n, r in enumerate(sent[:3], start=1)}


def test_the_drop_line_waits_for_its_interval_and_then_counts_every_loss(
    engine: FlakyEngine, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    # Guards the drop line's rate limit and its running totals, with spilling off.
    writer = make_writer(engine, max_queue=2)
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        writer.enqueue([record(DATASET) for _ in range(3)])
        clock.now += 29
        writer.enqueue([record(DATASET) for _ in range(2)])
        clock.now += 1  # exactly 30 s after the first line
        writer.enqueue([record(DATASET)])
    assert messages(caplog, logging.ERROR) == [
        "prediction log dropped 1 records (1 in all): the queue is full (2 records) and "
        "spilling is off",
        "prediction log dropped 3 records (4 in all): the queue is full (2 records) and "
        "spilling is off",
    ]
    assert writer.health() == health(queue_depth=2, dropped=4)


def test_the_spill_line_comes_once_per_interval(
    engine: FlakyEngine, clock: Clock, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Guards the spill line's rate limit: the first at once, the next 30 s after, not before.
    folder = tmp_path / "spill"
    writer = make_writer(engine, max_queue=0, spill=SpillDirectory(folder, max_bytes=10**6))
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        for step in (0, 29, 1, 29):
            clock.now += step
            writer.enqueue([record(DATASET)])
    assert [line.split(" (")[0] for line in messages(caplog, logging.WARNING)] == [
        f"prediction log spilled 1 records to {folder}"
    ] * 2
    # The second line at exactly 30 s (the third record), not at the fourth.
    assert f"; 3 records ({3 * line_size()} bytes" in messages(caplog, logging.WARNING)[1]
    assert writer.health().spilled == 4


def test_a_failing_spill_names_its_error(
    engine: FlakyEngine,
    clock: Clock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Guards the failure cause in the drop line and that nothing counts as spilled.
    spill = SpillDirectory(tmp_path / "spill", max_bytes=10**6)

    def full(lines: list[bytes]) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(spill, "append", full)
    writer = make_writer(engine, max_queue=1, spill=spill)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        writer.enqueue([record(DATASET) for _ in range(3)])
    assert messages(caplog, logging.WARNING) == []
    assert messages(caplog, logging.ERROR) == [
        "prediction log dropped 2 records (2 in all): the queue is full (1 records) and the "
        "spill file failed (OSError: [Errno 28] No space left on device)"
    ]
    assert writer.health() == health(queue_depth=1, dropped=2)


def test_close_before_start_spills_the_queue_in_order(
    engine: FlakyEngine, clock: Clock, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    line = line_size()
    # Guards _spill_queue: every queued record spilled in order, the queue settled (depth 0,
    # nothing pending), its line logged at once; records after close go straight to the spill.
    folder = tmp_path / "spill"
    writer = make_writer(engine, max_queue=10, spill=SpillDirectory(folder, max_bytes=10**6))
    sent = [record(DATASET) for _ in range(4)]
    writer.enqueue(sent)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert writer.close(timeout=1.0) is True
        assert writer.close(timeout=1.0) is False  # already closed
        late = record(DATASET)
        writer.enqueue([late])
    assert writer.health() == health(
        state="degraded", spill_records=5, spill_bytes=5 * line, spilled=5
    )
    assert writer._pending == {} and writer.closed
    assert messages(caplog, logging.WARNING) == [
        f"prediction log spilled 4 records to {folder} (the log closed before it started); "
        f"4 records ({4 * line} bytes of 1000000) wait there for the database"
    ]
    assert spilled_ids(folder) == [r.prediction_id for r in [*sent, late]]


def test_a_malformed_record_is_dropped_alone_wherever_it_is_converted(
    engine: FlakyEngine, clock: Clock, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Guards the per-record drop (one count each, the others kept) in enqueue's overflow,
    # in _spill_queue at close, and in _write_batch.
    bad = [
        dataclasses.replace(record(DATASET), prediction="cheap")  # type: ignore[arg-type]
        for _ in range(4)
    ]

    folder = tmp_path / "spill"
    writer = make_writer(engine, max_queue=2, spill=SpillDirectory(folder, max_bytes=10**6))
    good = [record(DATASET) for _ in range(2)]
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        writer.enqueue([bad[0], good[0], bad[1], good[1]])  # two queued, two overflow
        assert (writer.spilled, writer.dropped) == (1, 1)
        writer.close(timeout=1.0)  # the queued two: one spilled, one dropped
        assert (writer.spilled, writer.dropped) == (2, 2)
        assert spilled_ids(folder) == [good[1].prediction_id, good[0].prediction_id]
        other = make_writer(engine)
        written = record(DATASET)
        other._write_batch([RequestRecords.of(r) for r in (bad[2], written, bad[3])])
    assert (other.written, other.dropped) == (1, 2)
    assert engine.ids() == [written.prediction_id]
    # In the order met: the overflow, then the queue at close, then the batch.
    assert messages(caplog, logging.ERROR) == [
        f"prediction log dropped record {b!r}: could not convert string to float: 'cheap'"
        for b in [bad[1], bad[0], bad[2], bad[3]]
    ]


def test_close_before_start_without_a_spill_drops_and_says_so(
    engine: FlakyEngine, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    # Guards the at-once drop line of a shutdown (not rate-limited) and its totals.
    writer = make_writer(engine, max_queue=2)
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        writer.enqueue([record(DATASET) for _ in range(3)])  # one dropped, line logged
        writer.close(timeout=1.0)  # two more, logged at once although within 30 s
        clock.now += 30
        writer.enqueue([record(DATASET)])  # after close: dropped, and the line says why
    assert messages(caplog, logging.ERROR)[-2:] == [
        "prediction log dropped 2 records (3 in all): the log closed before it started and "
        "spilling is off",
        "prediction log dropped 1 records (4 in all): the log is closed and spilling is off",
    ]
    assert writer.health() == health(dropped=4)


# -- replay ---------------------------------------------------------------------------------
def spill_file(folder: Path, rows: list[dict[str, Any]], *, torn: bytes = b"") -> Path:
    """A sealed spill file of `rows` (as an earlier process leaves it), plus a torn line."""
    earlier = SpillDirectory(folder, max_bytes=10**6)
    earlier.append([encode(row) for row in rows])
    path = earlier.current
    assert path is not None
    detached = earlier.detach()
    assert detached is not None
    earlier.close_detached(detached)
    if torn:
        with path.open("ab") as handle:
            handle.write(torn)
    return path


def test_replay_writes_sealed_files_in_batches_and_counts_a_bad_line_once(
    engine: FlakyEngine,
    clock: Clock,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Guards _replay/_replay_file: batch sizes, order, the replayed and dropped counts, the
    # unreadable-line message, and that a replayed file is deleted.
    folder = tmp_path / "spill"
    rows = [_row(record(DATASET)) for _ in range(5)]
    path = spill_file(folder, rows[:2] + [{"not": "a row"}] + rows[2:], torn=b'{"prediction_id"')
    writer = make_writer(engine, batch_size=2, spill=SpillDirectory(folder, max_bytes=10**6))
    inserts: list[int] = []
    insert = writer._insert

    def counted(batch: list[dict[str, Any]], *, idempotent: bool = False) -> bool:
        inserts.append(len(batch))
        assert idempotent
        return insert(batch, idempotent=idempotent)

    monkeypatch.setattr(writer, "_insert", counted)
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        writer._replay()
    assert inserts == [2, 2, 1]
    assert engine.ids() == [row["prediction_id"] for row in rows]
    assert writer.health() == health(replayed=5, dropped=2)
    assert messages(caplog, logging.ERROR) == [
        f"prediction log dropped line {n} of {path}: not a readable record" for n in (3, 7)
    ]
    assert not path.exists()


def test_replay_stops_where_close_gives_up_and_keeps_the_file(
    engine: FlakyEngine, clock: Clock, tmp_path: Path
) -> None:
    # Guards the interrupted replay: what was written is counted, the file stays for the next
    # process, whose replay skips the rows already written.
    folder = tmp_path / "spill"
    rows = [_row(record(DATASET)) for _ in range(5)]
    path = spill_file(folder, rows)
    writer = make_writer(engine, batch_size=2, spill=SpillDirectory(folder, max_bytes=10**6))
    original = writer._insert

    def second_batch_fails(batch: list[dict[str, Any]], *, idempotent: bool = False) -> bool:
        engine.down = bool(writer._replayed)
        return original(batch, idempotent=idempotent)

    writer._insert = second_batch_fails  # type: ignore[method-assign]
    writer._retry_wake = NoWait(lambda _: setattr(writer, "_gave_up", True))  # type: ignore[assignment]
    writer._replay()
    assert writer.replayed == 2 and path.exists()
    assert engine.ids() == [row["prediction_id"] for row in rows[:2]]
    # The next process replays the whole file; the two rows already there are skipped.
    engine.down = False
    successor = make_writer(engine, batch_size=2, spill=SpillDirectory(folder, max_bytes=10**6))
    successor._replay()
    assert successor.replayed == 5 and not path.exists()
    assert engine.ids() == [row["prediction_id"] for row in rows]


def test_after_give_up_a_replay_writes_nothing(
    engine: FlakyEngine, clock: Clock, tmp_path: Path
) -> None:
    # Guards the give-up check before each replay batch: shutting down leaves the file whole.
    folder = tmp_path / "spill"
    path = spill_file(folder, [_row(record(DATASET)) for _ in range(3)])
    writer = make_writer(engine, batch_size=2, spill=SpillDirectory(folder, max_bytes=10**6))
    writer._gave_up = True
    writer._replay()
    assert (writer.replayed, engine.ids(), path.exists()) == (0, [], True)


def test_spilled_records_come_back_through_the_thread_and_health_returns_to_ok(
    engine: FlakyEngine, tmp_path: Path
) -> None:
    # Guards the writer thread's accounting from spill to replay: degraded while records
    # wait in the spill, ok with exact counts once they are in the table, in the order sent.
    folder = tmp_path / "spill"
    writer = make_writer(
        engine, batch_size=4, max_queue=3, spill=SpillDirectory(folder, max_bytes=10**6)
    )
    sent: list[PredictionRecord] = [record(DATASET) for _ in range(10)]
    writer.enqueue(sent)  # three queued, seven spilled
    assert writer.health().state == "degraded"
    writer.start()
    wait_until(lambda: writer.health().replayed == 7)
    assert writer.flush(timeout=5)
    assert writer.health() == health(written=3, spilled=7, replayed=7)
    assert engine.ids() == [r.prediction_id for r in sent]
    # A queued record: still_queued waits for the writer and answers False once written.
    late = record(DATASET)
    writer.enqueue([late])
    assert writer.still_queued(late.prediction_id, 5) is False
    assert writer.health() == health(written=4, spilled=7, replayed=7)
    assert writer.close(timeout=2.0) is True
    assert list(folder.glob(SPILL_GLOB)) == []


# -- giving up at shutdown ------------------------------------------------------------------
def test_close_spills_the_queue_and_the_batch_of_a_writer_stuck_in_a_database_call(
    engine: FlakyEngine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    line = line_size()
    # Guards _give_up: the queue and then the stuck batch in hand are spilled (3 + 2), the
    # lines name the grace period and the batch size, and close() reports it did not stop.
    folder = tmp_path / "spill"
    writer = make_writer(engine, batch_size=2, spill=SpillDirectory(folder, max_bytes=10**6))
    engine.hang = threading.Event()
    sent = [record(DATASET) for _ in range(5)]
    writer.start()
    writer.enqueue(sent[:2])
    assert engine.entered.wait(5)  # the writer holds the first two, stuck in begin()
    writer.enqueue(sent[2:])
    # Waiting on a record behind the stuck batch ends at its timeout: it still waits.
    assert writer.still_queued(sent[2].prediction_id, 0.05) is True
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert writer.close(timeout=0.4) is False
    assert (writer.spilled, writer.written, writer.dropped) == (5, 0, 0)
    assert writer.health().spill_records == 5
    assert messages(caplog, logging.WARNING) == [
        f"prediction log spilled 3 records to {folder} (not written within the 0.4 s shutdown "
        f"grace period); 3 records ({3 * line} bytes of 1000000) wait there for the database",
        f"prediction log spilled 2 records to {folder} (the writer is stuck in a database call "
        f"at shutdown); 5 records ({5 * line} bytes of 1000000) wait there for the database",
    ]
    assert messages(caplog, logging.ERROR) == [
        "prediction log: the writer is still in a database call 0.4 s after shutdown began; "
        "2 records of its batch in hand were spilled"
    ]
    assert spilled_ids(folder) == [r.prediction_id for r in [*sent[2:], *sent[:2]]]
    # The database call fails at last: the writer, given up on, ends without writing.
    engine.down = True
    engine.hang.set()
    assert writer._thread is not None
    writer._thread.join(5)
    assert not writer._thread.is_alive()
    assert (writer.written, writer.spilled, engine.ids()) == (0, 5, [])
