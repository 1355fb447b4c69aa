"""Trusted ground truth: POST /v1/{dataset}/feedback takes HOMEPRICE_FEEDBACK_TOKEN only (fail
closed when unset), checked at the edge before the body is read, failures counted and locked
out; a refused label never reaches the log nor the live statistics."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from homeprice.api import create_api
from homeprice.config import Settings
from homeprice.errors import UserInputError
from homeprice.serving.app import create_app
from tests.support.asgi import CountingReceive, call
from tests.support.bodies import CALIFORNIA
from tests.support.tokens import FEEDBACK_AUTH, FEEDBACK_TOKEN

ADMIN = "feedback-test-admin-token"
WRONG = "guess-the-feedback-token"


def feedback_rows(home: Path) -> int:
    """How many feedback rows the home's prediction log holds."""
    with sqlite3.connect(home / "predictions.db") as db:
        return db.execute("SELECT COUNT(*) FROM feedback").fetchone()[0]


def counter(client: TestClient, name: str, **labels: str) -> float:
    """The value of a metric of the app (0 when never incremented)."""
    value = client.app.state.context.metrics.registry.get_sample_value(name, labels)
    return value or 0.0


def labelled(client: TestClient) -> int:
    """Labelled champion predictions in the live A/B statistics (GET .../ab); the champion's
    statistics are absent (null) until it has a label."""
    champion = client.get("/v1/insights/california/ab").json()["decision"]["champion"]
    return champion["labelled"] if champion is not None else 0


@pytest.fixture
def guarded(serving_settings: Settings) -> TestClient:
    """A started app with the feedback token (from served_home) and an admin token."""
    settings = serving_settings.model_copy(update={"admin_token": SecretStr(ADMIN)})
    with TestClient(create_api(settings)) as client:
        yield client


@pytest.mark.parametrize("authorization", [None, f"Bearer {WRONG}", f"Basic {FEEDBACK_TOKEN}",
                                           FEEDBACK_TOKEN, f"Bearer {ADMIN}"])
def test_feedback_without_its_token_is_401_counted_and_changes_nothing(
        guarded: TestClient, served_home: Path, authorization: str | None,
        caplog: pytest.LogCaptureFixture) -> None:
    answers = guarded.post("/v1/california/predict",
                           json={"instances": [CALIFORNIA] * 3}).json()["predictions"]
    headers = {"Authorization": authorization} if authorization else {}
    with caplog.at_level(logging.WARNING, logger="homeprice.serving.security"):
        refused = [guarded.post("/v1/california/feedback", headers=headers, json={
            "prediction_id": a["prediction_id"], "actual_price": 5_000_000}) for a in answers]
    assert [r.status_code for r in refused] == [401] * 3
    assert all(r.headers["www-authenticate"] == "Bearer" for r in refused)
    reason = "missing" if authorization is None else "wrong"
    assert counter(guarded, "homeprice_feedback_auth_failures_total", reason=reason) == 3
    # Refusals are logged as feedback failures, never with what was sent.
    lines = [r.getMessage() for r in caplog.records]
    assert sum("feedback authentication failed" in line for line in lines) == 3
    assert not any(WRONG in line or FEEDBACK_TOKEN in line or ADMIN in line for line in lines)
    assert labelled(guarded) == 0
    assert feedback_rows(served_home) == 0


def test_feedback_with_its_token_is_recorded(guarded: TestClient, served_home: Path) -> None:
    pid = guarded.post("/v1/california/predict", json=CALIFORNIA).json()["prediction_id"]
    answer = guarded.post("/v1/california/feedback", headers=FEEDBACK_AUTH,
                          json={"prediction_id": pid, "actual_price": 452_600})
    assert answer.status_code == 200, answer.text
    assert labelled(guarded) == 1
    assert feedback_rows(served_home) == 1


def test_feedback_is_disabled_without_a_token(serving_settings: Settings,
                                               served_home: Path) -> None:
    settings = serving_settings.model_copy(update={"feedback_token": None})
    with TestClient(create_api(settings)) as client:
        pid = client.post("/v1/california/predict", json=CALIFORNIA).json()["prediction_id"]
        answer = client.post("/v1/california/feedback", headers=FEEDBACK_AUTH,
                             json={"prediction_id": pid, "actual_price": 452_600})
        assert answer.status_code == 403
        assert "HOMEPRICE_FEEDBACK_TOKEN" in answer.json()["detail"]
        assert labelled(client) == 0
    assert feedback_rows(served_home) == 0


def test_repeated_failures_lock_feedback_out_but_not_admin(guarded: TestClient) -> None:
    bad = {"Authorization": f"Bearer {WRONG}"}
    body = {"prediction_id": "p", "actual_price": 400_000}
    statuses = [guarded.post("/v1/california/feedback", headers=bad, json=body).status_code
                for _ in range(5)]
    assert statuses == [401] * 5
    locked = guarded.post("/v1/california/feedback", headers=FEEDBACK_AUTH, json=body)
    assert locked.status_code == 429
    assert "too many failed feedback attempts" in locked.json()["detail"]
    # Each duty keeps its own count: the admin token still works from this address.
    admin = guarded.post("/v1/admin/california/reload",
                         headers={"Authorization": f"Bearer {ADMIN}"})
    assert admin.status_code == 200


@pytest.mark.parametrize(("token", "status"), [(FEEDBACK_TOKEN, 401), (None, 403)])
def test_feedback_token_is_checked_before_the_body(settings: Settings, token: str | None,
                                                    status: int) -> None:
    update = {"feedback_token": SecretStr(token) if token else None}
    app = create_app(settings.model_copy(update=update), load_models=False)
    receive = CountingReceive(10_000_000)
    answer_status, _, _ = asyncio.run(call(app, "POST", "/v1/california/feedback",
                                           [(b"content-type", b"application/json"),
                                            (b"content-length", b"10000000")], receive))
    # Refused for its missing token (not for its size): nothing of the body was read.
    assert answer_status == status
    assert receive.calls == 0


@pytest.mark.parametrize("token", ["short", "fifteen-chars15"])
def test_a_short_feedback_token_refuses_to_start(settings: Settings, token: str) -> None:
    short = settings.model_copy(update={"feedback_token": SecretStr(token)})
    with pytest.raises(UserInputError, match=rf"HOMEPRICE_FEEDBACK_TOKEN is {len(token)} "
                                             "characters long; at least 16"):
        create_app(short, load_models=False)


def test_openapi_documents_the_feedback_bearer_scheme(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    scheme = schema["components"]["securitySchemes"]["FeedbackToken"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    for dataset in ("california", "bengaluru"):
        operation = schema["paths"][f"/v1/{dataset}/feedback"]["post"]
        assert operation["security"] == [{"FeedbackToken": []}]
        assert {"401", "403", "429"} <= set(operation["responses"])
    # Predictions stay anonymous.
    assert "security" not in schema["paths"]["/v1/california/predict"]["post"]
