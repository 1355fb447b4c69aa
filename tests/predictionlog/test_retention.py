"""Retention of the prediction log: archive to the lake, then delete, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.engine import Engine

from homeprice.config import load_settings
from homeprice.data.lake import Lake
from homeprice.errors import HomepriceError, LakeError, UserInputError
from homeprice.predictionlog import PredictionLog, retention, store_url
from homeprice.predictionlog import archive as archive_module
from homeprice.predictionlog.archive import (
    FEEDBACK,
    ORPHANED,
    PREDICTIONS,
    archived_labelled,
    labelled_history,
    read_archive,
)
from homeprice.predictionlog.database import create_engine
from homeprice.predictionlog.retention import _Pruner, prune, prune_log
from homeprice.predictionlog.schema import feedback, prediction_logs
from tests.support.logrows import predictions_and_feedback, seed, table_rows
from tests.support.servers import free_port

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
AGE = timedelta(days=90)


@pytest.fixture
def engine(url: str, store: PredictionLog) -> Iterator[Engine]:
    """An engine on the same (migrated) database, as `prune_log` opens one."""
    engine = create_engine(store_url(url))
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    """A lake in a temp folder."""
    return Lake(str(tmp_path / "lake"))


def _part_rows(lake: Lake, table: str) -> int:
    """Rows in every part file of `table` (duplicates counted: the files as written)."""
    root = Path(lake.root) / "archive" / table
    return sum(pq.read_metadata(path).num_rows for path in root.rglob("*.parquet"))


def _archived_as_rows(lake: Lake, table: str, dataset: str) -> dict[str, dict]:
    frame = read_archive(lake, table, dataset)
    rows = {}
    for row in frame.to_dict("records"):
        row["ts"] = row["ts"].to_pydatetime()
        rows[row["prediction_id"]] = {k: (None if isinstance(v, float) and v != v else v)
                                      for k, v in row.items()}
    return rows


def test_old_rows_move_to_the_archive_with_identical_values_and_new_rows_stay(
        store: PredictionLog, engine: Engine, lake: Lake, dataset: str) -> None:
    seeded = seed(store, dataset, NOW, old=7, new=4)
    old_before, old_labels_before = predictions_and_feedback(engine, seeded.old)
    new_before, new_labels_before = predictions_and_feedback(engine, seeded.new)
    assert len(old_before) == 14 and len(old_labels_before) == 4

    # Three requests per batch: several batches, each with shadows and labels in it.
    report = prune(engine, lake, AGE, dataset=dataset, batch_size=3, now=NOW)

    assert report.batches == 3
    assert report.totals() == {
        PREDICTIONS: {"archived": 14, "already_archived": 0, "deleted": 14},
        FEEDBACK: {"archived": 4, "already_archived": 0, "deleted": 4}}
    archived = _archived_as_rows(lake, PREDICTIONS, dataset)
    assert archived == old_before
    archived_labels = _archived_as_rows(lake, FEEDBACK, dataset)
    assert {k: {c: v for c, v in row.items() if c != "dataset"}
            for k, row in archived_labels.items()} == old_labels_before
    assert {row["dataset"] for row in archived_labels.values()} == {dataset}
    # Gone from the tables; the newer rows untouched, value for value.
    assert predictions_and_feedback(engine, seeded.old) == ({}, {})
    assert predictions_and_feedback(engine, seeded.new) == (new_before, new_labels_before)
    # Partitioned by dataset and the prediction's UTC day; feedback beside its prediction.
    days = {row["ts"].date().isoformat() for row in old_before.values()}
    for table in (PREDICTIONS, FEEDBACK):
        folder = Path(lake.root) / "archive" / table / dataset
        assert {p.name for p in folder.iterdir()} <= days
    assert {p.name for p in (Path(lake.root) / "archive" / PREDICTIONS / dataset).iterdir()
            } == days
    # The three batches share one file per partition.
    assert all(len(list(day.iterdir())) == 1
               for day in (Path(lake.root) / "archive").glob("*/*/*"))
    assert not list(Path(lake.root).rglob("*.tmp-*")), "no temporary file left behind"


def test_pruning_twice_adds_nothing(store: PredictionLog, engine: Engine, lake: Lake,
                                    dataset: str) -> None:
    seed(store, dataset, NOW, old=5, new=2)
    prune(engine, lake, AGE, dataset=dataset, batch_size=2, now=NOW)
    again = prune(engine, lake, AGE, dataset=dataset, batch_size=2, now=NOW)
    assert again.batches == 0 and again.partitions == {}
    assert (_part_rows(lake, PREDICTIONS), _part_rows(lake, FEEDBACK)) == (10, 3)


def test_a_rerun_after_a_crash_before_the_delete_writes_no_duplicates(
        store: PredictionLog, engine: Engine, lake: Lake, dataset: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    seeded = seed(store, dataset, NOW, old=6, new=1)
    before = predictions_and_feedback(engine, seeded.old)
    calls = []
    real_delete = _Pruner._delete

    def crash_on_second(self: _Pruner, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise ConnectionError("database went away")
        return real_delete(self, *args, **kwargs)

    monkeypatch.setattr(_Pruner, "_delete", crash_on_second)
    # One batch per archive file: the crash comes after the second batch is archived.
    monkeypatch.setattr(retention, "BATCHES_PER_FILE", 1)
    with pytest.raises(ConnectionError):
        prune(engine, lake, AGE, dataset=dataset, batch_size=2, now=NOW)
    # The second batch is in the archive and still in the tables.
    assert _part_rows(lake, PREDICTIONS) == 8
    monkeypatch.setattr(_Pruner, "_delete", real_delete)

    rerun = prune(engine, lake, AGE, dataset=dataset, batch_size=2, now=NOW)
    assert rerun.totals()[PREDICTIONS] == {"archived": 4, "already_archived": 4, "deleted": 8}
    assert _part_rows(lake, PREDICTIONS) == 12, "the crashed batch was not written twice"
    assert _part_rows(lake, FEEDBACK) == 3
    assert _archived_as_rows(lake, PREDICTIONS, dataset) == before[0]
    assert predictions_and_feedback(engine, seeded.old) == ({}, {})


def test_nothing_is_deleted_when_the_archive_file_does_not_read_back_whole(
        store: PredictionLog, engine: Engine, lake: Lake, dataset: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    seeded = seed(store, dataset, NOW, old=3, new=0)
    before = predictions_and_feedback(engine, seeded.old)
    real_write = archive_module._write_durably

    def lose_the_last_row(lake_: Lake, path: str, payload: bytes) -> None:
        # A storage layer that acknowledges a write it did not keep whole.
        table = pq.read_table(pa.BufferReader(payload))
        buffer = pa.BufferOutputStream()
        pq.write_table(table.slice(0, table.num_rows - 1), buffer)
        real_write(lake_, path, buffer.getvalue().to_pybytes())

    monkeypatch.setattr(archive_module, "_write_durably", lose_the_last_row)
    with pytest.raises(LakeError, match="expected .*nothing was deleted"):
        prune(engine, lake, AGE, dataset=dataset, now=NOW)
    assert predictions_and_feedback(engine, seeded.old) == before


def test_dry_run_counts_and_changes_nothing(store: PredictionLog, engine: Engine, lake: Lake,
                                            dataset: str) -> None:
    seeded = seed(store, dataset, NOW, old=4, new=2)
    before = predictions_and_feedback(engine, seeded.old + seeded.new)
    report = prune(engine, lake, AGE, dataset=dataset, batch_size=3, dry_run=True, now=NOW)
    assert report.totals()[PREDICTIONS] == {"archived": 8, "already_archived": 0, "deleted": 8}
    assert report.totals()[FEEDBACK]["deleted"] == 2
    assert predictions_and_feedback(engine, seeded.old + seeded.new) == before
    assert not (Path(lake.root) / "archive").exists()


def test_only_the_named_dataset_is_pruned(store: PredictionLog, engine: Engine, lake: Lake,
                                          dataset: str) -> None:
    other = f"{dataset}_other"
    mine = seed(store, dataset, NOW, old=2, new=0)
    theirs = seed(store, other, NOW, old=2, new=0)
    prune(engine, lake, AGE, dataset=dataset, now=NOW)
    assert predictions_and_feedback(engine, mine.old)[0] == {}
    assert len(predictions_and_feedback(engine, theirs.old)[0]) == 4
    assert read_archive(lake, PREDICTIONS, other).empty


def test_feedback_arriving_during_the_archive_keeps_its_group_for_the_next_run(
        store: PredictionLog, engine: Engine, lake: Lake, dataset: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # label_every=99: only the first request is labelled; the second gets its label late.
    seeded = seed(store, dataset, NOW, old=2, new=0, label_every=99)
    late_id, late_shadow = seeded.old[2], seeded.old[3]
    real_write = archive_module.write_part

    def write_then_label(lake_: Lake, table: str, *args, **kwargs) -> str:
        written = real_write(lake_, table, *args, **kwargs)
        if table == PREDICTIONS and not predictions_and_feedback(engine, [late_id])[1]:
            store.add_feedback(late_id, 321_000.0, NOW - timedelta(days=1))
        return written

    monkeypatch.setattr(archive_module, "write_part", write_then_label)
    first = prune(engine, lake, AGE, dataset=dataset, now=NOW)
    assert first.kept_for_late_feedback == 2
    rows, labels = predictions_and_feedback(engine, [late_id, late_shadow])
    assert set(rows) == {late_id, late_shadow} and set(labels) == {late_id}

    monkeypatch.setattr(archive_module, "write_part", real_write)
    second = prune(engine, lake, AGE, dataset=dataset, now=NOW)
    assert second.totals()[FEEDBACK] == {"archived": 1, "already_archived": 0, "deleted": 1}
    assert second.totals()[PREDICTIONS]["already_archived"] == 2
    assert predictions_and_feedback(engine, seeded.old) == ({}, {})
    labelled = archived_labelled(lake, dataset)
    assert labelled.loc[labelled["prediction_id"] == late_id, "actual_price"].item() == 321_000
    # The shadow takes its parent's label from the archive too.
    assert labelled.loc[labelled["prediction_id"] == late_shadow, "actual_price"].item() == 321_000
    assert _part_rows(lake, PREDICTIONS) == 4


def test_orphaned_feedback_is_archived_by_its_own_age(store: PredictionLog, engine: Engine,
                                                      lake: Lake, dataset: str) -> None:
    orphan, recent = f"orphan-{dataset}", f"recent-orphan-{dataset}"
    with engine.begin() as connection:
        connection.execute(feedback.insert(), [
            {"prediction_id": orphan, "actual_price": 1.5, "ts": NOW - timedelta(days=120)},
            {"prediction_id": recent, "actual_price": 2.5, "ts": NOW - timedelta(days=2)}])
    # Scoped to a dataset, orphans (whose dataset is unknown) are left alone.
    prune(engine, lake, AGE, dataset=dataset, now=NOW)
    assert set(table_rows(engine, feedback, [orphan, recent])) == {orphan, recent}

    prune(engine, lake, AGE, now=NOW)
    assert set(table_rows(engine, feedback, [orphan, recent])) == {recent}
    archived = read_archive(lake, FEEDBACK, ORPHANED)
    row = archived.loc[archived["prediction_id"] == orphan].iloc[0]
    assert (row["actual_price"], row["dataset"]) == (1.5, ORPHANED)
    assert row["ts"] == NOW - timedelta(days=120)


def test_monitoring_reads_the_archived_labels_as_it_read_the_log(
        store: PredictionLog, engine: Engine, lake: Lake, dataset: str) -> None:
    seed(store, dataset, NOW, old=6, new=3)
    before = store.labelled(dataset)
    prune(engine, lake, AGE, dataset=dataset, batch_size=4, now=NOW)

    assert len(store.labelled(dataset)) < len(before)
    history = labelled_history(store, lake, dataset)
    assert history.columns.tolist() == before.columns.tolist()
    # Each label counted once, shadows included, value for value.
    assert history.sort_values("prediction_id").reset_index(drop=True).to_dict("records") == \
        before.sort_values("prediction_id").reset_index(drop=True).to_dict("records")
    since = NOW - timedelta(days=101)
    window = archived_labelled(lake, dataset, since)
    assert len(window) and (window["ts"] >= since).all()
    assert window["prediction_id"].isin(before["prediction_id"]).all()
    # A window across a day boundary: the requests made 101 days (minus minutes) ago.
    start, until = NOW - timedelta(days=101, hours=1), NOW - timedelta(days=100, hours=1)
    day = read_archive(lake, PREDICTIONS, dataset, start, until)
    assert len(day) and ((day["ts"] >= start) & (day["ts"] < until)).all()
    everything = read_archive(lake, PREDICTIONS, dataset)
    assert len(day) == ((everything["ts"] >= start) & (everything["ts"] < until)).sum()


def test_a_prune_beside_the_live_writer_loses_no_new_prediction(
        store: PredictionLog, engine: Engine, lake: Lake, dataset: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retention, "BATCHES_PER_FILE", 3)  # archive, delete, archive again...
    seeded = seed(store, dataset, NOW, old=400, new=0, label_every=5)
    stop = threading.Event()
    written: list[str] = []

    def serve() -> None:
        from tests.support.logrows import prediction

        n = 0
        while not stop.is_set() or n < 200:
            record = prediction(dataset, datetime.now(UTC), index=n)
            store.enqueue([record])
            written.append(record.prediction_id)
            n += 1
            time.sleep(0.001)  # steady traffic, not a flood that would fill the queue

    writer = threading.Thread(target=serve)
    writer.start()
    try:
        report = prune(engine, lake, AGE, dataset=dataset, batch_size=25,
                       now=datetime.now(UTC))
    finally:
        stop.set()
        writer.join()
    assert store.flush(60)
    assert report.totals()[PREDICTIONS]["deleted"] == 800
    assert predictions_and_feedback(engine, seeded.old) == ({}, {})
    assert set(table_rows(engine, prediction_logs, written)) == set(written)
    assert store.rows_dropped == 0 and len(written) >= 200
    assert len(read_archive(lake, PREDICTIONS, dataset)) == 800


def test_prune_log_reads_the_settings_and_skips_a_missing_log(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOMEPRICE_HOME", str(tmp_path / "home"))
    for name in ("HOMEPRICE_LOG_DB_URL", "HOMEPRICE_LAKE_URL", "HOMEPRICE_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOMEPRICE_LOG_RETENTION__OLDER_THAN", "2w")
    settings = load_settings()
    report = prune_log(settings, now=NOW)
    assert report.older_than == "2w" and report.cut == NOW - timedelta(weeks=2)
    assert report.partitions == {}
    assert not (tmp_path / "home" / "predictions.db").exists(), "no empty log was created"

    log = PredictionLog(settings.log_url)
    log.start()
    try:
        seeded = seed(log, "california", NOW, old=3, new=1, old_age=timedelta(days=20))
    finally:
        log.close()
    report = prune_log(settings, now=NOW)
    assert report.totals()[PREDICTIONS]["deleted"] == 6
    assert len(read_archive(Lake(settings.lake_root), PREDICTIONS, "california")) == 6
    engine = create_engine(store_url(settings.log_url))
    try:
        assert predictions_and_feedback(engine, seeded.old) == ({}, {})
    finally:
        engine.dispose()


def test_bad_retention_settings_are_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOMEPRICE_LOG_RETENTION__OLDER_THAN", "90 days")
    with pytest.raises(ValidationError, match=r"log_retention\.older_than[\s\S]*'90 days'"):
        load_settings()
    monkeypatch.setenv("HOMEPRICE_LOG_RETENTION__OLDER_THAN", "90d")
    monkeypatch.setenv("HOMEPRICE_LOG_RETENTION__BATCH_SIZE", "0")
    with pytest.raises(ValidationError, match=r"log_retention\.batch_size"):
        load_settings()


def test_prune_refuses_nonsense(tmp_path: Path, lake: Lake) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(UserInputError, match="older_than"):
        prune(engine, lake, timedelta(0))
    with pytest.raises(UserInputError, match="batch_size"):
        prune(engine, lake, AGE, batch_size=0)
    with pytest.raises(LakeError, match="archive folder"):
        read_archive(lake, PREDICTIONS, "../escape")
    with pytest.raises(UserInputError, match="no archived table"):
        read_archive(lake, "users")


def test_an_unreachable_database_is_one_error_without_the_password(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOMEPRICE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HOMEPRICE_LOG_DB_URL",
                       f"postgresql://homeprice:s3cret-pw@127.0.0.1:{free_port()}/log")
    with pytest.raises(HomepriceError, match="cannot prune the prediction log at") as caught:
        prune_log(load_settings())
    assert "s3cret-pw" not in str(caught.value) and "***" in str(caught.value)
