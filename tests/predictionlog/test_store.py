"""The prediction log store against real SQLite files and (when configured) a real PostgreSQL."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from homeprice.errors import UserInputError
from homeprice.predictionlog import (
    LABELLED_COLUMNS,
    VERSION_TABLE,
    DuplicateFeedback,
    PredictionLog,
    UnknownPrediction,
    metadata,
    prediction_logs,
    store_url,
)
from tests.support.postgres import fresh_pg_database
from tests.support.predictionlog import T0, database_down, record, rows_in_table, wait_until

HEAD = "0003"
# The writer logs outages, overflows and give-ups; the tests read its records only.
LOGGER = "homeprice.predictionlog.writer"
# Retry quickly: the outage tests last a fraction of a second.
FAST_RETRY = {"retry_initial": 0.01, "retry_max": 0.05}


@pytest.fixture
def sqlite_path(tmp_path: Path) -> Path:
    """The SQLite store in a folder that does not exist yet (the store creates it)."""
    return tmp_path / "home" / "predictions.db"


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite store URL for behaviour that does not depend on the database."""
    return f"sqlite:///{tmp_path / 'predictions.db'}"


@pytest.fixture
def dataset() -> str:
    """A dataset name of this test alone (tests share the module's PostgreSQL database)."""
    return f"ds_{uuid.uuid4().hex[:10]}"


def test_zero_loss_from_many_threads(url: str, dataset: str) -> None:
    log = PredictionLog(url)
    log.start()
    per_thread = 2_500

    def produce(thread: int) -> None:
        # Served + shadow pairs, as the router enqueues them.
        for i in range(0, per_thread, 2):
            request_id = f"{thread}-{i}"
            log.enqueue([record(dataset, request_id=request_id),
                         record(dataset, variant="shadow", served=False, request_id=request_id)])

    threads = [threading.Thread(target=produce, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    log.close()
    assert (log.rows_written, log.rows_dropped, log.write_errors) == (10_000, 0, 0)
    assert log.queue_depth == 0

    reopened = PredictionLog(url)
    reopened.start()
    try:
        assert reopened.count(dataset) == 10_000
    finally:
        reopened.close()


def test_feedback(store: PredictionLog, dataset: str) -> None:
    rec = record(dataset)
    store.enqueue([rec])
    assert store.flush()
    store.add_feedback(rec.prediction_id, 310_000.0)
    with pytest.raises(DuplicateFeedback, match=rec.prediction_id):
        store.add_feedback(rec.prediction_id, 320_000.0)
    with pytest.raises(UnknownPrediction, match="no-such-id"):
        store.add_feedback("no-such-id", 1.0)
    labelled = store.labelled(dataset)
    assert labelled["actual_price"].tolist() == [310_000.0]  # the first feedback stands


def test_feedback_before_the_writer_ran(url: str, dataset: str) -> None:
    # A long batching wait keeps the writer from writing on its own during the test.
    log = PredictionLog(url, flush_interval=60.0)
    log.start()
    try:
        rec = record(dataset)
        log.enqueue([rec])
        assert log.rows_written == 0 and log.queue_depth == 1
        log.add_feedback(rec.prediction_id, 250_000.0)
        assert log.rows_written == 1
        assert log.labelled(dataset)["prediction_id"].tolist() == [rec.prediction_id]
    finally:
        log.close()


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -1.0, "cheap", True])
def test_feedback_rejects_bad_prices(sqlite_url: str, bad: object) -> None:
    log = PredictionLog(sqlite_url)
    log.start()
    try:
        rec = record("california")
        log.enqueue([rec])
        with pytest.raises(UserInputError, match="actual_price"):
            log.add_feedback(rec.prediction_id, bad)  # type: ignore[arg-type]
    finally:
        log.close()


