"""One lock per registered model around alias moves: a PostgreSQL advisory lock when the MLflow
store is on PostgreSQL, a file lock beside a SQLite or file store otherwise."""

from __future__ import annotations

import contextlib
import hashlib
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from homeprice.errors import ConflictError

# Long enough to wait out another move (a few registry round trips), short enough that a
# wedged holder surfaces as a clear 409 instead of a hung request.
LOCK_TIMEOUT_SECONDS = 30.0
_POLL_SECONDS = 0.05


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for a registered model name."""
    digest = hashlib.blake2b(f"homeprice-alias:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _lock_file(uri: str, name: str) -> Path:
    """The lock file beside the store; for a remote (http) store one in the temp folder, which
    serialises the movers on this machine only."""
    if uri.startswith("sqlite:///"):
        folder = Path(uri.removeprefix("sqlite:///")).parent
    elif uri.startswith("file:"):
        folder = Path(uri.removeprefix("file://").removeprefix("file:"))
    elif "://" not in uri:
        folder = Path(uri)
    else:
        folder = Path(tempfile.gettempdir())
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f".{name}.alias.lock"


@contextlib.contextmanager
def _file_lock(path: Path, name: str, timeout: float) -> Iterator[None]:
    from filelock import FileLock, Timeout

    lock = FileLock(str(path))
    try:
        lock.acquire(timeout=timeout)
    except Timeout:
        raise ConflictError(f"another alias move of {name} holds {path} for over "
                            f"{timeout:.0f}s; try again") from None
    try:
        yield
    finally:
        lock.release()


@contextlib.contextmanager
def _pg_lock(uri: str, name: str, timeout: float) -> Iterator[None]:
    import psycopg
    import sqlalchemy as sa

    conninfo = sa.make_url(uri).set(drivername="postgresql").render_as_string(
        hide_password=False)
    key = lock_key(name)
    # A session lock on a dedicated connection: MLflow's own writes go through its pool, so a
    # transaction-scoped lock there would not span them.
    with psycopg.connect(conninfo, autocommit=True) as conn:
        deadline = time.monotonic() + timeout
        while not conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0]:
            if time.monotonic() > deadline:
                raise ConflictError(f"another alias move of {name} holds its PostgreSQL "
                                    f"advisory lock for over {timeout:.0f}s; try again")
            time.sleep(_POLL_SECONDS)
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (key,))


def alias_lock(uri: str, name: str, timeout: float = LOCK_TIMEOUT_SECONDS
               ) -> contextlib.AbstractContextManager[None]:
    """Hold the alias lock of registered model `name` in the MLflow store at `uri`.

    ConflictError when another mover keeps it for over `timeout` seconds.
    """
    if uri.startswith(("postgresql", "postgres:")):
        return _pg_lock(uri, name, timeout)
    return _file_lock(_lock_file(uri, name), name, timeout)
