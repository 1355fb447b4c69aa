"""Fixtures of the prediction-log tests: each test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from homeprice.predictionlog import PredictionLog
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
