"""Serving speed: `homeprice serve` against `mlflow models serve` on the same champion.

Trains nothing: it takes the current California champion from the registry in
$HOMEPRICE_HOME (run `make quickstart` first) and starts, one at a time on a loopback port:
`homeprice serve` in its default configuration (one worker per available core; prediction
logging, intervals, variant routing and Prometheus metrics on), the same with one worker,
the same with shadow scoring on (the champion's version also made the challenger, in a copy
of the registry database: the user's registry is never changed), the same with logging off
(`serving.log_predictions: false`), and `mlflow models serve` with as many workers and with
its default of one, the peer of every ratio. It drives each from a separate load process (wrk
when installed, else an async httpx client in its own process) with one home per request
at concurrency 1 and 32, and with 1,000 homes per request, and prints requests/s and
homes/s, p50 and p99, and the ratio to mlflow measured in the same run. It checks that no
log row was lost (rows in the database plus rows spilled = homes answered, as counted by
/metrics), and prints the in-process time of one validated row to an answer with interval
(median and p99) against the sklearn pipeline, with a breakdown of where that time goes.

    .venv/bin/python benchmarks/serve.py [--seconds 10]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import sqlalchemy as sa
from mlflow.tracking import MlflowClient
from rich.console import Console
from rich.table import Table

from homeprice import registry, tracking
from homeprice.api.server import worker_count
from homeprice.config import ServingSettings, load_settings
from homeprice.datasets import get_dataset
from homeprice.serving.fastpath import FastPredictor, to_columns
from homeprice.serving.schemas import strict_model

ROW = {"longitude": -122.23, "latitude": 37.88, "housing_median_age": 41.0, "total_rooms": 880.0,
       "total_bedrooms": 129.0, "population": 322.0, "households": 126.0,
       "median_income": 8.3252, "ocean_proximity": "NEAR BAY"}
BIN = Path(sys.executable).parent
# The peer every ratio is taken against: mlflow's own default, one worker.
PEER = "mlflow models serve (1 worker)"

LOAD_CLIENT = r'''
import asyncio, json, sys, time
import httpx
url, concurrency, seconds = sys.argv[1], int(sys.argv[3]), float(sys.argv[4])
body = open(sys.argv[2], "rb").read()
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


def wait_workers(base: str, workers: int, process: subprocess.Popen,
                 seconds: float = 180) -> None:
    """Wait until `workers` processes have their champion loaded. A worker takes connections
    only after its first load (the app's lifespan), so this checks that every one came up:
    a worker that died at start would leave the run measuring fewer."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}")
        lines = re.findall(r'^homeprice_model_version\{([^}]*alias="champion"[^}]*)\}',
                           httpx.get(f"{base}/metrics", timeout=10).text, re.M)
        # One line per worker (a pid label) with several; one unlabelled line with one.
        if len(lines) >= workers:
            return
        time.sleep(0.5)
    raise SystemExit(f"{base}: fewer than {workers} workers loaded within {seconds:.0f} s")


