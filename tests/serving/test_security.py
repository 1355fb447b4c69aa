"""Admin hardening (failed attempts logged without the token, counted, locked out per client
address; short tokens refused at start) and answers that reveal no local paths."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from homeprice.config import ServingSettings, Settings
from homeprice.errors import LakeError, UserInputError
from homeprice.serving.app import create_app
from homeprice.serving.redaction import redact
from homeprice.serving.security import TokenGate

TOKEN = "security-admin-token-42"
WRONG = "guess-the-admin-token"


def counter(client: TestClient, name: str, **labels: str) -> float:
    """The value of a metric of the app (0 when never incremented)."""
    value = client.app.state.context.metrics.registry.get_sample_value(name, labels)
    return value or 0.0


def with_token(settings: Settings, token: str = TOKEN) -> Settings:
    return settings.model_copy(update={"admin_token": SecretStr(token)})


@pytest.mark.parametrize("token", ["short", "fifteen-chars15"])
def test_a_short_admin_token_refuses_to_start(settings: Settings, token: str) -> None:
    with pytest.raises(UserInputError, match=rf"{len(token)} characters long; at least 16"):
        create_app(with_token(settings, token), load_models=False)


def test_failed_attempts_are_logged_without_the_token_counted_and_locked_out(
        settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    bad = {"Authorization": f"Bearer {WRONG}"}
    good = {"Authorization": f"Bearer {TOKEN}"}
    with TestClient(create_app(with_token(settings), load_models=False)) as client, \
            caplog.at_level(logging.WARNING, logger="homeprice.serving.security"):
        statuses = [client.post("/v1/admin/california/reload", headers=bad).status_code
                    for _ in range(5)]
        assert statuses == [401] * 5
        # Locked out now: even the right token is refused, so guessing cannot go on.
        locked = client.post("/v1/admin/california/reload", headers=good)
        assert locked.status_code == 429
        assert int(locked.headers["retry-after"]) > 0
        assert "too many failed admin attempts" in locked.json()["detail"]
        assert counter(client, "homeprice_admin_auth_failures_total", reason="wrong") == 5
        assert counter(client, "homeprice_admin_auth_failures_total", reason="locked_out") == 1
    failures = [r for r in caplog.records if "admin authentication failed" in r.getMessage()]
    assert len(failures) == 6
    assert all("testclient" in r.getMessage() for r in failures)
    assert not any(WRONG in r.getMessage() or TOKEN in r.getMessage() for r in caplog.records)


def test_lockout_is_per_address_and_ends() -> None:
    now = [0.0]
    serving = ServingSettings(admin_max_failures=3, admin_failure_window_seconds=60,
                              admin_lockout_seconds=120)
    gate = TokenGate(SecretStr(TOKEN), serving, clock=lambda: now[0])
    good, bad = f"Bearer {TOKEN}", "Bearer nope"
    check = gate.check
    for _ in range(3):
        assert check("198.51.100.1", bad, "POST", "/v1/admin/x/reload").status == 401
    assert check("198.51.100.1", good, "POST", "/v1/admin/x/reload").status == 429
    # Another address is not affected.
    assert check("198.51.100.2", good, "POST", "/v1/admin/x/reload") is None
    now[0] = 121.0
    assert check("198.51.100.1", good, "POST", "/v1/admin/x/reload") is None
    # Failures spread wider than the window never lock out.
    for minute in range(5):
        now[0] = 1000.0 + 61 * minute
        assert check("198.51.100.3", bad, "POST", "/v1/admin/x/reload").status == 401
    assert check("198.51.100.3", good, "POST", "/v1/admin/x/reload") is None


@pytest.mark.parametrize(("text", "leaked"), [
    ("v3: [Errno 2] No such file or directory: '/home/alice/.homeprice/artifacts/1/m.pkl'",
     "alice"),
    ("cannot load file:///home/alice/.homeprice/artifacts/3/abc/artifacts/model", "alice"),
    ("registry sqlite:////Users/bob/proj/.homeprice/mlflow.db is locked", "bob"),
    ("log store postgresql://carol:hunter2@db:5432/x unreachable", "hunter2"),
    (r"C:\Users\dave\homeprice\model.pkl is missing", "dave"),
    ('File "/usr/lib/python3.11/site-packages/x.py", line 3', "site-packages"),
])
def test_redaction_removes_paths_and_credentials(text: str, leaked: str) -> None:
    assert leaked not in redact(text)


@pytest.mark.parametrize("text", ["unknown dataset 'atlantis' (served: california)",
                                  "no such file: it was removed", "sqlite: database locked",
                                  "see /v1/models", "no version 9 of homeprice-california"])
def test_redaction_keeps_plain_messages(text: str) -> None:
    assert redact(text) == text


def test_error_bodies_and_models_show_no_local_paths(settings: Settings, tmp_path: Path) -> None:
    app = create_app(settings, load_models=False)
    secret_place = tmp_path / "users" / "erin" / "lake" / "clean.parquet"

    @app.get("/v1/broken")
    async def broken() -> None:
        raise LakeError(f"cannot read {secret_place}: permission denied")

    ctx = app.state.context
    ctx.store.last_errors[("california", "challenger")] = (
        f"v7: [Errno 2] No such file or directory: '{secret_place}' "
        f"(model {secret_place.parent.as_uri()}/model)")
    with TestClient(app) as client:
        error = client.get("/v1/broken")
        models = client.get("/v1/models")
    assert error.status_code == 500
    assert error.json() == {"detail": "cannot read <path>: permission denied"}
    assert models.status_code == 200
    entry = models.json()["california"]
    assert entry["registered_model"] == "homeprice-california"
    assert entry["challenger"]["error"].startswith("v7: [Errno 2] No such file or directory")
    for answer in (error, models):
        assert "erin" not in answer.text and str(tmp_path) not in answer.text
