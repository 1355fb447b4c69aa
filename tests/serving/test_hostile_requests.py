"""Hostile request bodies against a real `homeprice serve`: refused at once with a 422 naming
the field, while /healthz sent meanwhile keeps answering (validation runs on the event loop)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.support.bodies import BENGALURU
from tests.support.servers import running_server

pytestmark = pytest.mark.e2e

# 100 KB runs of spaces: the old Bengaluru patterns backtracked cubically on these (a 1.5 KB
# value took 7 s to refuse and held /healthz for as long; 100 KB would take hours).
HOSTILE = {"total_sqft": "1" + " " * 100_000 + "!", "size": "2" + " " * 100_000 + "BHK!"}
# Generous for a loaded CI machine; the answers take milliseconds.
SECONDS = 2.0


def test_hostile_text_is_refused_at_once_and_healthz_stays_fast(served_home: Path) -> None:
    with running_server(served_home, "--datasets", "bengaluru") as base:
        probes: list[tuple[int, float]] = []
        done, probing = threading.Event(), threading.Event()

        def probe() -> None:
            with httpx.Client(base_url=base, timeout=30) as client:
                while not done.is_set():
                    started = time.perf_counter()
                    status = client.get("/healthz").status_code
                    probes.append((status, time.perf_counter() - started))
                    probing.set()
                    time.sleep(0.01)

        prober = threading.Thread(target=probe)
        prober.start()
        try:
            # On a loaded machine the prober's first answer can come after the last hostile
            # request: start those only once /healthz is being probed.
            assert probing.wait(30), "/healthz never answered"
            with httpx.Client(base_url=base, timeout=30) as client:
                for field, value in HOSTILE.items():
                    for _ in range(5):
                        started = time.perf_counter()
                        answer = client.post("/v1/bengaluru/predict",
                                             json=BENGALURU | {field: value})
                        elapsed = time.perf_counter() - started
                        assert answer.status_code == 422, answer.text[:300]
                        assert answer.json()["message"].startswith(f"{field}: ")
                        assert elapsed < SECONDS, f"{field}: refused after {elapsed:.2f} s"
        finally:
            done.set()
            prober.join()
        assert probes and all(status == 200 for status, _ in probes)
        slowest = max(seconds for _, seconds in probes)
        assert slowest < SECONDS, f"/healthz waited {slowest:.2f} s behind hostile requests"
