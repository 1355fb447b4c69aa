"""Interleaved A/B of `homeprice serve` variants: two commits, or two settings, in rounds.

One run of `benchmarks/serve.py` measures each server once, in sequence; on a shared 2-core
machine two runs of the same code differ by a third, so a change worth 10% cannot be read off
two such runs. This script starts each variant in turn, round after round (A, B, A, B, ...),
drives it with wrk exactly as serve.py does, and prints each variant's median requests/s and
its ratio to the first variant (the peer), with every round's figure, so the spread shows.

A variant is NAME=SOURCE[:ENV=VALUE,...]: SOURCE is a `src` folder put first on PYTHONPATH
(a `git worktree` of another commit, say) or `-` for this checkout; ENV settings are passed to
the server. It needs a trained home (a California champion) and wrk.

    git worktree add /tmp/base HEAD~3
    .venv/bin/python benchmarks/serve_ab.py base=/tmp/base/src head=- --rounds 3
    .venv/bin/python benchmarks/serve_ab.py on=- off=-:HOMEPRICE_SERVING__LOG_PREDICTIONS=false
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
import serve  # noqa: E402  (the helpers of the side-by-side benchmark, this folder)

LOADS = {"batch": ("batch", 1), "single1": ("single", 1), "single32": ("single", 32)}


def variant(text: str) -> tuple[str, str | None, dict[str, str]]:
    """NAME=SOURCE[:ENV=VALUE,...] -> (name, src folder or None, environment)."""
    name, sep, rest = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"{text!r}: expected NAME=SOURCE[:ENV=VALUE,...]")
    source, _, settings = rest.partition(":")
    env = {}
    for pair in filter(None, settings.split(",")):
        key, sep, value = pair.partition("=")
        if not sep:
            raise argparse.ArgumentTypeError(f"{pair!r}: expected ENV=VALUE")
        env[key] = value
    if source not in ("", "-") and not (Path(source) / "homeprice").is_dir():
        raise argparse.ArgumentTypeError(f"{source}: not a src folder with a homeprice package")
    return name, None if source in ("", "-") else source, env


def measure(name: str, source: str | None, extra: dict[str, str], loads: list[str],
            seconds: float, workdir: Path) -> dict[str, float]:
    """Start one variant, wait for its workers and compiled trees, and run each load."""
    port = serve.free_port()
    slug = f"{name}-{len(list(workdir.glob(name + '-*.log')))}"
    # A fresh log per server, in the run folder; a variant may name its own (PostgreSQL).
    env = {**os.environ, "HOMEPRICE_LOG_DB_URL": f"sqlite:///{workdir / (slug + '.db')}",
           "HOMEPRICE_SERVING__LOG_SPILL_DIR": str(workdir / f"{slug}-spill"), **extra}
    if source is not None:
        env["PYTHONPATH"] = source
    workers = serve.worker_count(serve.ServingSettings(workers="auto"))
    with open(workdir / f"{slug}.log", "wb") as server_log:
        process = subprocess.Popen(
            [str(serve.BIN / "homeprice"), "serve", "--datasets", "california", "--workers",
             "auto", "--port", str(port)], env=env, stdout=server_log,
            stderr=subprocess.STDOUT, start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        url = f"{base}/v1/california/predict"
        bodies = {"single": json.dumps(serve.ROW),
                  "batch": json.dumps({"instances": [serve.ROW] * 1000})}
        try:
            serve.wait_ready(f"{base}/readyz", process)
            serve.wait_workers(base, workers, process)
            serve.wait_compiled_trees(base, process, 5)
            for body in bodies.values():
                httpx.post(url, content=body, headers={"content-type": "application/json"},
                           timeout=60).raise_for_status()
            serve.run_wrk(url, bodies["single"], 8, 2)  # warm-up
            out = {}
            for load in loads:
                kind, concurrency = LOADS[load]
                out[load] = serve.run_wrk(url, bodies[kind], concurrency, seconds)["rps"]
            return out
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=400)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variants", nargs="+", type=variant,
                        help="NAME=SOURCE[:ENV=VALUE,...]; the first is the peer")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--loads", default="batch,single32,single1",
                        help=f"comma-separated, of {', '.join(LOADS)}")
    args = parser.parse_args()
    loads = args.loads.split(",")
    if unknown := set(loads) - set(LOADS):
        parser.error(f"unknown loads {sorted(unknown)}; known: {', '.join(LOADS)}")
    if len({name for name, _, _ in args.variants}) != len(args.variants):
        parser.error("variant names must differ")
    if not shutil.which("wrk"):
        parser.error("needs wrk (apt-get install wrk)")
    workdir = Path(tempfile.mkdtemp(prefix="homeprice-serve-bench-ab-"))
    results: dict[tuple[str, str], list[float]] = {}
    try:
        for round_ in range(args.rounds):
            for name, source, extra in args.variants:
                for load, rps in measure(name, source, extra, loads, args.seconds,
                                         workdir).items():
                    results.setdefault((name, load), []).append(rps)
                    print(f"round {round_ + 1}: {name} {load} {rps:,.1f} req/s", flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    peer = args.variants[0][0]
    print(f"\nmedian req/s of {args.rounds} interleaved rounds, {args.seconds:.0f} s each; "
          f"ratio against {peer}")
    for load in loads:
        base = statistics.median(results[(peer, load)])
        for name, _, _ in args.variants:
            runs = results[(name, load)]
            print(f"{load:9s} {name:12s} {statistics.median(runs):10,.1f}  "
                  f"{statistics.median(runs) / base:5.2f}x   rounds: "
                  + ", ".join(f"{r:,.1f}" for r in runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
