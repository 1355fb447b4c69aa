"""Exact values of the writer's replay bookkeeping: files a sibling process holds, the deferred
retry, the resume point and bad lines of a sealed file, and health() while a replay waits.

Companion of test_writer_values.py (whose fake engine, clock and helpers it uses): a "sibling
process" is an flock on the file from another open file description, which conflicts exactly
as another process's lock does, so no second process is needed.
"""

from __future__ import annotations

import fcntl
import logging
from pathlib import Path
from typing import Any

import pytest

from homeprice.predictionlog.records import PredictionRecord
from homeprice.predictionlog.spill import SpillDirectory
from homeprice.predictionlog.writer import BatchWriter, _row
from tests.predictionlog.test_writer_values import (
    DATASET,
    LOGGER,
    Clock,
    FlakyEngine,
    NoWait,
    health,
    make_writer,
    messages,
    spill_file,
)
from tests.support.predictionlog import record, wait_until


def spill_own(writer: BatchWriter, sent: list[PredictionRecord]) -> Path:
    """Spill `sent` (the writer's queue takes none) and seal the file, as the writer thread does
    before a replay pass: the path of the sealed file, still this process's backlog."""
    writer.enqueue(sent)
    assert writer._spill is not None and writer.spilled == len(sent)
    path = writer._spill.current
    assert path is not None
    detached = writer._spill.detach()
    assert detached is not None
    writer._spill.close_detached(detached)
    writer._spilling = False
    writer._replay_wanted = False
    return path


def held(path: Path) -> Any:
    """An open file locked the way a sibling process replaying it locks it."""
    handle = path.open("rb")
    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return handle


def test_a_file_a_sibling_holds_is_skipped_and_the_next_one_replayed(
        engine: FlakyEngine, clock: Clock, tmp_path: Path) -> None:
    # Guards _replay's `continue` past an unclaimable file (not `break`), that our records in it
    # keep the replay wanted, and that a pass that replayed something retries without delay.
    folder = tmp_path / "spill"
    writer = make_writer(engine, max_queue=0, spill=SpillDirectory(folder, max_bytes=10**6))
    ours = [record(DATASET) for _ in range(3)]
    own = spill_own(writer, ours)
    leftover_rows = [_row(record(DATASET)) for _ in range(2)]
    leftover = spill_file(folder, leftover_rows)
    assert writer._spill is not None and writer._spill.sealed_files() == [own, leftover]
    sibling = held(own)
    try:
        writer._replay()
    finally:
        sibling.close()
    assert engine.ids() == [row["prediction_id"] for row in leftover_rows]
    assert not leftover.exists() and own.exists()
    assert writer._replay_wanted is True and writer._replay_not_before == 0.0
    assert writer.health() == health(state="degraded", spill_records=3,
                                     spill_bytes=own.stat().st_size, spilled=3, replayed=2)
    assert writer._replay_due() is True
    # The sibling let go: the next pass replays our file and the backlog is gone.
    writer._replay_wanted = False
    writer._replay()
    assert engine.ids()[2:] == [r.prediction_id for r in ours]
    assert writer.health() == health(spilled=3, replayed=5)
    assert writer._replay_wanted is False and not own.exists()


def test_a_pass_that_claims_nothing_waits_the_fsync_interval_before_the_next(
        engine: FlakyEngine, clock: Clock, tmp_path: Path) -> None:
    # Guards the deferred retry: a pass that could replay nothing of ours looks again only
    # fsync_interval seconds later (not at once, not never).
    folder = tmp_path / "spill"
    writer = BatchWriter(engine, batch_size=10, flush_interval=0.01, max_queue=0,  # type: ignore[arg-type]
                         retry_initial=0.1, retry_max=1.0,
                         spill=SpillDirectory(folder, max_bytes=10**6), fsync_interval=2.5)
    own = spill_own(writer, [record(DATASET) for _ in range(2)])
    sibling = held(own)
    try:
        writer._replay()
    finally:
        sibling.close()
    assert engine.ids() == [] and writer.spill_records == 2
    assert (writer._replay_wanted, writer._replay_not_before) == (True, 1002.5)
    assert writer._replay_due() is False
    clock.now = 1002.4
    assert writer._replay_due() is False
    clock.now = 1002.5
    assert writer._replay_due() is True
    # The default interval is one second (as the spill's own fsync, which it shares).
    default = make_writer(engine, max_queue=0, spill=SpillDirectory(tmp_path / "b", 10**6))
    own = spill_own(default, [record(DATASET)])
    sibling = held(own)
    try:
        default._replay()
    finally:
        sibling.close()
    assert default._replay_not_before == clock.now + 1.0


