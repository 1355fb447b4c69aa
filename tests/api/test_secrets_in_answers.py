"""No API answer carries the log database's password, the webhook token or the admin token,
with a real PostgreSQL log whose URL has a password."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from homeprice import tracking
from homeprice.api import create_api
from homeprice.config import load_settings
from homeprice.datasets import get_dataset
from homeprice.pipeline import run_pipeline
from tests.support.postgres import fresh_pg_database

PASSWORD = "Pa55w0rd-api-s3cret"  # noqa: S105 - test values
HOOK_TOKEN = "T0KEN-api-webhook-path"
ADMIN = "admin-token-api-s3cret"
SECRETS = (PASSWORD, HOOK_TOKEN, ADMIN)


@pytest.mark.slow
@pytest.mark.postgres
def test_no_secret_in_any_answer_or_log_line(home: Path, monkeypatch: pytest.MonkeyPatch,
                                             caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("HOMEPRICE_PLUGINS", "tests.support.tiny")
    monkeypatch.setenv("HOMEPRICE_SERVING__DATASETS", '["tiny"]')
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    # The test server trusts local connections: any password logs in, so it can be a secret.
    with fresh_pg_database("homeprice_secrets") as url:
        with_password = sa.make_url(url).set(password=PASSWORD).render_as_string(
            hide_password=False)
        monkeypatch.setenv("HOMEPRICE_LOG_DB_URL", with_password)
        monkeypatch.setenv("HOMEPRICE_WEBHOOK_URL", f"https://hooks.example.org/{HOOK_TOKEN}")
        monkeypatch.setenv("HOMEPRICE_ADMIN_TOKEN", ADMIN)
        caplog.set_level(logging.DEBUG)
        settings = load_settings()
        run_pipeline("tiny", settings, "fast")
        tracking.configure(settings)
        example = get_dataset("tiny").request_example
        with TestClient(create_api(settings)) as client:
            answers = [
                client.post("/v1/tiny/predict", json=example),
                client.post("/v1/tiny/predict", json=example | {"area": "not a number"}),
                client.post("/v1/nowhere/predict", json=example),
                client.post("/v1/admin/tiny/reload", headers={"Authorization": "Bearer wrong"}),
                client.post("/v1/admin/tiny/reload", headers={"Authorization": f"Bearer {ADMIN}"}),
                *(client.get(path) for path in (
                    "/healthz", "/readyz", "/metrics", "/v1/models", "/openapi.json",
                    "/v1/insights/tiny/models", "/v1/insights/tiny/ab",
                    "/v1/insights/tiny/traffic", "/v1/insights/tiny/drift",
                    "/v1/insights/tiny/quality", "/v1/insights/tiny/locations")),
            ]
    assert answers[0].status_code == 200, answers[0].text
    assert answers[4].status_code == 200, answers[4].text
    for answer in answers:
        text = answer.text + " ".join(f"{k}: {v}" for k, v in answer.headers.items())
        for secret in SECRETS:
            assert secret not in text, f"{secret!r} in the answer to {answer.request.url}"
    for secret in SECRETS:
        assert secret not in caplog.text, f"{secret!r} in a log line"
