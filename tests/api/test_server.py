"""Running the server: the multi-worker run folder (metric files in a folder of its own,
nothing else deleted) and how many workers "auto" starts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from homeprice.api import server
from homeprice.api.server import shared_run_folder
from homeprice.config import ServingSettings
from homeprice.serving.metrics import MULTIPROC_ENV


def test_operator_metrics_dir_keeps_every_file_it_holds(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    operator_dir = tmp_path / "home"
    operator_dir.mkdir()
    kept = {"mlflow.db": b"SQLite format 3\x00", "predictions.db": b"rows",
            "counter_999.db": b"another server's metrics", "notes.txt": b"hello"}
    for name, payload in kept.items():
        (operator_dir / name).write_bytes(payload)
    monkeypatch.setenv(MULTIPROC_ENV, str(operator_dir))

    with shared_run_folder() as run_dir:
        assert {p.name: p.read_bytes() for p in operator_dir.iterdir() if p.is_file()} == kept
        metrics_dir = Path(os.environ[MULTIPROC_ENV])
        assert metrics_dir.parent == operator_dir and metrics_dir.name.startswith(
            "homeprice-metrics-")
        assert list(metrics_dir.iterdir()) == []  # the collector reads only this run's files
        (metrics_dir / f"counter_{os.getpid()}.db").write_bytes(b"x")
        assert run_dir.is_dir()

    assert not metrics_dir.exists() and not run_dir.exists()
    assert {p.name: p.read_bytes() for p in operator_dir.iterdir()} == kept
    assert os.environ[MULTIPROC_ENV] == str(operator_dir)


def test_without_operator_dir_metrics_live_in_the_run_folder(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MULTIPROC_ENV, raising=False)
    with shared_run_folder() as run_dir:
        assert Path(os.environ[MULTIPROC_ENV]) == run_dir / "metrics"
        assert (run_dir / "metrics").is_dir()
    assert not run_dir.exists() and MULTIPROC_ENV not in os.environ


def _cores(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, affinity: int,
           cpu_max: str | None) -> Path:
    """This process on `affinity` cores, in cgroup v2 /app/api under a cpu.max of `cpu_max`
    (None: none) there; the cgroup root (a folder of tmp_path)."""
    monkeypatch.setattr(server.os, "sched_getaffinity", lambda pid: set(range(affinity)))
    root = tmp_path / "cgroup"
    (root / "app" / "api").mkdir(parents=True)
    if cpu_max is not None:
        (root / "app" / "api" / "cpu.max").write_text(cpu_max + "\n")
    (tmp_path / "self-cgroup").write_text("0::/app/api\n")
    monkeypatch.setattr(server, "_CGROUP_ROOT", root)
    monkeypatch.setattr(server, "_PROC_CGROUP", tmp_path / "self-cgroup")
    return root


@pytest.mark.parametrize(("affinity", "cpu_max", "expected"), [
    (2, None, 2),                 # no cgroup file: the affinity mask
    (4, "max 100000", 4),         # a cgroup with no quota
    (32, "200000 100000", 2),     # a 2-CPU container on a 32-core host
    (32, "150000 100000", 2),     # 1.5 CPUs: rounded up
    (32, "50000 100000", 1),      # half a CPU: one process
    (3, "800000 100000", 3),      # taskset to 3 cores under a larger quota
    (64, None, server.AUTO_WORKERS_MAX),
    (2, "garbage", 2),            # unreadable quota: ignored
])
def test_auto_workers_follow_the_cores_this_process_may_use(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, affinity: int, cpu_max: str | None,
        expected: int) -> None:
    _cores(monkeypatch, tmp_path, affinity, cpu_max)
    assert ServingSettings().workers == "auto"
    assert server.worker_count(ServingSettings()) == expected


def test_a_parent_cgroups_quota_counts_too(monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path) -> None:
    root = _cores(monkeypatch, tmp_path, 16, "max 100000")
    (root / "app" / "cpu.max").write_text("300000 100000\n")
    (root / "cpu.max").write_text("800000 100000\n")
    assert server.available_cores() == 3  # the tightest on the way up


def test_an_unreadable_cgroup_file_leaves_the_others(monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path) -> None:
    root = _cores(monkeypatch, tmp_path, 16, "200000 100000")
    (root / "app" / "cpu.max").mkdir()  # reading a folder fails, as a forbidden file does
    assert server.available_cores() == 2


def test_cgroup_v1_quota_counts_too(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    root = _cores(monkeypatch, tmp_path, 16, None)
    (root / "cpu").mkdir()
    (root / "cpu" / "cpu.cfs_quota_us").write_text("300000\n")
    (root / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert server.available_cores() == 3
    (root / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")  # v1's "no limit"
    assert server.available_cores() == 16


def test_without_a_cgroup_file_the_affinity_mask_counts(monkeypatch: pytest.MonkeyPatch,
                                                        tmp_path: Path) -> None:
    _cores(monkeypatch, tmp_path, 5, None)
    monkeypatch.setattr(server, "_PROC_CGROUP", tmp_path / "missing")
    assert server.available_cores() == 5


def test_a_given_worker_count_is_kept(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _cores(monkeypatch, tmp_path, 2, "100000 100000")
    assert server.worker_count(ServingSettings(workers=3)) == 3
    assert server.worker_count(ServingSettings(workers="1")) == 1
    for bad in (0, 65, "two"):
        with pytest.raises(ValidationError, match="workers"):
            ServingSettings(workers=bad)
