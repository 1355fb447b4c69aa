"""Shared fixtures: a temporary HOMEPRICE_HOME and copies of the real sample data."""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from homeprice.config import Settings, load_settings
from homeprice.datasets.base import SAMPLES_DIR

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def real_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A temp copy of ../shared/data (the bundled samples when it is absent); never modified."""
    source = SHARED_DATA if SHARED_DATA.is_dir() else SAMPLES_DIR
    target = tmp_path_factory.mktemp("data")
    for dataset in ("california", "bengaluru"):
        shutil.copytree(source / dataset, target / dataset)
        for path in (target / dataset).iterdir():
            path.chmod(0o644)
    return target


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, real_data_dir: Path) -> Path:
    """A fresh HOMEPRICE_HOME, with HOMEPRICE_DATA_DIR on the copied real data."""
    path = tmp_path / "home"
    monkeypatch.setenv("HOMEPRICE_HOME", str(path))
    monkeypatch.setenv("HOMEPRICE_DATA_DIR", str(real_data_dir))
    for name in ("HOMEPRICE_LAKE_URL", "HOMEPRICE_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    return path


@pytest.fixture
def settings(home: Path) -> Settings:
    """Settings bound to the temporary home."""
    return load_settings()


def files_under(path: Path) -> list[Path]:
    """Every file below `path` (empty when it does not exist)."""
    return sorted(p for p in path.rglob("*") if p.is_file()) if path.exists() else []


@pytest.fixture(scope="session")
def trained_home(tmp_path_factory: pytest.TempPathFactory, real_data_dir: Path) -> Path:
    """A HOMEPRICE_HOME where the fast-budget pipeline ran for both datasets (built once)."""
    from homeprice.pipeline import run_pipeline

    path = tmp_path_factory.mktemp("trained") / "home"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOMEPRICE_HOME", str(path))
        patch.setenv("HOMEPRICE_DATA_DIR", str(real_data_dir))
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        run_pipeline("all", load_settings(), "fast")
    return path


@pytest.fixture
def trained(trained_home: Path, monkeypatch: pytest.MonkeyPatch, real_data_dir: Path) -> Settings:
    """Settings bound to the trained home (do not change its registry in tests)."""
    monkeypatch.setenv("HOMEPRICE_HOME", str(trained_home))
    monkeypatch.setenv("HOMEPRICE_DATA_DIR", str(real_data_dir))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return load_settings()


PG_ENV = "HOMEPRICE_TEST_PG_URL"


@contextlib.contextmanager
def fresh_pg_database(prefix: str) -> Iterator[str]:
    """A new PostgreSQL database (postgresql+psycopg:// URL), dropped afterwards.

    Skips the test when HOMEPRICE_TEST_PG_URL is unset (CI sets it).
    """
    admin = os.environ.get(PG_ENV)
    if not admin:
        pytest.skip(f"{PG_ENV} is not set: no PostgreSQL server to test against")
    import psycopg
    import sqlalchemy as sa
    from psycopg import sql

    admin_url = sa.make_url(admin).set(drivername="postgresql")
    conninfo = admin_url.render_as_string(hide_password=False)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield admin_url.set(drivername="postgresql+psycopg", database=name).render_as_string(
            hide_password=False)
    finally:
        # FORCE: pooled sessions (MLflow's, a server's) may still be open.
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                         .format(sql.Identifier(name)))
