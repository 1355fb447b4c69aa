"""A real `homeprice serve` process: requests, then SIGTERM; every answered row is logged."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from tests.support.bodies import BENGALURU, CALIFORNIA
from tests.support.postgres import fresh_pg_database
from tests.support.servers import free_port

pytestmark = pytest.mark.e2e


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def log_url(request: pytest.FixtureRequest, served_home: Path) -> Iterator[str]:
    """The prediction log database: SQLite in the home, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{served_home / 'predictions.db'}"
        return
    with fresh_pg_database("homeprice_serve") as url:
        yield url


def test_sigterm_drains_the_log(served_home: Path, log_url: str) -> None:
    port = free_port()
    env = dict(os.environ, HOMEPRICE_HOME=str(served_home), HOMEPRICE_LOG_DB_URL=log_url)
    server = subprocess.Popen(
        [sys.executable, "-m", "homeprice.cli", "serve", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None, server.stdout.read().decode()
            time.sleep(0.2)
        else:
            pytest.fail("server never became ready")

        answered = 0
        lock = threading.Lock()
        stop = threading.Event()

        def send() -> None:
            nonlocal answered
            with httpx.Client(base_url=base, timeout=5) as client:
                requests = [("/v1/california/predict", CALIFORNIA, 1),
                            ("/v1/bengaluru/predict", {"instances": [BENGALURU] * 3}, 3)]
                while not stop.is_set():
                    for path, body, rows in requests:
                        try:
                            response = client.post(path, json=body)
                        except httpx.HTTPError:
                            return  # the server went away mid-request: not answered
                        if response.status_code == 200:
                            with lock:
                                answered += rows

        senders = [threading.Thread(target=send) for _ in range(4)]
        for sender in senders:
            sender.start()
        time.sleep(2.0)
        server.send_signal(signal.SIGTERM)
        # uvicorn re-raises the signal after its graceful shutdown: -SIGTERM is a clean exit.
        assert server.wait(timeout=60) in (0, -signal.SIGTERM)
        stop.set()
        for sender in senders:
            sender.join()
    finally:
        if server.poll() is None:
            server.kill()
    assert answered > 50
    engine = sa.create_engine(log_url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT COUNT(*) FROM prediction_logs")).scalar_one()
    engine.dispose()
    assert rows == answered
