"""Per-prediction enqueue latency of the prediction log with a full queue, against the same
log with room in its queue (the peer), measured in one run.

The database is "down" for the whole run: the writer is never started, so nothing drains the
queue, which is what a long outage looks like to a request handler. Each prediction enqueues
one record, as a single-home /predict does.

    .venv/bin/python benchmarks/log_enqueue.py [--predictions 200] [--queue 1000]
"""

from __future__ import annotations

import argparse
import inspect
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from homeprice.predictionlog import PredictionLog, PredictionRecord


def record() -> PredictionRecord:
    """A plausible single-home record."""
    return PredictionRecord(
        prediction_id=uuid.uuid4().hex, request_id=uuid.uuid4().hex, ts=datetime.now(UTC),
        dataset="california", variant="champion", model_version="1", served=True,
        prediction=300_000.0, lower=240_000.0, upper=360_000.0,
        features={"median_income": 8.3, "ocean_proximity": "NEAR BAY", "latitude": 37.88},
        latency_ms=0.4)


def latencies(log: PredictionLog, n: int) -> list[float]:
    """Seconds each of `n` one-record enqueues took."""
    out = []
    for _ in range(n):
        one = [record()]
        started = time.perf_counter()
        log.enqueue(one)
        out.append(time.perf_counter() - started)
    return out


def new_log(folder: Path, max_queue: int) -> PredictionLog:
    """A log that is never started; spilling into `folder` where this version can spill."""
    options: dict = {"max_queue": max_queue}
    if "spill_dir" in inspect.signature(PredictionLog).parameters:
        options["spill_dir"] = folder / "spill"
    return PredictionLog(f"sqlite:///{folder / 'predictions.db'}", **options)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--predictions", type=int, default=200)
    parser.add_argument("--queue", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        roomy = new_log(folder / "roomy", args.queue + args.predictions)
        peer = latencies(roomy, args.predictions)
        full = new_log(folder / "full", args.queue)
        full.enqueue([record() for _ in range(args.queue)])  # fill the queue
        measured = latencies(full, args.predictions)
        for log in (roomy, full):
            log.close(timeout=1.0)
    for name, values in (("queue with room (peer)", peer), ("queue full", measured)):
        ordered = sorted(values)
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        print(f"{name:24s} median {statistics.median(values) * 1e6:10.1f} us   "
              f"p99 {p99 * 1e6:10.1f} us   max {max(values) * 1e6:10.1f} us")
    ratio = statistics.median(measured) / statistics.median(peer)
    print(f"full / with room (median): {ratio:.1f}x over {args.predictions} predictions")


if __name__ == "__main__":
    main()