def test_a_replay_with_nothing_of_ours_waiting_is_not_wanted_again(
        engine: FlakyEngine, clock: Clock, tmp_path: Path) -> None:
    # Guards the condition for wanting another pass: our records still waiting, and only then.
    folder = tmp_path / "spill"
    spill_file(folder, [_row(record(DATASET))])
    writer = make_writer(engine, spill=SpillDirectory(folder, max_bytes=10**6))
    writer._replay_wanted = False
    writer._replay()
    assert (writer.replayed, writer._replay_wanted, writer._replay_not_before) == (1, False, 0.0)


def test_a_replay_whose_last_batch_fails_keeps_the_file(
        engine: FlakyEngine, clock: Clock, tmp_path: Path) -> None:
    # Guards _replay_file's answer when the insert of its final batch gives up: False, so the
    # file is kept for the next process instead of being deleted with rows never written.
    folder = tmp_path / "spill"
    rows = [_row(record(DATASET)) for _ in range(3)]  # a batch of two, then the last one
    path = spill_file(folder, rows)
    writer = make_writer(engine, batch_size=2, spill=SpillDirectory(folder, max_bytes=10**6))
    original = writer._insert

    def last_batch_fails(batch: list[dict[str, Any]], *, idempotent: bool = False) -> bool:
        engine.down = bool(writer._replayed)
        return original(batch, idempotent=idempotent)

    writer._insert = last_batch_fails  # type: ignore[method-assign]
    writer._retry_wake = NoWait(lambda _: setattr(writer, "_gave_up", True))  # type: ignore[assignment]
    writer._replay()
    assert (writer.replayed, path.exists()) == (2, True)
    assert engine.ids() == [row["prediction_id"] for row in rows[:2]]


