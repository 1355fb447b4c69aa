"""`homeprice serve --workers 2`: /metrics totals cover every worker, and a run-time traffic
change made through one worker reaches all of them; the default, "auto", starts one per core."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psutil
import pytest
from prometheus_client.multiprocess import MultiProcessCollector

from homeprice.api.server import worker_count
from homeprice.config import ServingSettings
from tests.support.bodies import CALIFORNIA
from tests.support.metrics import sample, scrape
from tests.support.servers import running_server, wait_for

pytestmark = pytest.mark.e2e

TOKEN = "e2e-admin-token-17"
PREDICTIONS = 120


def _worker_pids(metrics: dict) -> set[str]:
    """The workers that have a champion loaded (a pid label per live worker)."""
    return {dict(labels)["pid"] for name, labels in metrics
            if name == "homeprice_model_version" and dict(labels).get("alias") == "champion"}


def _modes_by_worker(metrics: dict) -> dict[str, str]:
    return {dict(labels)["pid"]: dict(labels)["mode"] for (name, labels), value in metrics.items()
            if name == "homeprice_traffic_mode" and value == 1.0}


def _predict(base: str) -> int:
    # A new connection per request, so the kernel hands requests to either worker.
    return httpx.post(f"{base}/v1/california/predict", json=CALIFORNIA, timeout=30).status_code


def _predictions_by_worker(metrics_root: Path) -> dict[str, float]:
    """Homes each worker priced, from its own counter file (counter_<pid>.db) of the run's
    multiprocess metrics folder: what the workers wrote, not what a scrape sums up."""
    counted: dict[str, float] = {}
    for path in metrics_root.glob("homeprice-metrics-*/counter_*.db"):
        pid = path.stem.removeprefix("counter_")
        for family in MultiProcessCollector.merge([str(path)], accumulate=False):
            for sample_ in family.samples:
                if sample_.name == "homeprice_predictions_total":
                    counted[pid] = counted.get(pid, 0.0) + sample_.value
    return counted


def test_two_workers_share_metrics_and_traffic_changes(served_home: Path,
                                                       tmp_path: Path) -> None:
    metrics_root = tmp_path / "metrics"
    metrics_root.mkdir()
    with running_server(served_home, "--workers", "2", "--datasets", "california",
                        HOMEPRICE_ADMIN_TOKEN=TOKEN,
                        PROMETHEUS_MULTIPROC_DIR=str(metrics_root)) as base:
        wait_for(lambda: len(_worker_pids(scrape(base))) == 2, "both workers to load models")

        with ThreadPoolExecutor(4) as pool:
            statuses = list(pool.map(lambda _: _predict(base), range(PREDICTIONS)))
        assert statuses == [200] * PREDICTIONS
        # Guards "both workers serve": each one priced some of the homes (a second worker
        # that only loaded models, with the kernel handing every connection to the first,
        # fails here).
        by_worker = _predictions_by_worker(metrics_root)
        assert len(by_worker) == 2 and min(by_worker.values()) > 0, by_worker
        assert sum(by_worker.values()) == PREDICTIONS
        # Every scrape, whichever worker answers it, counts the predictions of both.
        for _ in range(10):
            assert sample(scrape(base), "homeprice_predictions_total", dataset="california",
                          variant="champion") == PREDICTIONS

        # No traffic configured: the default, auto (routes as off with no challenger).
        assert set(_modes_by_worker(scrape(base)).values()) == {"auto"}
        changed = httpx.post(f"{base}/v1/admin/california/traffic",
                             json={"mode": "split", "share": 0.5},
                             headers={"Authorization": f"Bearer {TOKEN}"})
        assert changed.status_code == 200, changed.text
        # Reload poll every second: allow many polls on a busy machine.
        wait_for(lambda: set(_modes_by_worker(scrape(base)).values()) == {"split"}
                 and len(_modes_by_worker(scrape(base))) == 2, "both workers in split mode")
        answers = [httpx.get(f"{base}/v1/models", timeout=10).json()["california"]["traffic"]
                   for _ in range(20)]
        # No challenger loaded: split routes as off.
        assert answers == [{"mode": "split", "share": 0.5, "effective": "off"}] * 20
        shares = {dict(labels)["pid"]: value for (name, labels), value in scrape(base).items()
                  if name == "homeprice_traffic_share"}
        assert len(shares) == 2 and set(shares.values()) == {0.5}


def test_auto_starts_one_worker_per_available_core(served_home: Path, tmp_path: Path) -> None:
    # "auto" is the default; the test suite pins one process (tests/conftest.py), so ask for it.
    expected = worker_count(ServingSettings(workers="auto"))
    if expected < 2:
        pytest.skip("one core available: auto starts the single-process server")
    with running_server(served_home, "--datasets", "california",
                        HOMEPRICE_SERVING__WORKERS="auto",
                        PROMETHEUS_MULTIPROC_DIR=str(tmp_path)) as base:
        wait_for(lambda: len(_worker_pids(scrape(base))) == expected,
                 f"{expected} workers to load models")
        # Guards "no more than one per core": the loaded workers are every worker process
        # the server started (a surplus one still loading would not show in /metrics yet).
        loaded = {int(pid) for pid in _worker_pids(scrape(base))}
        assert _spawned_workers(loaded) == loaded
        assert _predict(base) == 200


def _spawned_workers(pids: set[int]) -> set[int]:
    """Every worker process started by the parent of the worker processes `pids`: the
    multiprocessing children that run a spawned worker (not multiprocessing's resource
    tracker, which the parent starts too)."""
    parents = {psutil.Process(pid).ppid() for pid in pids}
    assert len(parents) == 1, f"workers {pids} have different parents {parents}"
    return {child.pid for child in psutil.Process(parents.pop()).children()
            if "spawn_main" in " ".join(child.cmdline())}
