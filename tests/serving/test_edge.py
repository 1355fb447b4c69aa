"""The edge guard (serving/edge.py) in front of the real app: oversized bodies refused before
anything reads them, the admin token checked before the body, security headers on every
answer."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from homeprice.api import create_api
from homeprice.config import Settings
from homeprice.serving.app import create_app
from homeprice.serving.limits import BodyLimits, route_class
from homeprice.serving.security import API_CSP, REPORT_CSP
from tests.support.asgi import CountingReceive, call

TOKEN = "edge-admin-token-0123"
LIMIT = 64 * 1024


def small_limits(settings: Settings, **extra: object) -> Settings:
    """`settings` with a 64 KiB predict limit (and any other serving overrides)."""
    serving = settings.serving.model_copy(update={"max_predict_body_bytes": LIMIT, **extra})
    return settings.model_copy(update={"serving": serving, "admin_token": SecretStr(TOKEN)})


def test_route_classes_and_the_default_predict_limit(settings: Settings) -> None:
    assert [route_class(p) for p in ("/v1/california/predict", "/v1/bengaluru/feedback",
                                     "/v1/admin/california/reload", "/v1/california/explain",
                                     "/v1/insights/california/ab", "/healthz")] == [
        "predict", "feedback", "admin", "other", "other", "other"]
    limits = BodyLimits.from_settings(settings.serving)
    # A full legal batch fits; 40 MB does not.
    assert limits.predict == settings.serving.max_batch * settings.serving.max_record_bytes + 4096
    assert limits.predict < 40_000_000


def test_content_length_over_the_limit_is_413_without_reading(settings: Settings) -> None:
    app = create_app(small_limits(settings), load_models=False)
    receive = CountingReceive(40_000_000)
    status, headers, body = asyncio.run(call(app, "POST", "/v1/california/predict",
                                             [(b"content-type", b"application/json"),
                                              (b"content-length", b"40000000")], receive))
    assert status == 413
    assert f"limit of {LIMIT} bytes" in json.loads(body)["detail"]
    assert receive.calls == 0
    assert headers["connection"] == "close"


def test_a_chunked_body_stops_at_the_limit(settings: Settings) -> None:
    app = create_app(small_limits(settings), load_models=False)
    pulled = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal pulled
        for _ in range(40_000_000 // 8192):
            pulled += 8192
            yield b"[" * 8192

    async def post() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            # An async generator body goes out chunked: no Content-Length to refuse it by.
            return await client.post("/v1/california/predict", content=chunks(),
                                     headers={"content-type": "application/json"})

    answer = asyncio.run(post())
    assert answer.status_code == 413, answer.text
    assert f"limit of {LIMIT} bytes" in answer.json()["detail"]
    # The server pulled at most one chunk past the limit, not the 40 MB offered.
    assert pulled <= LIMIT + 8192


@pytest.mark.parametrize("authorization", [None, b"Bearer wrong", b"Basic " + TOKEN.encode()])
def test_admin_with_a_wrong_token_is_refused_before_the_body(
        settings: Settings, authorization: bytes | None) -> None:
    app = create_app(small_limits(settings), load_models=False)
    receive = CountingReceive(10_000_000)
    headers = [(b"content-type", b"application/json"), (b"content-length", b"10000000")]
    if authorization:
        headers.append((b"authorization", authorization))
    status, answer_headers, _ = asyncio.run(call(app, "POST", "/v1/admin/california/promote",
                                                 headers, receive))
    assert status == 401
    assert answer_headers["www-authenticate"] == "Bearer"
    assert receive.calls == 0


def test_admin_disabled_is_403_before_the_body(settings: Settings) -> None:
    app = create_app(settings, load_models=False)
    receive = CountingReceive(10_000_000)
    status, _, _ = asyncio.run(call(app, "POST", "/v1/admin/california/promote",
                                    [(b"content-length", b"10000000")], receive))
    assert status == 403 and receive.calls == 0


def test_a_body_within_the_limit_still_reaches_the_app(settings: Settings) -> None:
    with TestClient(create_app(small_limits(settings), load_models=False)) as client:
        answer = client.post("/v1/california/predict", json={"instances": []})
    # Parsed and validated by the route (not refused at the edge).
    assert answer.status_code == 422, answer.text


def test_security_headers_on_every_answer(settings: Settings) -> None:
    with TestClient(create_api(settings, load_models=False)) as client:
        answers = [client.get("/healthz"), client.get("/v1/models"),
                   client.post("/v1/california/predict", json={}),
                   client.get("/nowhere"), client.get("/openapi.json")]
        report = client.get("/v1/insights/california/drift/report")
        docs = client.get("/docs")
    for answer in answers:
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["referrer-policy"] == "no-referrer"
        assert answer.headers["content-security-policy"] == API_CSP
        assert answer.headers["cache-control"] == "no-store"
    # No report yet (404), but the report's route answers with the report's policy.
    assert report.headers["content-security-policy"] == REPORT_CSP
    assert "connect-src 'none'" in REPORT_CSP and "frame-ancestors 'none'" in REPORT_CSP
    assert "https://cdn.jsdelivr.net" in docs.headers["content-security-policy"]


def test_an_unexpected_error_answers_500_with_the_headers_and_no_traceback(
        settings: Settings) -> None:
    app = create_app(settings, load_models=False)

    @app.get("/v1/crash")
    async def crash() -> None:
        raise RuntimeError(f"boom in {settings.home.resolve()}")

    with TestClient(app, raise_server_exceptions=False) as client:
        answer = client.get("/v1/crash")
    assert answer.status_code == 500
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["content-security-policy"] == API_CSP
    assert "boom" not in answer.text and "Traceback" not in answer.text
