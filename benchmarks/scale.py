"""Clean + batch score of synthetic California rows: the local engine against Spark local[2],
wall time and peak memory of each run's whole process tree (Spark's JVM and Python workers
included), with the ratios.

Each engine runs in a child process of its own, sampled with psutil every 0.1 s: the sum of the
tree's resident memory is the peak reported. The model is a small calibrated LightGBM pipeline
fitted on the bundled sample (the engines' cost is the data path, not the model's size).

    PYTHONPATH=src .venv/bin/python benchmarks/scale.py [--rows 1000000] [--seed 1]

Writes under a temporary folder; 200k rows take about two minutes on 2 cores. Measured
(--rows 200000, 2 shared cores): local 11.9 s / 650 MiB (clean 0.5 s, score 5.6 s), Spark
local[2] 64.5 s / 2079 MiB (clean 45.6 s, score 7.1 s): x5.40 wall, x3.20 memory. On one
machine Spark only adds cost (JVM start, Arrow hand-offs, the shuffles of the duplicate
windows); it pays where the data no longer fits one machine's memory or time.
"""

from __future__ import annotations

import argparse
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil


def tree_rss(process: psutil.Process) -> int:
    """Resident bytes of a process and all its descendants."""
    total = 0
    for member in [process, *process.children(recursive=True)]:
        try:
            total += member.memory_info().rss
        except psutil.Error:  # a worker that ended between listing and reading
            pass
    return total


def measured(command: list[str]) -> tuple[float, int]:
    """(wall seconds, peak tree RSS bytes) of a command run to completion."""
    start = time.perf_counter()
    child = subprocess.Popen(command)
    process = psutil.Process(child.pid)
    peak = 0
    while child.poll() is None:
        peak = max(peak, tree_rss(process))
        time.sleep(0.1)
    if child.returncode:
        raise SystemExit(f"{command} failed ({child.returncode})")
    return time.perf_counter() - start, peak


def worker(engine_name: str, folder: Path) -> None:
    """One engine's clean and score of folder/synth.parquet (run in its own process)."""
    from homeprice.config import load_settings
    from homeprice.datasets import get_dataset
    from homeprice.engines import get_engine

    options = {}
    if engine_name == "spark":
        from homeprice.engines.session import spark_session

        options = {"session": spark_session("local[2]", "2g")}
    engine = get_engine(engine_name, **options)
    dataset = get_dataset("california")
    model = pickle.loads((folder / "model.pkl").read_bytes())
    started = time.perf_counter()
    report = engine.clean(dataset, load_settings(), folder / "synth.parquet",
                          folder / f"clean-{engine_name}.parquet")
    cleaned = time.perf_counter()
    engine.score(dataset, model, folder / "synth.parquet",
                 folder / f"scored-{engine_name}.parquet", "bench")
    print(f"  {engine_name}: clean {cleaned - started:.1f} s ({report.rows_out:,} rows kept), "
          f"score {time.perf_counter() - cleaned:.1f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--worker", choices=["local", "spark"], help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.folder)
        return

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from homeprice.config import load_settings
    from homeprice.data.synth import write_synthetic
    from homeprice.datasets import get_dataset
    from tests.engines.conftest import tiny_model

    with tempfile.TemporaryDirectory(prefix="homeprice-scale-") as name:
        folder = Path(name)
        write_synthetic(get_dataset("california"), load_settings(), args.rows,
                        folder / "synth.parquet", seed=args.seed)
        (folder / "model.pkl").write_bytes(pickle.dumps(tiny_model("california")))
        print(f"{args.rows:,} synthetic California rows, clean + score:")
        results = {}
        for engine in ("local", "spark"):
            results[engine] = measured([sys.executable, __file__, "--worker", engine,
                                        "--folder", str(folder)])
    print(f"{'engine':<8}{'wall s':>10}{'peak MiB':>12}")
    for engine, (wall, peak) in results.items():
        print(f"{engine:<8}{wall:>10.1f}{peak / 2**20:>12.0f}")
    (local_wall, local_peak), (spark_wall, spark_peak) = results["local"], results["spark"]
    print(f"spark/local: wall x{spark_wall / local_wall:.2f}, "
          f"peak memory x{spark_peak / local_peak:.2f}")


if __name__ == "__main__":
    main()
