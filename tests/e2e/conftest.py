"""End-to-end tests reuse the serving fixtures (a private copy of the trained home) and start
real `homeprice serve` processes."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import fresh_pg_database
from tests.serving.conftest import client, served_home, serving_settings, webhook  # noqa: F401
from tests.serving.test_server_process import free_port


@pytest.fixture(params=["sqlite", "postgresql"])
def log_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
                ) -> Iterator[str]:
    """The prediction log: SQLite in the home, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield "sqlite"
        return
    with fresh_pg_database("homeprice_e2e") as url:
        monkeypatch.setenv("HOMEPRICE_LOG_DB_URL", url)
        yield url


@contextlib.contextmanager
def running_server(home: Path, *args: str, **env: str) -> Iterator[str]:
    """`homeprice serve [args]` in a subprocess on a free port; SIGTERM on exit."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "homeprice.cli", "serve", "--port", str(port), *args],
        env=dict(os.environ, HOMEPRICE_HOME=str(home), HOMEPRICE_SERVING__RELOAD_INTERVAL_SECONDS
                 ="1", **env), stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None, "server exited"
            time.sleep(0.2)
        else:
            pytest.fail(f"homeprice serve on {base} was not ready after 60 s")
        yield base
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()


def scrape(base: str) -> dict[tuple[str, frozenset], float]:
    """One /metrics scrape on a new connection: {(sample name, labels): value}."""
    text = httpx.get(f"{base}/metrics", timeout=10).text
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def sample(metrics: dict[tuple[str, frozenset], float], name: str, **labels: str
           ) -> float | None:
    """The value of one sample of a scrape, None when absent."""
    return metrics.get((name, frozenset(labels.items())))


def wait_for(condition: object, what: str, seconds: float = 60.0) -> None:
    """Poll `condition()` until true; fail naming `what` after a generous deadline."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.25)
    pytest.fail(f"timed out after {seconds:g}s waiting for {what}")
