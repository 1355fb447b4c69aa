"""Exact values of the writer around its thread: the thread itself, the periodic spill fsync and
its failure lines, the replay statement per back end, and drop/spill lines of the batch path.

Companion of test_writer_values.py (whose fake engine, clock and helpers it uses).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy.dialects import postgresql, sqlite

from homeprice.predictionlog.records import RequestRecords
from homeprice.predictionlog.spill import SpillDirectory
from homeprice.predictionlog.writer import BatchWriter
from tests.predictionlog.test_writer_values import (
    DATASET,
    LOGGER,
    Clock,
    FlakyEngine,
    NoWait,
    health,
    line_size,
    make_writer,
    messages,
    spilled_ids,
)
from tests.support.predictionlog import record, wait_until


def test_the_writer_thread_is_named_and_never_keeps_the_process_alive(
        engine: FlakyEngine) -> None:
    # Guards start(): a daemon thread (a process that exits without close() is not held up by
    # it) under a name that says what it is in stack dumps and thread listings.
    writer = make_writer(engine)
    assert not writer.started
    writer.start()
    try:
        assert writer.started and writer._thread is not None
        assert writer._thread.name == "homeprice-prediction-log"
        assert writer._thread.daemon is True and writer._thread.is_alive()
    finally:
        assert writer.close(timeout=2.0) is True
    assert not writer._thread.is_alive()


def test_a_new_writer_starts_with_every_count_at_zero(engine: FlakyEngine, clock: Clock,
                                                      tmp_path: Path) -> None:
    # Guards __init__'s starting state: nothing accepted, written or waiting, not closing, and a
    # replay pass wanted only when there is a spill folder to look at.
    writer = make_writer(engine, spill=SpillDirectory(tmp_path / "spill", max_bytes=10**6))
    assert writer.health() == health()
    assert (writer.queue_depth, writer.written, writer.spilled, writer.replayed, writer.dropped,
            writer.errors, writer.spill_records, writer.spill_bytes) == (0,) * 8
    assert (writer.closed, writer._stopping, writer._gave_up, writer._spilling) == (False,) * 4
    assert writer._replay_wanted is True and writer._replay_not_before == 0.0
    assert (writer._urgent, writer._drops_unlogged, writer._hand, writer._pending) == (
        0, 0, None, {})
    assert make_writer(engine)._replay_wanted is False
    clock.now = 0.0  # leftovers are looked at once, whatever the monotonic clock reads
    assert writer._replay_due() is True
    # The conditions share the one lock (a waiter sees a consistent state when it wakes).
    for condition in (writer._has_items, writer._progress, writer._retry_wake):
        assert condition._lock is writer._lock  # type: ignore[attr-defined]


def test_the_first_spill_and_drop_lines_come_at_once_even_at_clock_zero(
        engine: FlakyEngine, clock: Clock, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    # Guards the rate limits' starting points (one interval before time zero): the very first
    # spill and drop lines are logged at once whatever the monotonic clock reads.
    clock.now = 0.0
    writer = make_writer(engine, max_queue=0,
                         spill=SpillDirectory(tmp_path / "spill", max_bytes=line_size()))
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        writer.enqueue([record(DATASET), record(DATASET)])
    assert [m.split(" (")[0] for m in messages(caplog, logging.WARNING)] == [
        f"prediction log spilled 1 records to {tmp_path / 'spill'}"]
    assert [m.split(":")[0] for m in messages(caplog, logging.ERROR)] == [
        "prediction log dropped 1 records (1 in all)"]


def test_the_spill_file_is_fsynced_when_its_interval_has_passed(
        engine: FlakyEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    # Guards _sync_spill: nothing without a spill or unsynced lines, an fsync of the open file
    # (and, the first time, of its folder) once the writer's interval has passed, and a failing
    # fsync logged, never raised.
    make_writer(engine)._sync_spill()  # no spill folder: nothing to do
    spill = SpillDirectory(tmp_path / "spill", max_bytes=10**6)
    calls: list[tuple[int, bool]] = []
    real = spill.fsync

    def spy(fd: int, folder_too: bool) -> None:
        calls.append((fd, folder_too))
        real(fd, folder_too)

    monkeypatch.setattr(spill, "fsync", spy)
    lazy = BatchWriter(engine, batch_size=10, flush_interval=0.01, max_queue=0,  # type: ignore[arg-type]
                       retry_initial=0.1, retry_max=1.0, spill=spill, fsync_interval=3600.0)
    lazy._sync_spill()
    assert calls == []  # nothing spilled yet
    lazy.enqueue([record(DATASET)])
    lazy._sync_spill()
    assert calls == []  # an hour has not passed
    lazy._fsync_interval = 0.0
    lazy._sync_spill()
    assert [folder_too for _, folder_too in calls] == [True]
    lazy._sync_spill()
    assert len(calls) == 1  # nothing new to sync
    lazy.enqueue([record(DATASET)])
    lazy._sync_spill()
    assert [folder_too for _, folder_too in calls] == [True, False]

    def broken(fd: int, folder_too: bool) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(spill, "fsync", broken)
    lazy.enqueue([record(DATASET)])
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        lazy._sync_spill()
    assert messages(caplog, logging.ERROR) == [
        f"prediction log: could not fsync a spill file in {tmp_path / 'spill'}: "
        "[Errno 5] Input/output error"]


def test_a_failing_fsync_of_a_sealed_file_is_logged(
        engine: FlakyEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    # Guards _close_detached: nothing to do without a file, the file closed through the spill,
    # and its failure logged with the folder (close() must still finish).
    spill = SpillDirectory(tmp_path / "spill", max_bytes=10**6)
    writer = make_writer(engine, max_queue=0, spill=spill)
    writer._close_detached(None)
    make_writer(engine)._close_detached((None, True))  # type: ignore[arg-type]
    writer.enqueue([record(DATASET)])
    closed: list[bool] = []

    def failing(detached: tuple[object, bool]) -> None:
        handle, folder_too = detached
        closed.append(folder_too)
        handle.close()  # type: ignore[attr-defined]
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(spill, "close_detached", failing)
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        assert writer.close(timeout=1.0) is True
    assert closed == [True]
    assert messages(caplog, logging.ERROR) == [
        f"prediction log: could not fsync a spill file in {tmp_path / 'spill'}: "
        "[Errno 28] No space left on device"]


@pytest.mark.parametrize(("dialect", "module"), [(postgresql.dialect(), postgresql),
                                                 (sqlite.dialect(), sqlite)])
def test_the_replay_statement_skips_written_ids_on_either_back_end(
        dialect: object, module: object) -> None:
    # Guards _skip_written_statement: the back end's own insert, skipping a conflict on
    # prediction_id (the PostgreSQL form compiled here, without a server); a plain insert in
    # the driver's SQL outside replay.
    engine = SimpleNamespace(dialect=dialect)
    writer = BatchWriter(engine, batch_size=1, flush_interval=0.01, max_queue=1,  # type: ignore[arg-type]
                         retry_initial=0.1, retry_max=1.0)
    replay = writer._skip_written_statement()
    assert type(replay) is module.Insert  # type: ignore[attr-defined]
    assert replay.table.name == "prediction_logs"
    assert str(replay.compile(dialect=dialect)).endswith(  # type: ignore[arg-type]
        "ON CONFLICT (prediction_id) DO NOTHING")
    plain = writer._fast.sql
    assert plain.startswith("INSERT INTO prediction_logs ") and "ON CONFLICT" not in plain


def test_every_malformed_overflow_record_counts_as_one_drop(
        engine: FlakyEngine, clock: Clock, tmp_path: Path) -> None:
    # Guards enqueue's overflow conversion: each malformed record adds one to the drops.
    folder = tmp_path / "spill"
    writer = make_writer(engine, max_queue=0, spill=SpillDirectory(folder, max_bytes=10**6))
    bad = dataclasses.replace(record(DATASET), prediction="cheap")  # type: ignore[arg-type]
    good = record(DATASET)
    writer.enqueue([bad, bad, good, bad])
    assert (writer.spilled, writer.dropped) == (1, 3)
    assert spilled_ids(folder) == [good.prediction_id]


def test_a_batch_the_database_never_took_is_spilled_at_shutdown_with_its_reason(
        engine: FlakyEngine, clock: Clock, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    # Guards _write_batch's give-up path: the batch in hand spilled with its reason, at once.
    folder = tmp_path / "spill"
    writer = make_writer(engine, spill=SpillDirectory(folder, max_bytes=10**6))
    writer._retry_wake = NoWait(lambda _: setattr(writer, "_gave_up", True))  # type: ignore[assignment]
    sent = [record(DATASET) for _ in range(2)]
    engine.down = True
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        writer._write_batch([RequestRecords.of(r) for r in sent])
    assert (writer.written, writer.spilled, writer._hand) == (0, 2, None)
    assert spilled_ids(folder) == [r.prediction_id for r in sent]
    assert messages(caplog, logging.WARNING)[-1] == (
        f"prediction log spilled 2 records to {folder} (the database is still unreachable at "
        f"shutdown); 2 records ({2 * line_size()} bytes of 1000000) wait there for the database")


def test_close_waits_for_the_thread_to_drain_the_queue(engine: FlakyEngine) -> None:
    # Guards close() with a running writer: the queue is written (not spilled), the thread ends.
    writer = make_writer(engine, batch_size=3)
    writer.start()
    sent = [record(DATASET) for _ in range(7)]
    writer.enqueue(sent)
    assert writer.close(timeout=5.0) is True
    assert engine.ids() == [r.prediction_id for r in sent]
    assert writer.health() == health(written=7)
    assert writer._thread is not None and not writer._thread.is_alive()


class OneBatchThenHang(FlakyEngine):
    """Lets the first transaction through, then holds every later one until `release` is set."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.calls = 0
        self.second = threading.Event()
        self.release = threading.Event()

    def begin(self) -> Any:
        self.calls += 1
        if self.calls > 1:
            self.second.set()
            self.release.wait(10)
        return super().begin()


