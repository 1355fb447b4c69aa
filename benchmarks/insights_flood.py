"""/predict latency (p50, p95) while 50 callers flood the costly insight views (/ab, /traffic),
for this checkout against a named peer source tree (e.g. the commit before the shared results)
in one run, on copies of one trained home.

    git archive <base-commit> src | tar -x -C /tmp/base
    .venv/bin/python benchmarks/insights_flood.py --home .homeprice --peer-src /tmp/base/src
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parents[1] / "src"
HOME = {"longitude": -122.23, "latitude": 37.88, "housing_median_age": 41, "total_rooms": 880,
        "total_bedrooms": 129, "population": 322, "households": 126, "median_income": 8.3252,
        "ocean_proximity": "NEAR BAY"}


def start(src: Path, home: Path, port: int) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(src), HOMEPRICE_HOME=str(home))
    server = subprocess.Popen([sys.executable, "-m", "homeprice.cli", "serve", "--host",
                               "127.0.0.1", "--port", str(port), "--datasets", "california"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    server.kill()
    raise RuntimeError(f"server from {src} did not get ready")


def latencies(client: httpx.Client, n: int) -> list[float]:
    out = []
    for _ in range(n):
        started = time.perf_counter()
        client.post("/v1/california/predict", json=HOME).raise_for_status()
        out.append(time.perf_counter() - started)
    return out


def run(src: Path, home: Path, port: int, callers: int) -> tuple[list[float], list[float],
                                                                 Counter]:
    """(quiet latencies, flooded latencies, insight answers by status) for one tree."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "home"
        shutil.copytree(home, copy, ignore=shutil.ignore_patterns("predictions.db*"))
        server = start(src, copy, port)
        base = f"http://127.0.0.1:{port}"
        statuses: Counter = Counter()
        done = threading.Event()

        def flood(worker: int) -> None:
            with httpx.Client(base_url=base, timeout=120) as flooder:
                n = 0
                while not done.is_set():
                    n += 1
                    url = ("/v1/insights/california/ab" if worker % 2 else
                           f"/v1/insights/california/traffic?minutes={worker * 97 + n}")
                    try:
                        statuses[flooder.get(url).status_code] += 1
                    except httpx.HTTPError:
                        statuses["error"] += 1

        try:
            with httpx.Client(base_url=base, timeout=120) as client:
                latencies(client, 20)
                quiet = latencies(client, 100)
                threads = [threading.Thread(target=flood, args=(i,)) for i in range(callers)]
                for thread in threads:
                    thread.start()
                time.sleep(1)
                try:
                    flooded = latencies(client, 100)
                finally:
                    done.set()
                    for thread in threads:
                        thread.join()
            return quiet, flooded, statuses
        finally:
            server.terminate()
            server.wait(60)


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True, help="a trained HOMEPRICE_HOME")
    parser.add_argument("--peer-src", type=Path, required=True)
    parser.add_argument("--callers", type=int, default=50)
    parser.add_argument("--port", type=int, default=18932)
    args = parser.parse_args()
    table = Table(title=f"/predict while {args.callers} callers flood /v1/insights")
    for column in ("tree", "quiet p50 ms", "quiet p95 ms", "flood p50 ms", "flood p95 ms",
                   "insight answers"):
        table.add_column(column)
    for name, src in (("peer", args.peer_src), ("this", HERE)):
        quiet, flooded, statuses = run(src, args.home, args.port, args.callers)
        table.add_row(name, *(f"{v * 1000:.1f}" for v in (
            statistics.median(quiet), p95(quiet), statistics.median(flooded), p95(flooded))),
            ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items(), key=str)))
    Console().print(table)


if __name__ == "__main__":
    main()
