"""Serving speed: `homeprice serve` against `mlflow models serve` on the same champion.

Trains nothing: it takes the current California champion from the registry in
$HOMEPRICE_HOME (run `make quickstart` first), starts both servers on loopback ports (one
worker each; homeprice with prediction logging on, into a fresh SQLite file), drives both with
the same single-row request from a separate load process (wrk when installed, else an async
httpx client in its own process) at concurrency 1 and 32, and prints req/s, p50 and p99 for
each and the ratio. It then checks that the log holds exactly as many rows as homeprice
answered, and prints the in-process single-row latency of the fast path vs the sklearn
pipeline.

    .venv/bin/python benchmarks/serve.py [--seconds 10]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import sqlalchemy as sa
from rich.console import Console
from rich.table import Table

from homeprice import registry, tracking
from homeprice.config import load_settings
from homeprice.datasets import get_dataset
from homeprice.serving.fastpath import FastPredictor, to_columns

ROW = {"longitude": -122.23, "latitude": 37.88, "housing_median_age": 41.0, "total_rooms": 880.0,
       "total_bedrooms": 129.0, "population": 322.0, "households": 126.0,
       "median_income": 8.3252, "ocean_proximity": "NEAR BAY"}
BIN = Path(sys.executable).parent

LOAD_CLIENT = r'''
import asyncio, json, sys, time
import httpx
url, body, concurrency, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
latencies = []
async def worker(client, stop):
    while time.perf_counter() < stop:
        t = time.perf_counter()
        r = await client.post(url, content=body, headers={"content-type": "application/json"})
        if r.status_code == 200:
            latencies.append(time.perf_counter() - t)
async def main():
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        stop = time.perf_counter() + seconds
        await asyncio.gather(*(worker(client, stop) for _ in range(concurrency)))
asyncio.run(main())
latencies.sort()
n = len(latencies)
print(json.dumps({"requests": n, "rps": n / seconds, "p50_ms": 1000 * latencies[n // 2],
                  "p99_ms": 1000 * latencies[min(n - 1, int(n * 0.99))]}))
'''


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(url: str, process: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited: {process.stdout.read().decode()[-2000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"{url} never became ready")


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(url: str, body: str, concurrency: int, seconds: float) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(f'wrk.method = "POST"\nwrk.body = {json.dumps(body)}\n'
                     'wrk.headers["Content-Type"] = "application/json"\n')
    out = subprocess.run(["wrk", f"-t{min(concurrency, 2)}", f"-c{concurrency}",
                          f"-d{int(seconds)}s", "--latency", "-s", script.name, url],
                         capture_output=True, text=True, check=True).stdout
    os.unlink(script.name)
    if "Non-2xx" in out:
        raise SystemExit(f"non-2xx answers from {url}:\n{out}")
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p50_ms": _ms(re.search(r"50%\s+(\S+)", out).group(1)),
            "p99_ms": _ms(re.search(r"99%\s+(\S+)", out).group(1)),
            "requests": int(re.search(r"(\d+) requests in", out).group(1))}


def run_httpx(url: str, body: str, concurrency: int, seconds: float) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", LOAD_CLIENT, url, body, str(concurrency),
                          str(seconds)], capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def in_process(model: object, n: int = 2000) -> dict[str, float]:
    """Median single-row latency: fast path vs the sklearn pipeline, in microseconds."""
    dataset = get_dataset("california")
    fast = FastPredictor(model)
    frame = pd.DataFrame([ROW])[list(dataset.feature_columns)]
    timings = {}
    for name, call in (("fast path", lambda: fast.predict(to_columns([ROW],
                                                                     dataset.feature_columns))),
                       ("sklearn pipeline",
                        lambda: model[-1].predict_interval(model[:-1].transform(
                            pd.DataFrame([ROW])[list(dataset.feature_columns)])))):
        for _ in range(50):
            call()
        samples = []
        for _ in range(n):
            t = time.perf_counter()
            call()
            samples.append(time.perf_counter() - t)
        timings[name] = float(np.median(samples) * 1e6)
    assert frame is not None
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    console = Console(width=130)
    settings = load_settings()
    client = tracking.configure(settings)
    version = registry.alias_version(client, "california", registry.CHAMPION)
    if version is None:
        raise SystemExit("no California champion: run `make quickstart` first")
    model = registry.load_model("california", version)
    load = run_wrk if shutil.which("wrk") else run_httpx
    tool = "wrk" if load is run_wrk else "httpx (async, own process)"

    workdir = Path(tempfile.mkdtemp(prefix="homeprice-serve-bench-"))
    log_url = f"sqlite:///{workdir / 'predictions.db'}"
    env = dict(os.environ, HOMEPRICE_LOG_DB_URL=log_url, MLFLOW_TRACKING_URI=settings.tracking_uri)
    ports = {"homeprice serve": free_port(), "mlflow models serve": free_port()}
    servers = {
        "homeprice serve": subprocess.Popen(
            [str(BIN / "homeprice"), "serve", "--port", str(ports["homeprice serve"]),
             "--datasets", "california"], env=env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT),
        "mlflow models serve": subprocess.Popen(
            [str(BIN / "mlflow"), "models", "serve", "-m",
             f"models:/{registry.model_name('california')}/{version}", "--env-manager", "local",
             "-h", "127.0.0.1", "-p", str(ports["mlflow models serve"]), "-w", "1"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT),
    }
    urls = {"homeprice serve": f"http://127.0.0.1:{ports['homeprice serve']}/v1/california/predict",
            "mlflow models serve": f"http://127.0.0.1:{ports['mlflow models serve']}/invocations"}
    bodies = {"homeprice serve": json.dumps(ROW),
              "mlflow models serve": json.dumps({"dataframe_records": [ROW]})}
    results: dict[tuple[str, int], dict[str, float]] = {}
    try:
        wait_ready(f"http://127.0.0.1:{ports['homeprice serve']}/readyz",
                   servers["homeprice serve"])
        wait_ready(f"http://127.0.0.1:{ports['mlflow models serve']}/ping",
                   servers["mlflow models serve"])
        for name in servers:
            check = httpx.post(urls[name], content=bodies[name],
                               headers={"content-type": "application/json"}, timeout=30)
            check.raise_for_status()
            load(urls[name], bodies[name], 8, 2)  # warm-up
            for concurrency in (1, 32):
                results[(name, concurrency)] = load(urls[name], bodies[name], concurrency,
                                                    args.seconds)
        metrics = httpx.get(f"http://127.0.0.1:{ports['homeprice serve']}/metrics").text
        answered = sum(float(m) for m in re.findall(
            r'homeprice_predictions_total\{[^}]*\} ([\d.e+]+)', metrics))
        servers["homeprice serve"].send_signal(signal.SIGTERM)
        servers["homeprice serve"].wait(timeout=120)
    finally:
        for process in servers.values():
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
    engine = sa.create_engine(log_url)
    with engine.connect() as conn:
        logged = conn.execute(sa.text("SELECT COUNT(*) FROM prediction_logs")).scalar_one()
    engine.dispose()

    table = Table(title=f"California champion v{version}, single-row requests, load: {tool}, "
                        f"{args.seconds:.0f}s per run, 1 worker each")
    for column in ("server", "concurrency", "req/s", "p50 ms", "p99 ms", "req/s ratio"):
        table.add_column(column, justify="left" if column == "server" else "right")
    for concurrency in (1, 32):
        peer = results[("mlflow models serve", concurrency)]["rps"]
        for name in servers:
            r = results[(name, concurrency)]
            table.add_row(name, str(concurrency), f"{r['rps']:,.0f}", f"{r['p50_ms']:.2f}",
                          f"{r['p99_ms']:.2f}", f"{r['rps'] / peer:.1f}x")
    console.print(table)
    timings = in_process(model)
    console.print(f"in-process single row (median): fast path {timings['fast path']:.0f} µs, "
                  f"sklearn pipeline {timings['sklearn pipeline']:.0f} µs, ratio "
                  f"{timings['sklearn pipeline'] / timings['fast path']:.1f}x")
    console.print(f"prediction log: {logged:,} rows; homeprice answered {answered:,.0f} "
                  f"predictions: {'equal' if logged == answered else 'MISMATCH'}")
    shutil.rmtree(workdir, ignore_errors=True)
    return 0 if logged == answered else 1


if __name__ == "__main__":
    sys.exit(main())
