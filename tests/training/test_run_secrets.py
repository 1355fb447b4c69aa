"""A pipeline run with a log-database password, a webhook token and an admin token configured
writes none of them to the MLflow store, its artifacts, the lake or any log line; nor does a
failing webhook."""

from __future__ import annotations

import http.server
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from homeprice.config import load_settings
from homeprice.monitoring.notify import notify
from homeprice.pipeline import run_pipeline
from tests.support.servers import free_port

PASSWORD = "Pa55w0rd-db-s3cret"  # noqa: S105 - test values
HOOK_TOKEN = "T0KEN-in-the-webhook-path"
QUERY_TOKEN = "querytoken-s3cret"
ADMIN = "admin-token-s3cret-value"
SECRETS = (PASSWORD, HOOK_TOKEN, QUERY_TOKEN, ADMIN)


def _assert_no_secret(text: str, where: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} leaked into {where}"


@pytest.fixture
def failing_webhook() -> Iterator[str]:
    """A receiver on 127.0.0.1 answering every POST with 500; its URL carries the tokens."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(500)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks/{HOOK_TOKEN}?token={QUERY_TOKEN}"
    server.shutdown()
    server.server_close()


@pytest.mark.slow
def test_no_secret_in_run_artifacts_store_or_logs(
        home: Path, monkeypatch: pytest.MonkeyPatch, failing_webhook: str,
        caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HOMEPRICE_PLUGINS", "tests.support.tiny")
    monkeypatch.setenv("HOMEPRICE_SERVING__DATASETS", '["tiny"]')
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("HOMEPRICE_LOG_DB_URL",
                       f"postgresql://homeprice:{PASSWORD}@127.0.0.1:{free_port()}/log")
    monkeypatch.setenv("HOMEPRICE_WEBHOOK_URL", failing_webhook)
    monkeypatch.setenv("HOMEPRICE_ADMIN_TOKEN", ADMIN)
    caplog.set_level(logging.DEBUG)
    settings = load_settings()

    [run] = run_pipeline("tiny", settings, "fast")
    assert run.training.version == "1"
    # The webhook failure path: every attempt fails and is logged.
    assert notify(settings, {"event": "test"}, attempts=2, first_delay=0.01) is False
    assert "webhook http://127.0.0.1:" in caplog.text and "giving up" in caplog.text

    files = [path for path in home.rglob("*") if path.is_file()]
    assert any(path.name == "resolved.json" for path in files)
    assert any(path.name == "mlflow.db" for path in files)
    for path in files:
        _assert_no_secret(path.read_bytes().decode("utf-8", "replace"), str(path))
    _assert_no_secret(caplog.text, "log lines")
    out, err = capfd.readouterr()
    _assert_no_secret(out + err, "stdout/stderr")
