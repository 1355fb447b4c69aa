"""The multi-worker run folder: metric files in a folder of its own, nothing else deleted."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from homeprice.api.server import shared_run_folder
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