def test_a_sealed_file_resumes_where_its_replay_stopped_and_counts_a_bad_line_once(
        engine: FlakyEngine, clock: Clock, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    # Guards the resume point (sealed.done: lines written so far) and the bad-line set that
    # _replay_file keeps on the sealed file, so a second pass on it writes the rest only and
    # does not count the unreadable line again.
    folder = tmp_path / "spill"
    rows = [_row(record(DATASET)) for _ in range(5)]
    path = spill_file(folder, rows[:2] + [{"not": "a row"}] + rows[2:])
    writer = make_writer(engine, batch_size=2, spill=SpillDirectory(folder, max_bytes=10**6))
    assert writer._spill is not None
    sealed = writer._spill.claim(path)
    assert sealed is not None
    original = writer._insert

    def second_batch_gives_up(batch: list[dict[str, Any]], *, idempotent: bool = False) -> bool:
        if writer._replayed:
            writer._gave_up = True
            return False
        return original(batch, idempotent=idempotent)

    writer._insert = second_batch_gives_up  # type: ignore[method-assign]
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        assert writer._replay_file(sealed) is False
        assert (sealed.done, sealed.bad, writer.replayed, writer.dropped) == (2, {2}, 2, 1)
        writer._gave_up = False
        writer._insert = original  # type: ignore[method-assign]
        assert writer._replay_file(sealed) is True
    assert (sealed.done, sealed.bad, writer.replayed, writer.dropped) == (6, {2}, 5, 1)
    assert engine.ids() == [row["prediction_id"] for row in rows]
    assert len(messages(caplog, logging.ERROR)) == 1
    sealed.release()


def test_an_empty_or_finished_sealed_file_keeps_its_resume_point(
        engine: FlakyEngine, clock: Clock, tmp_path: Path) -> None:
    # Guards the resume point when no line is left to read: unchanged, and the replay succeeds.
    folder = tmp_path / "spill"
    folder.mkdir()
    empty = folder / "spill-1-1-00000000.jsonl"
    empty.write_bytes(b"")
    writer = make_writer(engine, spill=SpillDirectory(folder, max_bytes=10**6))
    assert writer._spill is not None
    sealed = writer._spill.claim(empty)
    assert sealed is not None
    assert writer._replay_file(sealed) is True and sealed.done == 0
    sealed.release()
    path = spill_file(folder, [_row(record(DATASET)) for _ in range(3)])
    finished = writer._spill.claim(path)
    assert finished is not None
    finished.done = 3
    assert writer._replay_file(finished) is True and finished.done == 3
    assert (writer.replayed, engine.ids()) == (0, [])
    finished.release()


def test_health_stays_degraded_while_sealed_records_wait(
        engine: FlakyEngine, clock: Clock, tmp_path: Path) -> None:
    # Guards health(): records spilled and sealed for replay (no longer spilling) still make
    # the log degraded; the outage time is rounded to the millisecond.
    folder = tmp_path / "spill"
    writer = make_writer(engine, max_queue=0, spill=SpillDirectory(folder, max_bytes=10**6))
    own = spill_own(writer, [record(DATASET) for _ in range(2)])
    assert writer.health() == health(state="degraded", spill_records=2,
                                     spill_bytes=own.stat().st_size, spilled=2)
    writer._failing_since = 1000.0
    clock.now = 1029.12345
    assert writer.health().failing_for_seconds == 29.123


def test_the_running_writer_retries_a_held_file_on_its_own(engine: FlakyEngine,
                                                          tmp_path: Path) -> None:
    # Guards _run's periodic wake: with nothing queued and no new record to wake it, the thread
    # looks again every fsync_interval and replays our file once the sibling lets go of it.
    folder = tmp_path / "spill"
    writer = BatchWriter(engine, batch_size=10, flush_interval=0.01, max_queue=0,  # type: ignore[arg-type]
                         retry_initial=0.1, retry_max=1.0,
                         spill=SpillDirectory(folder, max_bytes=10**6), fsync_interval=0.05)
    ours = [record(DATASET) for _ in range(3)]
    own = spill_own(writer, ours)
    writer._replay_wanted = True
    sibling = held(own)
    try:
        writer.start()
        wait_until(lambda: writer._replay_not_before > 0)  # a pass found the file held
        assert writer.replayed == 0 and own.exists()
    finally:
        sibling.close()
    wait_until(lambda: writer.replayed == 3)
    assert engine.ids() == [r.prediction_id for r in ours]
    assert writer.close(timeout=2.0) is True
    assert writer.health() == health(spilled=3, replayed=3)


def test_each_replayed_file_of_ours_leaves_the_backlog_at_once(
        engine: FlakyEngine, clock: Clock, tmp_path: Path) -> None:
    # Guards the per-file bookkeeping of a replay pass: once a file of ours is written, its
    # records leave spill_records before the next file is replayed (not only at the pass's end).
    folder = tmp_path / "spill"
    writer = make_writer(engine, max_queue=0, spill=SpillDirectory(folder, max_bytes=10**6))
    first = spill_own(writer, [record(DATASET) for _ in range(2)])
    writer.enqueue([record(DATASET) for _ in range(3)])  # a new file, sealed below
    assert writer._spill is not None
    second = writer._spill.current
    detached = writer._spill.detach()
    assert detached is not None and second is not None
    writer._spill.close_detached(detached)
    assert writer._spill.sealed_files() == [first, second]
    backlog: list[int] = []
    insert = writer._insert

    def watched(rows: list[dict[str, Any]], *, idempotent: bool = False) -> bool:
        backlog.append(writer.spill_records)
        return insert(rows, idempotent=idempotent)

    writer._insert = watched  # type: ignore[method-assign]
    writer._replay()
    assert backlog == [5, 3]
    assert (writer.replayed, writer.spill_records) == (5, 0)
