"""Running the app under uvicorn: one process, or several workers sharing one run folder."""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from homeprice.config import ServingSettings, Settings
from homeprice.serving.metrics import MULTIPROC_ENV


@contextlib.contextmanager
def shared_run_folder() -> Iterator[Path]:
    """A fresh folder for the workers of one server run, removed at exit.

    Prometheus metric files go to a fresh folder this run creates and owns: `metrics/` inside
    the run folder, or a new `homeprice-metrics-*` folder inside $PROMETHEUS_MULTIPROC_DIR when
    the operator set it. Never the operator's folder itself: prometheus_client reads every *.db
    file there as metrics, and emptying it would delete whatever else lives there (pointed at
    the home, mlflow.db).
    """
    operator_dir = os.environ.get(MULTIPROC_ENV)
    run_dir = Path(tempfile.mkdtemp(prefix="homeprice-serve-"))
    metrics_dir = run_dir / "metrics"
    try:
        if operator_dir:
            Path(operator_dir).mkdir(parents=True, exist_ok=True)
            # Fresh, so no file of an earlier run is counted again.
            metrics_dir = Path(tempfile.mkdtemp(prefix="homeprice-metrics-", dir=operator_dir))
        else:
            metrics_dir.mkdir()
        os.environ[MULTIPROC_ENV] = str(metrics_dir)
        yield run_dir
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
        shutil.rmtree(metrics_dir, ignore_errors=True)
        if operator_dir is None:
            os.environ.pop(MULTIPROC_ENV, None)
        else:
            os.environ[MULTIPROC_ENV] = operator_dir


# "auto" workers stop here: each worker holds its own copy of every served model and its own
# log connection, so past a handful more processes cost memory for little; scale replicas.
AUTO_WORKERS_MAX = 8
# Where cgroup files are, and this process's cgroup (v2: the line "0::<path>").
_CGROUP_ROOT = Path("/sys/fs/cgroup")
_PROC_CGROUP = Path("/proc/self/cgroup")


def _cgroup_v2_limits() -> list[Path]:
    """The cgroup v2 cpu.max files that limit this process: its own cgroup's and each parent's
    up to the root (inside a container the namespace makes its cgroup the root)."""
    try:
        lines = _PROC_CGROUP.read_text().splitlines()
    except OSError:
        lines = []
    own = next((line[3:] for line in lines if line.startswith("0::")), "/")
    folder = _CGROUP_ROOT / own.strip("/")
    files = []
    while True:
        files.append(folder / "cpu.max")
        if folder == _CGROUP_ROOT or _CGROUP_ROOT not in folder.parents:
            return files
        folder = folder.parent


def _cgroup_cpus() -> float | None:
    """The tightest CPU quota of this process's cgroups in cores (2.5 for 250ms per 100ms), or
    None when there is none or none can be read (a file that cannot be read is skipped, not
    the others). os.cpu_count() and the affinity mask ignore it: a container limited to 2 CPUs
    on a 32-core host sees 32."""
    quotas = [quota for limit in _cgroup_v2_limits() if (quota := _v2_quota(limit)) is not None]
    if not quotas:
        v1 = _CGROUP_ROOT / "cpu"
        try:
            quota_us = int((v1 / "cpu.cfs_quota_us").read_text())
            if quota_us > 0:
                quotas.append(quota_us / int((v1 / "cpu.cfs_period_us").read_text()))
        except (OSError, ValueError):
            pass
    return min(quotas, default=None)


def _v2_quota(limit: Path) -> float | None:
    """The quota of one cgroup v2 cpu.max file in cores; None for "max" or an unreadable file."""
    try:
        quota, period = limit.read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        return None


def available_cores() -> int:
    """The cores this process may run on: its CPU affinity mask (taskset, cpusets), lowered to
    its cgroup CPU quota rounded up (a 1.5-CPU limit still runs two processes usefully)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    quota = _cgroup_cpus()
    if quota is not None:
        cores = min(cores or 1, math.ceil(quota))
    return max(1, cores or 1)


def worker_count(serving: ServingSettings) -> int:
    """The server processes of `serving.workers`: a number as given, or "auto" (one per
    available core, at most AUTO_WORKERS_MAX). Requests are CPU-bound, so one worker per core
    is where throughput stops growing (benchmarks/serve.py)."""
    if serving.workers == "auto":
        return min(available_cores(), AUTO_WORKERS_MAX)
    return serving.workers


def uvicorn_options(serving: ServingSettings) -> dict[str, Any]:
    """uvicorn's options for one server run, whatever the number of workers."""
    from homeprice.serving.transport import CoalescingHttpToolsProtocol

    # httptools with each response's head and body in one write (serving/transport.py).
    return dict(host=serving.host, port=serving.port, loop="uvloop",
                http=CoalescingHttpToolsProtocol, log_level="warning", access_log=False,
                timeout_graceful_shutdown=30)


def serve(settings: Settings) -> None:
    """Serve `settings.serving` until SIGTERM/SIGINT."""
    import uvicorn

    serving = settings.serving
    options = uvicorn_options(serving)
    workers = worker_count(serving)
    if workers == 1:
        from homeprice.api import create_api

        uvicorn.run(create_api(settings), **options)
        return
    from homeprice.predictionlog import PredictionLog

    prediction_log = PredictionLog(settings.log_url)
    try:
        prediction_log.prepare()
    finally:
        prediction_log.close()
    with shared_run_folder() as run_dir:
        # Several processes need an import string; each builds its app from the environment,
        # which the spawned workers inherit.
        os.environ["HOMEPRICE_SERVING__DATASETS"] = json.dumps(serving.datasets)
        os.environ["HOMEPRICE_SERVING__RUN_DIR"] = str(run_dir)
        uvicorn.run("homeprice.api:api_from_environment", factory=True,
                    workers=workers, **options)
