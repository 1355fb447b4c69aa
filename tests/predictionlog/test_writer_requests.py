"""The writer takes a request's records by column (RequestRecords): a request is split across
transactions of batch_size records and across the queue and the spill when it does not fit,
in order, and every one of its prediction ids is known to be waiting until written."""

from __future__ import annotations

from pathlib import Path

import pytest

from homeprice.predictionlog.records import RequestRecords
from homeprice.predictionlog.spill import SpillDirectory
from tests.predictionlog.test_writer_values import DATASET, FlakyEngine, make_writer, spilled_ids
from tests.support.predictionlog import T0, record


def request(size: int, *, parents: list[str] | None = None) -> RequestRecords:
    """A request of `size` homes priced by the champion, with distinct ids and prices."""
    one = record(DATASET)
    return RequestRecords(
        request_id=one.request_id, ts=T0, dataset=DATASET, variant="champion",
        model_version="1", served=True, client_id="alice", latency_ms=0.5, mode="off",
        prediction_ids=[f"{one.prediction_id[:24]}{i:08x}" for i in range(size)],
        prices=[1000.0 + i for i in range(size)], lowers=[900.0 + i for i in range(size)],
        uppers=[1100.0 + i for i in range(size)],
        features=[{"rooms": i} for i in range(size)], parent_prediction_ids=parents)


def test_the_columns_of_a_request_must_be_as_long_as_each_other() -> None:
    with pytest.raises(ValueError, match="columns of request 'r1' differ in length"):
        RequestRecords(request_id="r1", ts=T0, dataset=DATASET, variant="champion",
                       model_version="1", served=True, client_id=None, latency_ms=None,
                       mode=None, prediction_ids=["a", "b"], prices=[1.0], lowers=[1.0, 2.0],
                       uppers=[1.0, 2.0], features=[{}, {}])
    with pytest.raises(ValueError, match="parent_prediction_ids"):
        request(2, parents=["a"])


def test_a_part_of_a_request_keeps_its_rows_and_shared_values() -> None:
    whole = request(5, parents=[f"p{i}" for i in range(5)])
    part = whole.part(1, 3)
    records = part.records()
    assert [r.prediction_id for r in records] == whole.prediction_ids[1:3]
    assert [(r.prediction, r.lower, r.upper, r.features, r.parent_prediction_id)
            for r in records] == [(1001.0, 901.0, 1101.0, {"rooms": 1}, "p1"),
                                  (1002.0, 902.0, 1102.0, {"rooms": 2}, "p2")]
    assert {(r.request_id, r.ts, r.client_id, r.mode, r.served) for r in records} == {
        (whole.request_id, T0, "alice", "off", True)}
    assert RequestRecords.of(records[0]).records() == records[:1]


def test_a_large_request_is_taken_in_batches_of_batch_size_records_in_order(
        engine: FlakyEngine) -> None:
    writer = make_writer(engine, batch_size=3)
    first, second = request(7), request(2)
    writer.enqueue(first)
    writer.enqueue(second)
    assert writer.queue_depth == 9
    taken = []
    with writer._lock:
        while writer._queue:
            batch = writer._next_batch()
            taken.append([(seq, chunk.prediction_ids) for seq, chunk in batch])
    ids = first.prediction_ids
    assert taken == [[(1, ids[0:3])], [(4, ids[3:6])],
                     [(7, ids[6:7]), (8, second.prediction_ids)]]
    assert writer._queued == 0


def test_every_record_of_a_request_waits_until_written_then_is_written_once(
        engine: FlakyEngine) -> None:
    writer = make_writer(engine, batch_size=4)
    sent = request(10)
    writer.enqueue(sent)
    assert all(writer.still_queued(pid, timeout=0.0) for pid in sent.prediction_ids)
    writer.start()
    assert writer.flush(timeout=5.0)
    assert not any(writer.still_queued(pid, timeout=0.0) for pid in sent.prediction_ids)
    assert engine.ids() == sent.prediction_ids
    assert (writer.written, writer.dropped, writer.queue_depth, writer._pending) == (10, 0, 0, {})
    assert writer.close(timeout=2.0)


def test_a_request_larger_than_the_room_left_queues_its_head_and_spills_its_tail(
        engine: FlakyEngine, tmp_path: Path) -> None:
    folder = tmp_path / "spill"
    writer = make_writer(engine, max_queue=4, spill=SpillDirectory(folder, max_bytes=10**6))
    sent, later = request(6), request(1)
    writer.enqueue(sent)
    writer.enqueue(later)  # spilling until the queue drains: after the tail, in order
    assert (writer.queue_depth, writer.spilled) == (4, 3)
    assert spilled_ids(folder) == [*sent.prediction_ids[4:], *later.prediction_ids]
    assert not writer.still_queued(sent.prediction_ids[5], timeout=0.0)  # spilled, not queued
    writer.start()
    assert writer.flush(timeout=5.0)
    assert engine.ids() == [*sent.prediction_ids, *later.prediction_ids]
    assert (writer.written, writer.replayed, writer.dropped) == (4, 3, 0)
    assert writer.close(timeout=2.0)


def test_a_request_the_database_refuses_is_written_row_by_row_losing_only_bad_rows(
        engine: FlakyEngine) -> None:
    # One refused transaction, then one insert per row: the duplicate alone is dropped.
    writer = make_writer(engine)
    earlier = request(1)
    writer._write_batch([earlier])
    sent = request(3)
    sent.prediction_ids[1] = earlier.prediction_ids[0]  # already written: a duplicate key
    writer._write_batch([sent])
    assert (writer.written, writer.dropped, writer.errors) == (3, 1, 2)
    assert engine.ids() == [earlier.prediction_ids[0], sent.prediction_ids[0],
                            sent.prediction_ids[2]]