def test_labelled(store: PredictionLog, dataset: str) -> None:
    champion = record(dataset, request_id="r1", ts=T0, client_id="c1")
    shadow = record(dataset, variant="shadow", served=False, request_id="r1", ts=T0,
                    prediction=290_000.0, client_id="c1", parent=champion)
    # A batch request: its instances share a request_id, even with identical features; only
    # the parent link says which served prediction a shadow row stands beside.
    other = record(dataset, request_id="r1", ts=T0)
    other_shadow = record(dataset, variant="shadow", served=False, request_id="r1", ts=T0,
                          parent=other)
    # A shadow row without a parent (logged before the link existed) is never labelled.
    orphan = record(dataset, variant="shadow", served=False, request_id="r1", ts=T0)
    challenger = record(dataset, variant="challenger", ts=T0 + timedelta(hours=1))
    unlabelled = record(dataset, ts=T0 + timedelta(hours=2))
    elsewhere = record("some_other_dataset", ts=T0)
    store.enqueue([champion, shadow, other, other_shadow, orphan, challenger, unlabelled,
                   elsewhere])
    assert store.flush()
    store.add_feedback(champion.prediction_id, 305_000.0, ts=T0 + timedelta(days=30))
    store.add_feedback(challenger.prediction_id, 400_000.0)
    store.add_feedback(elsewhere.prediction_id, 1.0)

    frame = store.labelled(dataset)
    assert list(frame.columns) == LABELLED_COLUMNS
    by_id = frame.set_index("prediction_id")
    assert set(by_id.index) == {champion.prediction_id, shadow.prediction_id,
                                challenger.prediction_id}
    assert by_id.loc[shadow.prediction_id, "actual_price"] == 305_000.0  # via its parent
    assert by_id.loc[shadow.prediction_id, "parent_prediction_id"] == champion.prediction_id
    assert by_id.loc[shadow.prediction_id, "client_id"] == "c1"
    assert by_id.loc[champion.prediction_id, "parent_prediction_id"] is None
    assert not by_id.loc[shadow.prediction_id, "served"]
    assert by_id.loc[shadow.prediction_id, "prediction"] == 290_000.0
    assert by_id.loc[champion.prediction_id, "client_id"] == "c1"
    assert by_id.loc[champion.prediction_id, "ts"] == T0
    assert by_id.loc[champion.prediction_id, "feedback_ts"] == T0 + timedelta(days=30)
    # The shadow prediction's label comes with the served prediction's feedback time.
    assert by_id.loc[shadow.prediction_id, "feedback_ts"] == T0 + timedelta(days=30)
    assert by_id.loc[challenger.prediction_id, "variant"] == "challenger"
    assert str(frame["ts"].dt.tz) == "UTC" and str(frame["feedback_ts"].dt.tz) == "UTC"
    assert frame["ts"].is_monotonic_increasing

    since = store.labelled(dataset, since=T0 + timedelta(minutes=30))
    assert since["prediction_id"].tolist() == [challenger.prediction_id]
    assert store.labelled("never_logged").empty


def test_recent_features(store: PredictionLog, dataset: str) -> None:
    rows = []
    for i in range(6):
        made = T0 + timedelta(minutes=i)
        rows.append(record(dataset, ts=made, features={"rooms": i, "ocean": "INLAND"},
                           request_id=f"r{i}"))
        rows.append(record(dataset, variant="shadow", served=False, ts=made,
                           features={"rooms": i, "ocean": "INLAND"}, request_id=f"r{i}"))
    store.enqueue(rows)
    assert store.flush()

    recent = store.recent_features(dataset, limit=4)
    assert sorted(recent.columns) == ["ocean", "rooms"]
    assert recent["rooms"].tolist() == [2, 3, 4, 5]  # served only, latest four, oldest first
    assert len(store.recent_features(dataset, variant="shadow")) == 6
    assert store.recent_features(dataset, variant="challenger").empty
    with pytest.raises(UserInputError, match="limit"):
        store.recent_features(dataset, limit=0)


def test_migrations_at_head_and_idempotent(url: str, caplog: pytest.LogCaptureFixture) -> None:
    alembic_logger = logging.getLogger("alembic")
    level = alembic_logger.level
    log = PredictionLog(url)
    with caplog.at_level(logging.DEBUG):
        log.start()
    # Alembic's INFO lines ("Context impl ...", "Running upgrade ...") are silenced, and the
    # alembic logger is left as it was.
    assert [r.getMessage() for r in caplog.records if r.name.startswith("alembic")] == []
    assert alembic_logger.level == level
    log.start()  # a second start on the same store does nothing
    log.close()
    again = PredictionLog(url)
    again.start()  # a second store on the same database finds the schema at head
    again.close()

    engine = sa.create_engine(store_url(url))
    try:
        with engine.connect() as connection:
            versions = connection.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}"))
            assert versions.scalars().all() == [HEAD]
            assert "alembic_version" not in sa.inspect(connection).get_table_names()
            # The tables the log queries are exactly what the migrations built.
            context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
            assert compare_metadata(context, metadata) == []
    finally:
        engine.dispose()


