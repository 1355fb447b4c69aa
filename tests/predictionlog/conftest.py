"""Fixtures of the prediction-log tests: each test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from homeprice.predictionlog import PredictionLog
from homeprice.predictionlog import writer as writer_module
from tests.predictionlog.test_writer_values import Clock, FlakyEngine
from tests.support.postgres import fresh_pg_database


@pytest.fixture(scope="module")
def pg_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh PostgreSQL database for the test module (named after it), dropped after."""
    module = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    with fresh_pg_database(f"homeprice_{module}") as url:
        yield url


@pytest.fixture
def sqlite_path(tmp_path: Path) -> Path:
    """Where the SQLite store lives; a module overrides it when the folder matters."""
    return tmp_path / "predictions.db"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, sqlite_path: Path) -> str:
    """The store URL: a SQLite file at `sqlite_path`, or the module's PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{sqlite_path}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def dataset() -> str:
    """A dataset name of this test alone (tests share the module's PostgreSQL database)."""
    return f"ds_{uuid.uuid4().hex[:10]}"


@pytest.fixture
def store(url: str) -> Iterator[PredictionLog]:
    """A started log with a short batching wait."""
    log = PredictionLog(url, flush_interval=0.01)
    log.start()
    try:
        yield log
    finally:
        log.close()


# The writer's tests (test_writer_values, _resume, _thread) share these two.
@pytest.fixture
def engine(tmp_path: Path) -> FlakyEngine:
    """A SQLite engine whose inserts a test can make fail (test_retention has its own)."""
    return FlakyEngine(tmp_path / "predictions.db")


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The writer's monotonic clock, at 1000 s until the test moves it."""
    fake = Clock(1000.0)
    monkeypatch.setattr(writer_module, "time", fake)
    return fake
