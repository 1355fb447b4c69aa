"""The edge guard in a real `homeprice serve`: a 40 MB body is refused from its headers at
once, and a flood of costly insight calls neither multiplies their computations nor slows
/predict materially."""

from __future__ import annotations

import socket
import statistics
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.support.bodies import CALIFORNIA
from tests.support.metrics import sample, scrape
from tests.support.servers import running_server

pytestmark = pytest.mark.e2e

# Generous for a loaded 2-core CI machine; the refusal takes milliseconds.
SECONDS = 2.0


def test_a_40_mb_body_is_refused_from_its_headers(served_home: Path) -> None:
    with running_server(served_home, "--datasets", "california") as base:
        host, port = base.removeprefix("http://").split(":")
        declared = 40_000_000
        with socket.create_connection((host, int(port)), timeout=10) as conn:
            started = time.perf_counter()
            conn.sendall(b"POST /v1/california/predict HTTP/1.1\r\nHost: x\r\n"
                         b"Content-Type: application/json\r\n"
                         b"Content-Length: %d\r\n\r\n" % declared + b'{"instances": [')
            answer = b""
            while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
                chunk = conn.recv(65536)
                if not chunk:
                    break
                answer += chunk
            elapsed = time.perf_counter() - started
        status_line, _, rest = answer.partition(b"\r\n")
        assert status_line.startswith(b"HTTP/1.1 413"), answer[:300]
        assert b"limit of" in rest and b"nosniff" in rest.lower()
        # Answered while almost all of the 40 MB was never sent.
        assert elapsed < SECONDS, f"refused after {elapsed:.2f} s"
        assert httpx.get(f"{base}/healthz").status_code == 200


def _latencies(client: httpx.Client, n: int) -> list[float]:
    out = []
    for _ in range(n):
        started = time.perf_counter()
        assert client.post("/v1/california/predict", json=CALIFORNIA).status_code == 200
        out.append(time.perf_counter() - started)
    return out


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def test_an_insights_flood_does_not_slow_predict(served_home: Path) -> None:
    with running_server(served_home, "--datasets", "california",
                        HOMEPRICE_SERVING__INSIGHTS_MAX_CONCURRENT="2") as base:
        with httpx.Client(base_url=base, timeout=60) as client:
            _latencies(client, 20)  # warm up
            quiet = _latencies(client, 100)
            done = threading.Event()
            statuses: list[int] = []

            def flood(worker: int) -> None:
                # Half ask the same A/B view (shared), half distinct traffic windows (capped).
                with httpx.Client(base_url=base, timeout=60) as flooder:
                    n = 0
                    while not done.is_set():
                        n += 1
                        url = ("/v1/insights/california/ab" if worker % 2 else
                               f"/v1/insights/california/traffic?minutes={worker * 97 + n}")
                        statuses.append(flooder.get(url).status_code)

            threads = [threading.Thread(target=flood, args=(i,)) for i in range(50)]
            for thread in threads:
                thread.start()
            time.sleep(1)
            try:
                flooded = _latencies(client, 100)
            finally:
                done.set()
                for thread in threads:
                    thread.join()
        metrics = scrape(base)
    computed = {view: sample(metrics, "homeprice_insight_computations_total", view=view) or 0
                for view in ("ab", "traffic")}
    busy = sample(metrics, "homeprice_insight_busy_total", view="traffic") or 0
    assert set(statuses) <= {200, 503} and statuses.count(200) > 0
    # The shared A/B view: one computation per cache period, not one per call.
    ab_calls = sum(1 for _ in statuses) // 2
    assert computed["ab"] < ab_calls / 5, (computed, len(statuses))
    # Distinct traffic windows hit the cap: refused at once instead of queueing.
    assert busy > 0 and statuses.count(503) >= busy
    quiet_p50, flood_p50 = statistics.median(quiet), statistics.median(flooded)
    quiet_p95, flood_p95 = _p95(quiet), _p95(flooded)
    print(f"/predict p50 {quiet_p50 * 1000:.1f} -> {flood_p50 * 1000:.1f} ms, "
          f"p95 {quiet_p95 * 1000:.1f} -> {flood_p95 * 1000:.1f} ms; {len(statuses)} insight "
          f"calls, {computed} computed, {busy:g} busy")
    # What failed before is asserted above without timing: one A/B computation per cache
    # period instead of one per call (seconds of joins each), and refusals instead of a queue.
    # How much the flood still slows /predict is measured by benchmarks/insights_flood.py,
    # not asserted here (timed assertions flake on a shared machine): p50 2.3 -> 273 ms and
    # p95 7.7 -> 672 ms before the shared results, 3.5 -> 66 ms and 5.4 -> 173 ms after. Here
    # only that /predict kept answering (every call above was a 200) within a second.
    assert flood_p50 < 1.0, f"/predict p50 {flood_p50:.2f} s under the flood"