def test_shares_a_database_with_mlflow(url: str) -> None:
    # MLflow keeps its own Alembic history in `alembic_version`; the log must neither read
    # that revision (unknown to it) nor move it.
    log = PredictionLog(url)  # creates the SQLite file's folder
    engine = sa.create_engine(store_url(url))
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("CREATE TABLE alembic_version "
                                       "(version_num VARCHAR(32) NOT NULL)"))
            connection.execute(sa.text("INSERT INTO alembic_version VALUES ('bda7b8c39065')"))
        log.start()
        log.close()
        with engine.connect() as connection:
            foreign = connection.execute(sa.text("SELECT version_num FROM alembic_version"))
            assert foreign.scalars().all() == ["bda7b8c39065"]
            own = connection.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}"))
            assert own.scalars().all() == [HEAD]
    finally:
        with engine.begin() as connection:  # the PostgreSQL database is shared by the module
            connection.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
        engine.dispose()


def test_sqlite_is_in_wal_mode(sqlite_url: str, tmp_path: Path) -> None:
    log = PredictionLog(sqlite_url)
    log.start()
    log.close()
    with sqlite3.connect(tmp_path / "predictions.db") as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def logged(caplog: pytest.LogCaptureFixture) -> str:
    """The messages of the writer's logger alone, so a renamed logger fails the test."""
    return "\n".join(r.getMessage() for r in caplog.records if r.name == LOGGER)


def test_rows_wait_while_the_database_is_down(url: str, dataset: str,
                                              caplog: pytest.LogCaptureFixture) -> None:
    log = PredictionLog(url, flush_interval=0.01, batch_size=16, **FAST_RETRY)
    log.start()
    log.enqueue([record(dataset) for _ in range(3)])
    assert log.flush()
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        with database_down(url, log):
            started = time.monotonic()
            for _ in range(5):  # requests keep coming during the outage
                log.enqueue([record(dataset) for _ in range(20)])  # must not raise
                time.sleep(0.05)
            assert time.monotonic() - started < 1.0  # enqueue never waited on the database
            assert not log.flush(timeout=0.3)  # nothing can be written...
            errors = log.write_errors
            assert errors >= 3  # ...though the writer keeps trying
            assert (log.rows_written, log.rows_dropped, log.queue_depth) == (3, 0, 100)
            wait_until(lambda: log.write_errors > errors)  # still trying
        log.close()  # the database is back: the rows waiting are written
    assert (log.rows_written, log.rows_dropped, log.queue_depth) == (103, 0, 0)
    assert "cannot write" in logged(caplog) and "is back" in logged(caplog)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert rows_in_table(url, dataset) == 103


