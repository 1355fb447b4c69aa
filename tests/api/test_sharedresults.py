"""Costly insight views are shared: one computation per TTL however many callers, a cap on
concurrent computations (503 with Retry-After beyond it), and the optional read token."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from homeprice.api import create_api
from homeprice.api.sharedresults import SharedResults
from homeprice.config import Settings
from homeprice.errors import BusyError


def test_concurrent_callers_share_one_computation_then_the_cache() -> None:
    calls = []

    def compute() -> int:
        calls.append(1)
        time.sleep(0.2)
        return 42

    async def flood() -> list[int]:
        shared = SharedResults(ttl_seconds=60, max_concurrent=1)
        first = await asyncio.gather(*(shared.get("ab", "california", compute)
                                       for _ in range(50)))
        return [*first, await shared.get("ab", "california", compute)]

    assert asyncio.run(flood()) == [42] * 51
    assert len(calls) == 1


def test_beyond_the_cap_callers_are_refused_at_once() -> None:
    release = threading.Event()
    computed: list[str] = []
    busy: list[str] = []

    def slow() -> str:
        release.wait(10)
        return "done"

    async def scenario() -> tuple[str, float]:
        shared = SharedResults(ttl_seconds=5, max_concurrent=2, on_compute=computed.append,
                               on_busy=busy.append)
        running = [asyncio.ensure_future(shared.get("traffic", minutes, slow))
                   for minutes in (60, 120)]
        await asyncio.sleep(0.05)
        started = time.perf_counter()
        with pytest.raises(BusyError) as refused:
            await shared.get("traffic", 180, slow)
        waited = time.perf_counter() - started
        release.set()
        assert await asyncio.gather(*running) == ["done", "done"]
        assert refused.value.retry_after == 5 and refused.value.http_status == 503
        return "ok", waited

    outcome, waited = asyncio.run(scenario())
    assert outcome == "ok" and waited < 2.0  # refused at once, not after the 2 running
    assert computed == ["traffic", "traffic"] and busy == ["traffic"]


def test_failures_are_not_cached_and_expired_results_are_recomputed() -> None:
    results = iter([RuntimeError("log unreachable"), 1, 2])

    def compute() -> int:
        value = next(results)
        if isinstance(value, Exception):
            raise value
        return value

    async def scenario() -> list[int]:
        shared = SharedResults(ttl_seconds=0.1, max_concurrent=1)
        with pytest.raises(RuntimeError):
            await shared.get("ab", "x", compute)
        first = await shared.get("ab", "x", compute)
        cached = await shared.get("ab", "x", compute)
        await asyncio.sleep(0.15)
        return [first, cached, await shared.get("ab", "x", compute)]

    assert asyncio.run(scenario()) == [1, 1, 2]


def test_a_read_token_guards_the_insights_when_set(settings: Settings) -> None:
    read, admin = "reader-token-0123456", "admin-token-0123456789"
    serving = settings.serving.model_copy(update={"read_token": SecretStr(read)})
    guarded = settings.model_copy(update={"serving": serving, "admin_token": SecretStr(admin)})
    with TestClient(create_api(guarded, load_models=False)) as client:
        url = "/v1/insights/california/quality"
        assert client.get(url).status_code == 401
        assert client.get(url, headers={"Authorization": "Bearer wrong"}).status_code == 401
        # Authorised: past the gate to the view (no report in a fresh home: 404).
        for token in (read, admin):
            assert client.get(url, headers={"Authorization": f"Bearer {token}"}
                              ).status_code == 404
        # Predictions and health stay anonymous.
        assert client.get("/healthz").status_code == 200
    with TestClient(create_api(settings, load_models=False)) as anonymous:
        assert anonymous.get("/v1/insights/california/quality").status_code == 404
