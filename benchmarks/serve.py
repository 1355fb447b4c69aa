"""Serving speed: `homeprice serve` against `mlflow models serve` on the same champion.

Trains nothing: it takes the current California champion from the registry in
$HOMEPRICE_HOME (run `make quickstart` first) and starts, one at a time on a loopback port,
`homeprice serve` with 1 and with 2 workers (prediction logging on, into a fresh SQLite file)
and `mlflow models serve` with 1 worker. It drives each with the same single-row request from
a separate load process (wrk when installed, else an async httpx client in its own process)
at concurrency 1 and 32, and prints req/s, p50 and p99 and the ratio to mlflow. It checks that
the log holds exactly as many rows as homeprice answered, and prints the in-process
single-row latency of the fast path vs the sklearn pipeline.

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
            raise SystemExit(f"server exited with {process.returncode}; see its log in "
                             f"{tempfile.gettempdir()}/homeprice-serve-bench-*")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"{url} never became ready")


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def run_wrk(url: str, body: str, concurrency: int, seconds: float) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(f'wrk.method = "POST"\nwrk.body = {json.dumps(body)}\n'
                     'wrk.headers["Content-Type"] = "application/json"\n')
    out = subprocess.run(["wrk", f"-t{min(concurrency, 2)}", f"-c{concurrency}",
                          f"-d{int(seconds)}s", "--latency", "-s", script.name, url],
                         capture_output=True, text=True, check=True).stdout
    os.unlink(script.name)
    if "Non-2xx" in out or "Latency Distribution" not in out or " 0 requests in" in out:
        raise SystemExit(f"non-2xx answers from {url}:\n{out}")
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p50_ms": _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)),
            "p99_ms": _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)),
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
    # mlflow models serve execs `uvicorn` by name: the venv must be first on PATH.
    env = dict(os.environ, MLFLOW_TRACKING_URI=settings.tracking_uri,
               PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    mlflow_model = f"models:/{registry.model_name('california')}/{version}"
    configs = {
        "homeprice serve": ["homeprice", "serve", "--datasets", "california", "--workers", "1"],
        "homeprice serve --workers 2": ["homeprice", "serve", "--datasets", "california",
                                        "--workers", "2"],
        "mlflow models serve": ["mlflow", "models", "serve", "-m", mlflow_model,
                                "--env-manager", "local", "-h", "127.0.0.1", "-w", "1"],
    }
    results: dict[tuple[str, int], dict[str, float]] = {}
    log_check: dict[str, tuple[int, float]] = {}
    # One server at a time: on 2 cores an idle neighbour still steals cycles.
    for name, command in configs.items():
        port = free_port()
        homeprice = command[0] == "homeprice"
        log_url = f"sqlite:///{workdir / (name.replace(' ', '_') + '.db')}"
        argv = [str(BIN / command[0]), *command[1:], "--port" if homeprice else "-p", str(port)]
        # Output to a file, not a pipe: a full pipe (access logs) would stall the server.
        server_log = open(workdir / f"{name.replace(' ', '_')}.log", "wb")  # noqa: SIM115
        process = subprocess.Popen(argv, env=dict(env, HOMEPRICE_LOG_DB_URL=log_url),
                                   stdout=server_log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        url = f"{base}/v1/california/predict" if homeprice else f"{base}/invocations"
        body = json.dumps(ROW) if homeprice else json.dumps({"dataframe_records": [ROW]})
        try:
            wait_ready(f"{base}/readyz" if homeprice else f"{base}/ping", process)
            httpx.post(url, content=body, headers={"content-type": "application/json"},
                       timeout=30).raise_for_status()
            load(url, body, 8, 2)  # warm-up
            for concurrency in (1, 32):
                results[(name, concurrency)] = load(url, body, concurrency, args.seconds)
            if homeprice:
                answered = 0.0
                for _ in range(2 * int(command[-1])):  # each worker has its own counters
                    text = httpx.get(f"{base}/metrics").text
                    answered = max(answered, sum(float(m) for m in re.findall(
                        r'homeprice_predictions_total\{[^}]*\} ([\d.e+]+)', text)))
        finally:
            process.send_signal(signal.SIGTERM if homeprice else signal.SIGINT)
            try:
                process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                process.kill()
            server_log.close()
        if homeprice:
            engine = sa.create_engine(log_url)
            with engine.connect() as conn:
                logged = conn.execute(sa.text("SELECT COUNT(*) FROM prediction_logs")).scalar_one()
            engine.dispose()
            log_check[name] = (logged, answered)

    table = Table(title=f"California champion v{version}, single-row requests, load: {tool}, "
                        f"{args.seconds:.0f}s per run; ratio vs mlflow models serve (1 worker)")
    for column in ("server", "concurrency", "req/s", "p50 ms", "p99 ms", "req/s ratio"):
        table.add_column(column, justify="left" if column == "server" else "right")
    for concurrency in (1, 32):
        peer = results[("mlflow models serve", concurrency)]["rps"]
        for name in configs:
            r = results[(name, concurrency)]
            table.add_row(name, str(concurrency), f"{r['rps']:,.0f}", f"{r['p50_ms']:.2f}",
                          f"{r['p99_ms']:.2f}", f"{r['rps'] / peer:.1f}x")
    console.print(table)
    timings = in_process(model)
    console.print(f"in-process single row (median): fast path {timings['fast path']:.0f} µs, "
                  f"sklearn pipeline {timings['sklearn pipeline']:.0f} µs, ratio "
                  f"{timings['sklearn pipeline'] / timings['fast path']:.1f}x")
    ok = True
    for name, (logged, answered) in log_check.items():
        # With several workers /metrics answers from one of them: the log count is exact, the
        # metric a lower bound, so only the single-worker run is checked for equality.
        exact = name == "homeprice serve"
        equal = logged == answered
        ok &= equal or not exact
        console.print(f"prediction log of {name}: {logged:,} rows; answered (from /metrics) "
                      f"{answered:,.0f}: {'equal' if equal else 'MISMATCH' if exact else 'n/a'}")
    shutil.rmtree(workdir, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
