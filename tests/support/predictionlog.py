"""Prediction-log test helpers: plausible records, a real database outage, row counts."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from homeprice.predictionlog import PredictionLog, PredictionRecord
from tests.support.postgres import PG_ENV

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def record(dataset: str, *, variant: str = "champion", served: bool = True,
           request_id: str | None = None, ts: datetime = T0, prediction: float = 300_000.0,
           features: dict | None = None, client_id: str | None = None,
           parent: PredictionRecord | None = None, mode: str | None = None
           ) -> PredictionRecord:
    """A prediction record with plausible values."""
    return PredictionRecord(
        prediction_id=uuid.uuid4().hex, request_id=request_id or uuid.uuid4().hex,
        ts=ts, dataset=dataset, variant=variant,
        model_version="2" if variant == "challenger" else "1", served=served,
        prediction=prediction, lower=prediction * 0.8, upper=prediction * 1.2,
        features=features if features is not None else {"rooms": 4, "ocean": "NEAR BAY"},
        client_id=client_id, latency_ms=1.5,
        parent_prediction_id=None if parent is None else parent.prediction_id, mode=mode)


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll `condition` until it holds; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.005)


def rows_in_table(url: str, dataset: str) -> int:
    """The rows of `dataset` in the log's table, counted by a store of its own."""
    reader = PredictionLog(url)
    try:
        return reader.count(dataset)
    finally:
        reader.close()


@contextmanager
def database_down(url: str, log: PredictionLog) -> Iterator[None]:
    """Inside the block the store's database really refuses connections.

    SQLite: the folder of the file is moved away, so a new connection cannot open it.
    PostgreSQL: the database stops accepting connections and its sessions are ended.
    """
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        folder = Path(parsed.database or "").parent
        away = folder.with_name(folder.name + "-away")
        # An open SQLite connection keeps writing to the moved file: close the pooled ones.
        log._engine.dispose()
        folder.rename(away)
        try:
            yield
        finally:
            away.rename(folder)
        return
    psycopg = pytest.importorskip("psycopg")
    from psycopg import sql

    admin = sa.make_url(os.environ[PG_ENV]).set(drivername="postgresql")
    conninfo = admin.render_as_string(hide_password=False)
    name = sql.Identifier(parsed.database or "")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS false").format(name))
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                     "WHERE datname = %s AND pid <> pg_backend_pid()", (parsed.database,))
    try:
        yield
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS true").format(name))