def wait_compiled_trees(base: str, process: subprocess.Popen, poll_seconds: float,
                        seconds: float = 900) -> None:
    """Wait until the champion answers through its compiled trees, as a long-running server
    does: the first start compiles them in the background (minutes), later ones load them
    from the cache. Other workers find them at their next poll, so one poll more is waited."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}")
        champion = httpx.get(f"{base}/v1/models", timeout=10).json()["california"]["champion"]
        if champion.get("compiled_trees"):
            time.sleep(poll_seconds + 1)
            return
        time.sleep(1)
    raise SystemExit(f"{base}: no compiled trees within {seconds:.0f} s (see its log)")


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
    # The body goes through a file: a batch of 1,000 homes is longer than one argv string may be.
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as file:
        file.write(body)
    try:
        out = subprocess.run([sys.executable, "-c", LOAD_CLIENT, url, file.name,
                              str(concurrency), str(seconds)], capture_output=True, text=True,
                             check=True).stdout
    finally:
        os.unlink(file.name)
    return json.loads(out)


def timed(call: Callable[[], object], n: int) -> np.ndarray:
    """Seconds each of `n` calls took, after 50 warm-up calls."""
    for _ in range(50):
        call()
    samples = np.empty(n)
    for i in range(n):
        started = time.perf_counter()
        call()
        samples[i] = time.perf_counter() - started
    return samples


def in_process(model: object, n: int = 3000) -> dict[str, np.ndarray]:
    """Seconds per single row, in this process: the served path (validate the JSON object
    as the predict shortcut does, with the strict copy of the API's request model, then the
    fast path with its single-row check, as a server loads it), its stages, and the sklearn
    pipeline on a one-row DataFrame (the peer)."""
    settings = load_settings()
    dataset = get_dataset("california")
    columns = list(dataset.feature_columns)
    # The shortcut validates with the strict copy of the request model first (it accepts ROW).
    request_model = strict_model(dataset.request_model(settings))
    fast = FastPredictor(model)
    sample = pd.DataFrame([ROW] * 8)
    fast.check_rows({c: sample[c].tolist() for c in columns}, name="benchmark")

    def served() -> object:
        row = request_model.model_validate(ROW).features()
        return fast.predict(to_columns([row], columns))

    def pipeline() -> object:
        frame = pd.DataFrame([request_model.model_validate(ROW).features()])[columns]
        return model[-1].predict_interval(model[:-1].transform(frame))

    row = request_model.model_validate(ROW).features()
    cols = to_columns([row], columns)
    Z = fast.matrix(cols)
    point = fast.point(Z)
    return {
        "served path (validate + fast path)": timed(served, n),
        "  validate (strict copy of the request model)": timed(
            lambda: request_model.model_validate(ROW).features(), n),
        "  feature builder (one row)": timed(lambda: fast.matrix(cols), n),
        "  trees (" + ("LightGBM single-row API" if fast.rows is not None
                       else "Booster.predict") + ")": timed(lambda: fast.point(Z), n),
        "  interval (conformal bands)": timed(lambda: fast.interval.interval_for(point), n),
        "sklearn pipeline (peer)": timed(pipeline, n),
    }


def shadow_registry(settings: object, workdir: Path, version: str) -> str:
    """A copy of the MLflow database where `version` is also the challenger; its URI.

    Only the database is copied: the artifacts it names stay where they are and are only
    read. The copy is what the shadow run's server polls, so the user's registry is never
    changed.
    """
    uri = settings.tracking_uri  # type: ignore[attr-defined]
    if not uri.startswith("sqlite:///"):
        raise SystemExit(f"the shadow run copies a SQLite MLflow store; the tracking URI is "
                         f"{uri!r}")
    source = Path(uri.removeprefix("sqlite:///"))
    copy = workdir / "mlflow-shadow.db"
    with sqlite3.connect(source) as db, sqlite3.connect(copy) as target:
        db.backup(target)
    copy_uri = f"sqlite:///{copy}"
    MlflowClient(tracking_uri=copy_uri, registry_uri=copy_uri).set_registered_model_alias(
        registry.model_name("california"), registry.CHALLENGER, version)
    return copy_uri


def count_logged(log_url: str, spill: Path) -> tuple[int, int, int]:
    """(served rows, shadow rows) in the log database plus those spilled, and spilled rows."""
    engine = sa.create_engine(log_url)
    with engine.connect() as conn:
        served = conn.execute(sa.text(
            "SELECT COUNT(*) FROM prediction_logs WHERE served")).scalar_one()
        shadow = conn.execute(sa.text(
            "SELECT COUNT(*) FROM prediction_logs WHERE NOT served")).scalar_one()
    engine.dispose()
    spilled = 0
    for path in spill.glob("**/*"):
        if path.is_file():
            for line in path.read_bytes().splitlines():
                if line.strip():
                    spilled += 1
                    if b'"served":false' in line.replace(b" ", b""):
                        shadow += 1
                    else:
                        served += 1
    return served, shadow, spilled


def counters(text: str, name: str) -> float:
    """The sum of a counter's samples in a /metrics answer."""
    return sum(float(m) for m in re.findall(rf"^{name}\{{[^}}]*\}} ([\d.e+]+)$", text, re.M))


