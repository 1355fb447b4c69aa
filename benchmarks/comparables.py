"""Comparables: their estimate against the model's on the test split, and the answer rate of
POST /v1/{dataset}/comparables (k=5) against POST /v1/{dataset}/predict (the peer) in one run.

Trains nothing: it takes the current champions of California and Bengaluru from the registry
in $HOMEPRICE_HOME (run `make quickstart` first). Quality: on each dataset's stored test split
(never indexed), the model's and the comps' estimate's RMSE, MAE and MAPE, the share of true
prices inside the comps' range and of model prices inside it. Speed: one `homeprice serve`
(1 worker, prediction logging on) on a loopback port, driven with the same single-home body
on both routes by a separate load process (wrk when installed, else async httpx) at
concurrency 1 and 32; req/s, p50, p99 and the ratio comparables / predict. It reuses the
load helpers of benchmarks/serve.py.

    .venv/bin/python benchmarks/comparables.py [--seconds 10]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from homeprice import registry, tracking
from homeprice.comparables import comparables_of
from homeprice.config import load_settings
from homeprice.datasets import get_dataset
from homeprice.training.comparables import EVALUATION_K, score_on_test
from homeprice.training.evaluation import point_metrics, predict_with_interval
from homeprice.training.runner import load_split

sys.path.insert(0, str(Path(__file__).parent))
from serve import BIN, free_port, run_httpx, run_wrk, wait_ready  # noqa: E402

DATASETS = ("california", "bengaluru")


def quality(console: Console, settings: object) -> None:
    """The comps' estimate beside the model's on each champion's test split."""
    client = tracking.configure(settings)
    table = Table(title=f"Test split: champion model vs its comps (k={EVALUATION_K}, "
                        "similarity-weighted median)")
    for column in ("dataset", "version", "rows", "estimate", "RMSE", "MAE", "MAPE",
                   "true price in comps range", "model price in comps range"):
        table.add_column(column, justify="left" if column in ("dataset", "estimate") else "right")
    for name in DATASETS:
        dataset = get_dataset(name)
        version = registry.alias_version(client, name, registry.CHAMPION)
        if version is None:
            raise SystemExit(f"no {name} champion: run `make quickstart` first")
        model = registry.load_model(name, version)
        index = comparables_of(model)
        if index is None:
            raise SystemExit(f"{name} v{version} has no comparables: retrain it")
        tags = client.get_model_version(registry.model_name(name), version).tags
        split, _ = load_split(dataset, settings, tags.get("clean_version"))
        X = split.test[list(dataset.feature_columns)]
        actual = split.test[dataset.target].to_numpy(dtype=float)
        prediction, _, _ = predict_with_interval(model, X)
        model_metrics = point_metrics(actual, prediction)
        comps = score_on_test(index, dataset, split.test, prediction)
        for label, m, inside, model_inside in (
                ("model", model_metrics, "", ""),
                ("comps", comps, f"{comps['range_coverage']:.1%}",
                 f"{comps['model_in_range']:.1%}")):
            table.add_row(name, version, f"{len(actual):,}", label, f"{m['rmse']:,.4g}",
                          f"{m['mae']:,.4g}", f"{m['mape']:.1%}", inside, model_inside)
    console.print(table)


def speed(console: Console, settings: object, seconds: float) -> None:
    """Answer rate of /comparables (k=5) against /predict on one server."""
    load = run_wrk if shutil.which("wrk") else run_httpx
    tool = "wrk" if load is run_wrk else "httpx (async, own process)"
    workdir = Path(tempfile.mkdtemp(prefix="homeprice-comps-bench-"))
    port = free_port()
    env = dict(os.environ, MLFLOW_TRACKING_URI=settings.tracking_uri,
               HOMEPRICE_LOG_DB_URL=f"sqlite:///{workdir / 'log.db'}")
    server_log = open(workdir / "server.log", "wb")  # noqa: SIM115
    datasets = [arg for name in DATASETS for arg in ("--datasets", name)]  # one flag each
    process = subprocess.Popen([str(BIN / "homeprice"), "serve", *datasets,
                                "--workers", "1", "--port", str(port)], env=env,
                               stdout=server_log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    results: dict[tuple[str, str, int], dict[str, float]] = {}
    try:
        wait_ready(f"{base}/readyz", process)
        for name in DATASETS:
            body = json.dumps(get_dataset(name).request_example)
            for route in ("predict", "comparables"):
                url = f"{base}/v1/{name}/{route}"
                httpx.post(url, content=body, headers={"content-type": "application/json"},
                           timeout=30).raise_for_status()
                load(url, body, 8, 2)  # warm-up
                for concurrency in (1, 32):
                    results[(name, route, concurrency)] = load(url, body, concurrency, seconds)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
        server_log.close()
        shutil.rmtree(workdir, ignore_errors=True)
    table = Table(title=f"One home per request, homeprice serve (1 worker), load: {tool}, "
                        f"{seconds:.0f}s per run; ratio vs /predict")
    for column in ("dataset", "route", "concurrency", "req/s", "p50 ms", "p99 ms", "ratio"):
        table.add_column(column, justify="left" if column in ("dataset", "route") else "right")
    for name in DATASETS:
        for concurrency in (1, 32):
            peer = results[(name, "predict", concurrency)]["rps"]
            for route in ("predict", "comparables"):
                r = results[(name, route, concurrency)]
                table.add_row(name, route, str(concurrency), f"{r['rps']:,.0f}",
                              f"{r['p50_ms']:.2f}", f"{r['p99_ms']:.2f}",
                              f"{r['rps'] / peer:.2f}x")
    console.print(table)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--skip-speed", action="store_true", help="quality figures only")
    args = parser.parse_args()
    console = Console(width=130)
    settings = load_settings()
    quality(console, settings)
    if not args.skip_speed:
        speed(console, settings, args.seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
