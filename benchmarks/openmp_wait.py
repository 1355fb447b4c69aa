"""OpenMP wait policy: a 2-thread LightGBM fit spinning (the runtime's default) against
OMP_WAIT_POLICY=PASSIVE, alone on the machine and with more fits than cores at once.

Why it matters: the OpenMP runtime reads the policy once, when it loads, and the right answer
depends on whether the cores are free. Spinning threads answer the next parallel region at
once when each has a core; when they do not, a spinning thread holds the core its descheduled
peer needs. homeprice leaves the default alone and the test suite (two workers at once) sets
PASSIVE; this script is the measurement behind both choices. Each fit runs in its own Python
process (the policy is per process), the figure is the median fit time, and the ratio is
passive / spinning (above 1: passive is slower).

    .venv/bin/python benchmarks/openmp_wait.py [--concurrent 3] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "california" / "housing.csv"

# One process: fit `repeats` times, print each fit's seconds on one line.
FIT = """
import sys, time
import pandas as pd
from lightgbm import LGBMRegressor
frame = pd.read_csv(sys.argv[1]).dropna()
y = frame.pop("median_house_value").to_numpy()
X = pd.get_dummies(frame, columns=["ocean_proximity"]).astype(float).to_numpy()
for _ in range(int(sys.argv[2])):
    start = time.perf_counter()
    LGBMRegressor(n_estimators=600, learning_rate=0.05, num_leaves=63, n_jobs=2,
                  verbose=-1).fit(X, y)
    print(time.perf_counter() - start, flush=True)
"""


def fit_times(policy: str | None, processes: int, repeats: int, data: Path) -> list[float]:
    """Seconds of every fit of `processes` concurrent processes under one wait policy."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    if policy is not None:
        env["OMP_WAIT_POLICY"] = policy
    children = [subprocess.Popen([sys.executable, "-c", FIT, str(data), str(repeats)],
                                 env=env, stdout=subprocess.PIPE, text=True)
                for _ in range(processes)]
    times: list[float] = []
    for child in children:
        out, _ = child.communicate()
        if child.returncode != 0:
            raise SystemExit(f"a fit process failed (exit {child.returncode})")
        times += [float(line) for line in out.split()]
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrent", type=int, default=3,
                        help="fits at once in the crowded case (default 3: 6 threads, 2 cores)")
    parser.add_argument("--repeats", type=int, default=3, help="fits per process")
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    print(f"{'case':<24}{'spinning s':>12}{'passive s':>12}{'passive/spin':>14}")
    for case, processes in (("alone", 1), (f"{args.concurrent} at once", args.concurrent)):
        spin = statistics.median(fit_times(None, processes, args.repeats, args.data))
        passive = statistics.median(fit_times("PASSIVE", processes, args.repeats, args.data))
        print(f"{case:<24}{spin:>12.2f}{passive:>12.2f}{passive / spin:>14.2f}")


if __name__ == "__main__":
    main()
