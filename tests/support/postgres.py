"""A throwaway PostgreSQL database per test, from HOMEPRICE_TEST_PG_URL (skips when unset)."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

import pytest

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
