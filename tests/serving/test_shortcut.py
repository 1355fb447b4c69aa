"""The predict shortcut (serving/shortcut.py): plainly valid single-home requests answered at
the edge exactly as the FastAPI route answers them, and everything else left to the route."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from homeprice.api import create_api
from homeprice.config import Settings
from homeprice.predictionlog.schema import prediction_logs
from homeprice.serving import shortcut as shortcut_module
from homeprice.serving.shortcut import MAX_CLIENT_ID, PredictShortcut, _plain_headers
from tests.support.bodies import CALIFORNIA

PATH = "/v1/california/predict"
JSON = "application/json"
# Valid JSON the route accepts, but not "plain": the route answers it (FastAPI reads any
# application/*+json or a charset parameter as JSON too).
ROUTE_TYPE = "application/json; charset=utf-8"
# Headers of an answer that must not differ between the shortcut and the route.
KEPT_HEADERS = ("content-type", "content-length", "x-content-type-options", "x-frame-options",
                "referrer-policy", "cache-control", "content-security-policy")
INVALID_BODIES: list[Any] = [
    {**CALIFORNIA, "median_income": "8.3"},            # a numeric text
    {**CALIFORNIA, "median_income": True},             # a boolean
    {**CALIFORNIA, "ocean_proximity": "ON THE MOON"},  # not a category
    {**CALIFORNIA, "latitude": 95.0},                  # out of range
    {**CALIFORNIA, "bedrooms_typo": 3},                # an unknown field
    {k: v for k, v in CALIFORNIA.items() if k != "median_income"},  # a missing field
    [CALIFORNIA],                                      # not an object
    {"instances": []},                                 # an empty batch
    {"instances": [CALIFORNIA, {**CALIFORNIA, "latitude": 95.0}]},  # a batch, one bad home
    {"instances": [CALIFORNIA], "extra": 1},           # a batch with an unknown field
    {"instances": CALIFORNIA},                         # instances not a list
]


def scope(headers: list[tuple[bytes, bytes]]) -> dict:
    return {"type": "http", "method": "POST", "path": PATH, "headers": headers}


@pytest.mark.parametrize(("headers", "expected"), [
    ([(b"content-type", b"application/json")], None),
    ([(b"content-type", b"Application/JSON")], None),
    ([(b"content-type", b"application/json"), (b"x-client-id", b"alice")], "alice"),
    ([(b"content-type", b"application/json"), (b"x-client-id", b"")], ""),
    ([(b"content-type", b"application/json"),
      (b"x-client-id", b"x" * MAX_CLIENT_ID)], "x" * MAX_CLIENT_ID),
    ([(b"content-type", b"application/json"),
      (b"x-client-id", b"x" * (MAX_CLIENT_ID + 1))], False),
    ([(b"content-type", b"application/json"), (b"x-client-id", b"a"),
      (b"x-client-id", b"b")], False),
    ([(b"content-type", b"application/json"), (b"content-type", b"application/json")], False),
    ([(b"content-type", b"application/json; charset=utf-8")], False),
    ([(b"content-type", b"application/merge-patch+json")], False),
    ([(b"content-type", b"text/plain")], False),
    ([], False),
])
def test_only_plain_headers_take_the_shortcut(headers: list, expected: object) -> None:
    assert _plain_headers(scope(headers)) == expected


@pytest.fixture
def answered_here(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """What PredictShortcut.answer returned for each request it was asked about."""
    results: list[bool] = []
    original = PredictShortcut.answer

    async def spy(self: PredictShortcut, *args: Any) -> bool:
        result = await original(self, *args)
        results.append(result)
        return result

    monkeypatch.setattr(shortcut_module.PredictShortcut, "answer", spy)
    return results


@pytest.fixture
def app(serving_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_api(serving_settings)) as client:
        yield client


def logged(client: TestClient, prediction_id: str) -> dict[str, Any]:
    """The prediction log row of `prediction_id`, without what differs per request."""
    context = client.app.state.context  # type: ignore[attr-defined]
    assert context.log.flush(10.0)
    engine = sa.create_engine(context.settings.log_url)
    try:
        with engine.connect() as connection:
            row = connection.execute(sa.select(prediction_logs).where(
                prediction_logs.c.prediction_id == prediction_id)).mappings().one()
    finally:
        engine.dispose()
    return {k: v for k, v in row.items()
            if k not in ("prediction_id", "request_id", "ts", "latency_ms")}


def samples(client: TestClient) -> dict[tuple[str, tuple], float]:
    """Every labelled sample of the request, prediction and latency-count metrics."""
    registry = client.app.state.context.metrics.registry  # type: ignore[attr-defined]
    out = {}
    for metric in registry.collect():
        for sample in metric.samples:
            if sample.name in ("homeprice_requests_total", "homeprice_predictions_total",
                               "homeprice_request_latency_seconds_count"):
                out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def post(client: TestClient, body: Any, content_type: str, **headers: str) -> Any:
    return client.post(PATH, content=json.dumps(body),
                       headers={"content-type": content_type, **headers})


def test_the_shortcut_answers_logs_and_counts_as_the_route_does(
        app: TestClient, answered_here: list[bool]) -> None:
    before = samples(app)
    fast = post(app, CALIFORNIA, JSON, **{"x-client-id": "client-7"})
    after_fast = samples(app)
    routed = post(app, CALIFORNIA, ROUTE_TYPE, **{"x-client-id": "client-7"})
    after_route = samples(app)
    assert answered_here == [True, False]

    assert fast.status_code == routed.status_code == 200
    assert {h: fast.headers.get(h) for h in KEPT_HEADERS} == {
        h: routed.headers.get(h) for h in KEPT_HEADERS}
    fast_body, routed_body = fast.json(), routed.json()
    assert fast_body.keys() == routed_body.keys()
    assert fast_body.pop("prediction_id") != routed_body.pop("prediction_id")
    assert fast_body == routed_body
    assert logged(app, fast.json()["prediction_id"]) == logged(app, routed.json()["prediction_id"])
    assert logged(app, fast.json()["prediction_id"])["client_id"] == "client-7"
    # Each path moved the same counters by the same amounts.
    moved_fast = {k: v - before.get(k, 0.0) for k, v in after_fast.items()
                  if v != before.get(k, 0.0)}
    moved_route = {k: v - after_fast.get(k, 0.0) for k, v in after_route.items()
                   if v != after_fast.get(k, 0.0)}
    assert moved_fast == moved_route and moved_fast


@pytest.mark.parametrize("body", INVALID_BODIES)
def test_invalid_bodies_get_the_routes_own_422(serving_settings: Settings, body: Any,
                                               answered_here: list[bool]) -> None:
    with TestClient(create_api(serving_settings)) as client:
        with_shortcut = post(client, body, JSON)
    without = create_api(serving_settings)
    without.shortcut = None  # type: ignore[attr-defined]
    with TestClient(without) as client:
        route_only = post(client, body, JSON)
    assert answered_here == [False]
    assert with_shortcut.status_code == route_only.status_code == 422
    assert with_shortcut.json() == route_only.json()


@pytest.mark.parametrize("body", [b"{not json", b"\xff\xfe{}", b'{"a": NaN}', b""])
def test_unparseable_bodies_are_left_to_the_route(serving_settings: Settings, body: bytes,
                                                  answered_here: list[bool]) -> None:
    with TestClient(create_api(serving_settings)) as client:
        with_shortcut = client.post(PATH, content=body, headers={"content-type": JSON})
    without = create_api(serving_settings)
    without.shortcut = None  # type: ignore[attr-defined]
    with TestClient(without) as client:
        route_only = client.post(PATH, content=body, headers={"content-type": JSON})
    assert answered_here == [False]
    assert with_shortcut.status_code == route_only.status_code
    assert with_shortcut.json() == route_only.json()


def test_a_batch_is_answered_logged_and_counted_as_the_route_does(
        app: TestClient, answered_here: list[bool]) -> None:
    inland = {**CALIFORNIA, "ocean_proximity": "inland", "total_bedrooms": None}
    body = {"instances": [CALIFORNIA, inland, CALIFORNIA]}
    before = samples(app)
    fast = post(app, body, JSON)
    after_fast = samples(app)
    routed = post(app, body, ROUTE_TYPE)
    after_route = samples(app)
    assert answered_here == [True, False]
    assert fast.status_code == routed.status_code == 200
    fast_rows, routed_rows = fast.json()["predictions"], routed.json()["predictions"]
    fast_ids = [row.pop("prediction_id") for row in fast_rows]
    routed_ids = [row.pop("prediction_id") for row in routed_rows]
    assert fast_rows == routed_rows and len(set(fast_ids + routed_ids)) == 6
    assert [logged(app, i) for i in fast_ids] == [logged(app, i) for i in routed_ids]
    moved_fast = {k: v - before.get(k, 0.0) for k, v in after_fast.items()
                  if v != before.get(k, 0.0)}
    moved_route = {k: v - after_fast.get(k, 0.0) for k, v in after_route.items()
                   if v != after_fast.get(k, 0.0)}
    assert moved_fast == moved_route and moved_fast


def test_an_oversized_batch_and_long_client_ids_go_to_the_route(
        app: TestClient, answered_here: list[bool]) -> None:
    limit = app.app.state.context.settings.serving.max_batch  # type: ignore[attr-defined]
    too_many = post(app, {"instances": [CALIFORNIA] * (limit + 1)}, JSON)
    assert too_many.status_code == 413 and f"limit of {limit}" in too_many.text
    long_id = post(app, CALIFORNIA, JSON, **{"x-client-id": "x" * (MAX_CLIENT_ID + 1)})
    assert long_id.status_code == 422 and "x-client-id" in long_id.text
    assert answered_here == [False, False]


def test_no_champion_is_the_routes_503(serving_settings: Settings,
                                       answered_here: list[bool]) -> None:
    answers = []
    for shortcut in (True, False):
        app: FastAPI = create_api(serving_settings, load_models=False)
        if not shortcut:
            app.shortcut = None  # type: ignore[attr-defined]
        with TestClient(app) as client:
            answer = post(client, CALIFORNIA, JSON)
            counted = client.app.state.context.metrics.registry.get_sample_value(
                "homeprice_requests_total", {"dataset": "california", "endpoint": "predict",
                                             "variant": "", "status": "503"})
        answers.append((answer.status_code, answer.json(), counted))
    assert answered_here == [True]
    assert answers[0] == answers[1]
    assert answers[0][0] == 503 and answers[0][2] == 1.0


def test_a_body_in_chunks_is_answered_and_one_over_the_limit_is_413(
        serving_settings: Settings, answered_here: list[bool]) -> None:
    app = create_api(serving_settings)
    body = json.dumps(CALIFORNIA).encode()
    limit = serving_settings.serving.predict_body_bytes

    async def run(chunks: list[bytes]) -> tuple[int, bytes]:
        messages = [{"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
                    for i, chunk in enumerate(chunks)]
        answer: dict = {"body": b""}

        async def receive() -> dict:
            return messages.pop(0) if messages else {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
            else:
                answer["body"] += message.get("body", b"")

        request = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                   "method": "POST", "scheme": "http", "path": PATH, "raw_path": PATH.encode(),
                   "query_string": b"", "root_path": "",
                   "headers": [(b"content-type", b"application/json")],
                   "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000), "app": app}
        await app(request, receive, send)
        return answer["status"], answer["body"]

    with TestClient(app):  # started: models loaded, log running
        status, content = asyncio.run(run([body[:10], body[10:40], body[40:]]))
        assert status == 200 and json.loads(content)["variant"] == "champion"
        status, content = asyncio.run(run([b" " * (limit // 2 + 1)] * 2))
        assert status == 413 and f"limit of {limit} bytes" in json.loads(content)["detail"]
    assert answered_here == [True]
