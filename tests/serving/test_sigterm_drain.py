"""SIGTERM with rows still queued: the server drains its prediction log before it exits.

The writer flushes every 50 ms, so a plain SIGTERM test may find nothing left to drain. Here
the test holds the database's write lock while requests flow, so answered rows pile up in the
writers' queues (seen in /metrics), then sends SIGTERM and lets go of the lock: every answered
row must be in the database, with one worker and with two.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from tests.support.bodies import BENGALURU, CALIFORNIA
from tests.support.metrics import sample, scrape
from tests.support.postgres import fresh_pg_database
from tests.support.servers import free_port, serve_command, wait_for, wait_until_up

pytestmark = pytest.mark.e2e


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def log_url(request: pytest.FixtureRequest, served_home: Path) -> Iterator[str]:
    """The prediction log database: SQLite in the home, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{served_home / 'predictions.db'}"
        return
    with fresh_pg_database("homeprice_drain") as url:
        yield url


@contextlib.contextmanager
def write_lock(log_url: str) -> Iterator[None]:
    """Hold the log table's write lock: inserts wait (PostgreSQL) or fail and retry (SQLite)."""
    if log_url.startswith("sqlite:///"):
        db = sqlite3.connect(log_url.removeprefix("sqlite:///"), isolation_level=None)
        db.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            db.execute("ROLLBACK")
            db.close()
        return
    engine = sa.create_engine(log_url)
    try:
        with engine.connect() as conn, conn.begin():
            conn.execute(sa.text("LOCK TABLE prediction_logs IN EXCLUSIVE MODE"))
            yield
    finally:
        engine.dispose()


def logged_rows(log_url: str) -> int:
    engine = sa.create_engine(log_url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT COUNT(*) FROM prediction_logs")).scalar_one()
    finally:
        engine.dispose()


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_drains_rows_that_were_still_queued(served_home: Path, log_url: str,
                                                   workers: int, tmp_path: Path) -> None:
    """Guards the drain at shutdown: the queue is shown non-empty right before SIGTERM, so a
    server that exits without draining loses rows and fails the count."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    output = (tmp_path / "serve.log").open("wb")
    env = dict(os.environ, HOMEPRICE_HOME=str(served_home), HOMEPRICE_LOG_DB_URL=log_url)
    server = subprocess.Popen(serve_command(port, "--workers", str(workers)), env=env,
                              stdout=output, stderr=subprocess.STDOUT)
    answered = 0
    lock = threading.Lock()
    stop = threading.Event()

    def send() -> None:
        nonlocal answered
        requests = [("/v1/california/predict", CALIFORNIA, 1),
                    ("/v1/bengaluru/predict", {"instances": [BENGALURU] * 3}, 3)]
        while not stop.is_set():
            for path, body, rows in requests:
                try:  # a new connection each time, so both workers get requests
                    response = httpx.post(f"{base}{path}", json=body, timeout=10)
                except httpx.HTTPError:
                    return  # the server went away mid-request: not answered
                if response.status_code == 200:
                    with lock:
                        answered += rows

    senders = [threading.Thread(target=send) for _ in range(4)]
    try:
        wait_until_up(f"{base}/readyz", server, timeout=240)
        with write_lock(log_url):
            for sender in senders:
                sender.start()
            wait_for(lambda: (sample(scrape(base), "homeprice_log_queue_depth") or 0) >= 20,
                     "answered rows to pile up in the log queue")
            server.send_signal(signal.SIGTERM)
        # The lock is gone: the draining writers can write. uvicorn re-raises the signal
        # after its graceful shutdown: -SIGTERM is a clean exit.
        assert server.wait(timeout=120) in (0, -signal.SIGTERM)
    finally:
        stop.set()
        for sender in senders:
            if sender.is_alive() or sender.ident is not None:
                sender.join()
        if server.poll() is None:
            server.kill()
        output.close()
    log = (tmp_path / "serve.log").read_text(errors="replace")
    assert answered >= 20, log[-3000:]
    assert logged_rows(log_url) == answered, log[-3000:]