def test_after_a_batch_only_the_records_still_queued_count_as_waiting(tmp_path: Path) -> None:
    # Guards the accounting after each batch: "done" is everything before the first record
    # still queued (queue_depth counts the batch in flight and the queue), and the written
    # records leave the pending map (no entry outlives its record).
    engine = OneBatchThenHang(tmp_path / "predictions.db")
    writer = make_writer(engine, batch_size=2)
    sent = [record(DATASET) for _ in range(5)]
    writer.enqueue(sent)
    writer.start()
    try:
        assert engine.second.wait(5)  # the first batch is written, the second in flight
        assert engine.ids() == [r.prediction_id for r in sent[:2]]
        assert writer.queue_depth == 3
        assert writer._pending == {r.prediction_id: n for n, r in enumerate(sent, 1) if n > 2}
        assert writer.still_queued(sent[4].prediction_id, 0) is True
        assert writer.still_queued(sent[0].prediction_id, 0) is False
    finally:
        engine.release.set()
    assert writer.close(timeout=5.0) is True
    assert (writer.queue_depth, writer._pending, writer.written) == (0, {}, 5)


def test_an_unexpected_error_spills_the_batch_in_hand_and_the_writer_goes_on(
        engine: FlakyEngine, clock: Clock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    # Guards _run's last resort: a bug while writing a batch is logged with the batch size, the
    # rows in hand are spilled at once (even right after another spill line) and replayed, and
    # the thread keeps writing.
    folder = tmp_path / "spill"
    writer = make_writer(engine, batch_size=2, spill=SpillDirectory(folder, max_bytes=10**6))
    writer._last_spill_log = clock.now  # a spill line was just logged
    real = writer._insert_requests
    calls: list[int] = []

    def buggy(chunks: list[RequestRecords]) -> bool:
        calls.append(sum(map(len, chunks)))
        if len(calls) == 1:
            raise RuntimeError("a bug")
        return real(chunks)

    monkeypatch.setattr(writer, "_insert_requests", buggy)
    sent = [record(DATASET) for _ in range(2)]
    writer.enqueue(sent)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        writer.start()
        wait_until(lambda: writer.replayed == 2)
        later = record(DATASET)
        writer.enqueue([later])
        assert writer.flush(timeout=5.0)
    assert writer.close(timeout=2.0) is True
    assert engine.ids() == [r.prediction_id for r in [*sent, later]]
    assert writer.health() == health(spilled=2, replayed=2, written=1)
    assert messages(caplog, logging.ERROR) == [
        "prediction log: unexpected error writing 2 records"]
    assert messages(caplog, logging.WARNING) == [
        f"prediction log spilled 2 records to {folder} (an unexpected error); 2 records "
        f"({2 * line_size()} bytes of 1000000) wait there for the database"]


class CountingCondition(threading.Condition):
    """A condition that counts its notify() calls (the writer's wake-ups)."""

    def __init__(self, lock: Any) -> None:
        super().__init__(lock)
        self.notified = 0

    def notify(self, n: int = 1) -> None:
        self.notified += 1
        super().notify(n)


def test_enqueue_wakes_the_writer_only_for_an_empty_queue_or_a_full_batch(
        engine: FlakyEngine) -> None:
    # Guards enqueue's wake rule: a wake-up per record cost the request path a thread switch
    # each time while the writer could do nothing with it (it waits for a full batch or
    # flush_interval).
    writer = make_writer(engine, batch_size=3)
    wake = writer._has_items = CountingCondition(writer._lock)
    writer.enqueue([record(DATASET)])
    assert wake.notified == 1  # the first record of an empty queue
    writer.enqueue([record(DATASET)])
    assert wake.notified == 1  # a batch is not full yet: no wake-up
    writer.enqueue([record(DATASET)])
    assert wake.notified == 2  # the batch is full
    writer.enqueue([record(DATASET), record(DATASET)])
    assert wake.notified == 2  # past a full batch: the writer already knows
    assert writer.queue_depth == 5


def test_a_batch_enqueued_at_once_wakes_the_writer_once(engine: FlakyEngine) -> None:
    writer = make_writer(engine, batch_size=3)
    wake = writer._has_items = CountingCondition(writer._lock)
    writer.enqueue([record(DATASET) for _ in range(7)])
    assert wake.notified == 1 and writer.queue_depth == 7


def test_records_below_a_full_batch_are_written_after_the_flush_interval(
        engine: FlakyEngine) -> None:
    # Without a wake-up per record the writer must still write a short batch: it woke for the
    # first record and writes what is queued once flush_interval has passed.
    writer = make_writer(engine, batch_size=100)
    writer.start()
    try:
        records = [record(DATASET) for _ in range(5)]
        for one in records:
            writer.enqueue([one])
        wait_until(lambda: len(engine.ids()) == 5)
        assert engine.ids() == [one.prediction_id for one in records]
    finally:
        assert writer.close(timeout=2.0) is True