def test_overflow_without_a_spill_is_dropped_at_once(url: str, dataset: str,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    # Spilling off (no spill_dir): a full queue drops the surplus at once, counted and logged.
    log = PredictionLog(url, flush_interval=0.01, batch_size=2, max_queue=5, **FAST_RETRY)
    log.start()
    with database_down(url, log), caplog.at_level(logging.ERROR, logger=LOGGER):
        log.enqueue([record(dataset) for _ in range(2)])
        wait_until(lambda: log.write_errors > 0)  # the writer holds these two
        started = time.perf_counter()
        log.enqueue([record(dataset) for _ in range(8)])  # room for five
        assert time.perf_counter() - started < 0.5  # no waiting for room (1 s before)
        assert (log.queue_depth, log.rows_dropped) == (7, 3)
        assert "dropped 3 records" in logged(caplog) and "spilling is off" in logged(caplog)
    log.close()
    assert (log.rows_written, log.rows_dropped, log.queue_depth) == (7, 3, 0)
    assert rows_in_table(url, dataset) == 7


def test_close_gives_up_on_a_database_still_down(url: str, dataset: str,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    # Batches of four: three of the seven records wait in the queue, four in the writer's hand.
    log = PredictionLog(url, flush_interval=0.01, batch_size=4, **FAST_RETRY)
    log.start()
    with database_down(url, log):
        log.enqueue([record(dataset) for _ in range(7)])
        wait_until(lambda: log.write_errors > 0)
        with caplog.at_level(logging.ERROR, logger=LOGGER):
            started = time.monotonic()
            log.close(timeout=0.3)
            assert time.monotonic() - started < 1.0
    # Without a spill folder nothing can keep them: every one is counted, and the log says so.
    assert (log.rows_written, log.rows_dropped, log.queue_depth) == (0, 7, 0)
    assert "still unreachable" in logged(caplog) and "(7 in all)" in logged(caplog)
    assert rows_in_table(url, dataset) == 0


def test_rows_wait_while_the_table_is_missing(url: str, dataset: str) -> None:
    # Not a connectivity problem, but not the rows' fault either: they wait for the fix.
    log = PredictionLog(url, flush_interval=0.01, **FAST_RETRY)
    log.start()
    engine = sa.create_engine(store_url(url))
    try:
        prediction_logs.drop(engine)  # every insert now fails
        log.enqueue([record(dataset) for _ in range(3)])  # must not raise
        wait_until(lambda: log.write_errors >= 5)  # well past any fixed number of retries
        assert (log.rows_written, log.rows_dropped, log.queue_depth) == (0, 0, 3)
    finally:
        prediction_logs.create(engine, checkfirst=True)
        engine.dispose()
    assert log.flush()
    assert (log.rows_written, log.rows_dropped) == (3, 0)
    log.close()
    assert rows_in_table(url, dataset) == 3


def test_a_refused_row_does_not_lose_its_batch(sqlite_url: str) -> None:
    log = PredictionLog(sqlite_url, flush_interval=60.0)
    log.start()
    duplicate = record("california")
    log.enqueue([record("california"), duplicate, duplicate, record("california")])
    assert log.flush()
    assert (log.rows_written, log.rows_dropped) == (3, 1)
    log.close()


def test_urls(tmp_path: Path) -> None:
    pg = PredictionLog("postgresql://someone@127.0.0.1:1/nothing")  # no connection yet
    assert pg.url.startswith("postgresql+psycopg://")
    assert not pg.ping()  # nothing listens on port 1
    pg.close()
    with pytest.raises(UserInputError, match="sqlite"):
        PredictionLog("mysql://someone@localhost/db")
    with pytest.raises(UserInputError, match="in-memory"):
        PredictionLog("sqlite://")
    log = PredictionLog(f"sqlite:///{tmp_path / 'deep' / 'er' / 'p.db'}")
    assert log.ping() and (tmp_path / "deep" / "er").is_dir()
    log.close()


@pytest.mark.parametrize("backend", ["sqlite",
                                     pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_a_log_created_by_revision_0001_is_upgraded(backend: str, tmp_path: Path) -> None:
    """An existing log from before the shadow link gains the column on start()."""
    if backend == "sqlite":
        _upgrade_from_0001(f"sqlite:///{tmp_path / 'old.db'}")
    else:
        with fresh_pg_database("homeprice_log_upgrade") as url:
            _upgrade_from_0001(url)


def _upgrade_from_0001(url: str) -> None:
    from alembic import command

    from homeprice.predictionlog import alembic_config

    engine = sa.create_engine(store_url(url))
    config = alembic_config(url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        assert "parent_prediction_id" not in {
            c["name"] for c in sa.inspect(connection).get_columns("prediction_logs")}
    engine.dispose()
    log = PredictionLog(url, flush_interval=0.01)
    log.start()
    served = record("upgraded")
    log.enqueue([served, record("upgraded", variant="shadow", served=False, parent=served)])
    log.close()
    reopened = PredictionLog(url)
    reopened.start()
    assert reopened.count("upgraded") == 2
    reopened.close()


@pytest.mark.parametrize("backend", ["sqlite",
                                     pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_a_log_at_revision_0002_gains_the_mode_column(backend: str, tmp_path: Path) -> None:
    """Rows logged before migration 0003 keep an unknown (NULL) mode; new rows record theirs."""
    # Guards: the 0003 upgrade on both databases, and that `labelled` carries the mode that
    # split-mode statistics filter on.
    if backend == "sqlite":
        _upgrade_from_0002(f"sqlite:///{tmp_path / 'old.db'}")
    else:
        with fresh_pg_database("homeprice_log_mode") as url:
            _upgrade_from_0002(url)


def _upgrade_from_0002(url: str) -> None:
    from alembic import command

    from homeprice.predictionlog import alembic_config

    engine = sa.create_engine(store_url(url))
    config = alembic_config(url)
    old = record("modes")
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0002")
        assert "mode" not in {
            c["name"] for c in sa.inspect(connection).get_columns("prediction_logs")}
        p = prediction_logs
        connection.execute(sa.insert(p).values(
            prediction_id=old.prediction_id, request_id=old.request_id, ts=old.ts,
            dataset="modes", variant="champion", model_version="1", served=True,
            prediction=old.prediction, lower=old.lower, upper=old.upper, features="{}"))
    engine.dispose()
    log = PredictionLog(url, flush_interval=0.01)
    log.start()
    try:
        new = record("modes", mode="split", client_id="c1")
        log.enqueue([new])
        assert log.flush()
        log.add_feedback(old.prediction_id, 1.0)
        log.add_feedback(new.prediction_id, 2.0)
        labelled = log.labelled("modes")
    finally:
        log.close()
    modes = dict(zip(labelled["prediction_id"], labelled["mode"], strict=True))
    assert modes == {old.prediction_id: None, new.prediction_id: "split"}