def settled_counts(base: str, seconds: float = 120) -> tuple[float, float]:
    """(homes answered, homes shadow-priced) from /metrics once the server is idle.

    The load tool stops on time with requests still in flight, which the server finishes
    after; shadow jobs run after their answer. So the counters are read until they stay the
    same for a second with no shadow job left.
    """
    deadline = time.monotonic() + seconds
    last: tuple[float, float, float] | None = None
    while time.monotonic() < deadline:
        text = httpx.get(f"{base}/metrics", timeout=30).text
        now = (counters(text, "homeprice_predictions_total"),
               counters(text, "homeprice_shadow_predictions_total"),
               sum(float(m) for m in re.findall(r"^homeprice_shadow_backlog ([\d.e+]+)$",
                                                text, re.M)))
        if now == last and now[2] == 0:
            return now[0], now[1]
        last = now
        time.sleep(1.0)
    raise SystemExit(f"{base} did not settle within {seconds:.0f} s: {last}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--batch", type=int, default=1000, help="homes per batch request")
    args = parser.parse_args()
    console = Console(width=140)
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
    # The default worker count, named explicitly so a HOMEPRICE_SERVING__WORKERS in the
    # caller's environment does not change what "default" measures.
    serve = ["homeprice", "serve", "--datasets", "california", "--workers", "auto"]
    workers = worker_count(ServingSettings(workers="auto"))
    mlflow_serve = ["mlflow", "models", "serve", "-m", mlflow_model, "--env-manager", "local",
                    "-h", "127.0.0.1", "-w"]
    configs: dict[str, tuple[list[str], dict[str, str]]] = {
        f"homeprice default ({workers} workers)": (serve, {}),
        "homeprice 1 worker": ([*serve[:-1], "1"], {}),
        "homeprice shadow on": (serve, {
            "MLFLOW_TRACKING_URI": shadow_registry(settings, workdir, version)}),
        "homeprice logging off": (serve, {"HOMEPRICE_SERVING__LOG_PREDICTIONS": "false"}),
        # mlflow's own default is one worker; the same number of workers as homeprice's
        # default is shown too, so the ratio can be read either way.
        f"mlflow models serve ({workers} workers)": ([*mlflow_serve, str(workers)], {}),
        PEER: ([*mlflow_serve, "1"], {}),
    }
    if workers == 1:  # the extra rows would repeat the default ones
        del configs["homeprice 1 worker"], configs[f"mlflow models serve ({workers} workers)"]
    loads = (("single", 1), ("single", 32), ("batch", 1))
    results: dict[tuple[str, str, int], dict[str, float]] = {}
    log_check: dict[str, tuple[tuple[int, int, int], float, float]] = {}
    # One server at a time: on 2 cores an idle neighbour still steals cycles.
    for name, (command, extra_env) in configs.items():
        port = free_port()
        homeprice = command[0] == "homeprice"
        slug = name.replace(" ", "_")
        log_url = f"sqlite:///{workdir / (slug + '.db')}"
        spill = workdir / f"{slug}-spill"
        argv = [str(BIN / command[0]), *command[1:], "--port" if homeprice else "-p", str(port)]
        # Output to a file, not a pipe: a full pipe (access logs) would stall the server.
        server_log = open(workdir / f"{slug}.log", "wb")  # noqa: SIM115
        # The log's spill stays in the run folder, never the user's home; the drain at exit
        # gets as long as it needs, so the count below is of rows lost, not rows late.
        server_env = dict(env, HOMEPRICE_LOG_DB_URL=log_url,
                          HOMEPRICE_SERVING__LOG_SPILL_DIR=str(spill),
                          HOMEPRICE_SERVING__LOG_SHUTDOWN_GRACE_SECONDS="300", **extra_env)
        # A session of its own: `mlflow models serve` runs uvicorn as a child process, which
        # a signal to the parent alone leaves running; its whole group is signalled below.
        process = subprocess.Popen(argv, env=server_env, stdout=server_log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        url = f"{base}/v1/california/predict" if homeprice else f"{base}/invocations"
        bodies = {"single": json.dumps(ROW) if homeprice
                  else json.dumps({"dataframe_records": [ROW]}),
                  "batch": json.dumps({"instances": [ROW] * args.batch}) if homeprice
                  else json.dumps({"dataframe_records": [ROW] * args.batch})}
        try:
            wait_ready(f"{base}/readyz" if homeprice else f"{base}/ping", process)
            if homeprice:
                wait_workers(base, 1 if command[-1] == "1" else workers, process)
                if settings.serving.compiled_trees:
                    wait_compiled_trees(base, process,
                                        settings.serving.reload_interval_seconds)
            if homeprice and "shadow" in name:
                loaded = httpx.get(f"{base}/v1/models").json()["california"]
                if "challenger" not in loaded:
                    raise SystemExit(f"{name}: no challenger loaded: {loaded}")
            for kind in bodies:
                httpx.post(url, content=bodies[kind], headers={"content-type": "application/json"},
                           timeout=60).raise_for_status()
            load(url, bodies["single"], 8, 2)  # warm-up
            for kind, concurrency in loads:
                results[(name, kind, concurrency)] = load(url, bodies[kind], concurrency,
                                                          args.seconds)
            if homeprice:
                answered, shadowed = settled_counts(base)
        finally:
            if homeprice:  # as a service manager stops it: its workers drain their logs
                process.send_signal(signal.SIGTERM)
            else:
                with contextlib.suppress(ProcessLookupError):  # it may have died already
                    os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(timeout=400)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            server_log.close()
        if homeprice:
            log_check[name] = (count_logged(log_url, spill), answered, shadowed)

    peer_name = PEER
    table = Table(title=f"California champion v{version}, load: {tool}, {args.seconds:.0f} s per "
                        f"run, one server at a time; ratio: homes/s vs {peer_name} "
                        "in this run")
    for column in ("server", "request", "conc.", "req/s", "homes/s", "p50 ms", "p99 ms",
                   "ratio"):
        table.add_column(column, justify="left" if column in ("server", "request") else "right")
    for kind, concurrency in loads:
        homes = 1 if kind == "single" else args.batch
        peer = results[(peer_name, kind, concurrency)]["rps"]
        for name in configs:
            r = results[(name, kind, concurrency)]
            table.add_row(name, "1 home" if kind == "single" else f"{homes:,} homes",
                          str(concurrency), f"{r['rps']:,.1f}", f"{r['rps'] * homes:,.0f}",
                          f"{r['p50_ms']:.2f}", f"{r['p99_ms']:.2f}",
                          f"{r['rps'] / peer:.1f}x")
        table.add_section()
    console.print(table)
    default, off = next(iter(configs)), "homeprice logging off"
    shares = [results[(default, k, c)]["rps"] / results[(off, k, c)]["rps"] for k, c in loads]
    console.print("logging on / logging off throughput: " + ", ".join(
        f"{k} c={c} {share:.0%}" for (k, c), share in zip(loads, shares, strict=True)))

    timings = in_process(model)
    peer = float(np.median(timings["sklearn pipeline (peer)"]))
    stages = Table(title="In process, one validated row to an answer with interval (median and "
                         "p99 of 3,000 calls; ratio: the sklearn pipeline's median / this)")
    for column in ("path", "median µs", "p99 µs", "ratio"):
        stages.add_column(column, justify="left" if column == "path" else "right")
    for name, samples in timings.items():
        median = float(np.median(samples))
        stages.add_row(name, f"{median * 1e6:,.1f}", f"{np.percentile(samples, 99) * 1e6:,.1f}",
                       f"{peer / median:.1f}x")
    console.print(stages)

    ok = True
    for name, ((served, shadow, spilled), answered, shadowed) in log_check.items():
        expected_served = 0 if name == off else answered
        expected_shadow = 0 if name == off else shadowed
        equal = served == expected_served and shadow == expected_shadow
        ok &= equal
        console.print(f"prediction log of {name}: {served:,} served + {shadow:,} shadow rows "
                      f"({spilled:,} of them spilled); expected {expected_served:,.0f} + "
                      f"{expected_shadow:,.0f} (from /metrics): "
                      f"{'no row lost' if equal else 'MISMATCH'}")
    shutil.rmtree(workdir, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
