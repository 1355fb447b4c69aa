"""The prediction log's database: URL checks (SQLite file or PostgreSQL) and engine setup."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from homeprice.errors import UserInputError


def store_url(url: str) -> URL:
    """The parsed log store URL; plain postgresql:// is pointed at the psycopg 3 driver."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise UserInputError(f"prediction log URL is not a database URL: {exc}") from exc
    if parsed.drivername in ("postgresql", "postgres"):
        # SQLAlchemy's bare "postgresql" means psycopg2, which homeprice does not install.
        parsed = parsed.set(drivername="postgresql+psycopg")
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise UserInputError(f"prediction log URL must be sqlite:/// or postgresql://, "
                             f"got {parsed.drivername}://")
    if backend == "sqlite" and parsed.database in (None, "", ":memory:"):
        # Each pooled connection would see its own empty in-memory database.
        raise UserInputError("prediction log URL must name a SQLite file, not an in-memory "
                             "database (the writer thread uses its own connection)")
    return parsed


def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    """Put each new SQLite connection in WAL mode with synchronous=NORMAL."""
    # WAL lets readers (feedback checks, monitoring queries) run while the writer commits;
    # NORMAL stays safe across application crashes and only risks the last commits on power loss.
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def create_engine(url: URL) -> Engine:
    """An engine for the store: SQLite with its folder created, or PostgreSQL with pre-ping."""
    if url.get_backend_name() == "sqlite":
        Path(url.database or "").parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    connect_args: dict[str, Any] = {}
    if "connect_timeout" not in url.query:
        # A readiness probe must fail, not hang, when the server is unreachable.
        connect_args["connect_timeout"] = 10
    # pre-ping: a server restart must not fail the first batch written after it.
    return sa.create_engine(url, pool_pre_ping=True, connect_args=connect_args)


def reason(exc: SQLAlchemyError) -> object:
    """The driver's message of a database error (without the SQL and parameters)."""
    return getattr(exc, "orig", None) or exc
