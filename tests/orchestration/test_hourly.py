"""The hourly live evaluation without Airflow (`python -m homeprice.orchestration.hourly`, the
Kubernetes CronJob): the DAG's steps in its order, skips for too little data, and one failure
never stopping the other steps."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from homeprice.config import Settings
from homeprice.orchestration import hourly


def test_a_fresh_home_decides_skips_drift_and_prunes(home: Path) -> None:
    # Guards the CronJob's contract on a new install: no champion yet is not a failure (the
    # drift checks skip, the decisions keep), the exit status is 0, and the steps run in the
    # DAG's order: every decision, then every drift check, then retention.
    result = subprocess.run([sys.executable, "-m", "homeprice.orchestration.hourly"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [line.split(" INFO ", 1)[1] for line in result.stderr.splitlines()
             if " INFO " in line and line.split(" INFO ", 1)[1].startswith(
                 ("ab_evaluate", "monitor_drift", "prune_log"))]
    assert [line.split(":")[0] for line in lines] == [
        "ab_evaluate california", "ab_evaluate bengaluru",
        "monitor_drift california", "monitor_drift bengaluru", "prune_log"]
    assert all(": ok, keep" in line for line in lines[:2]), lines
    assert all(": skipped, " in line and "no champion" in line for line in lines[2:4]), lines
    assert lines[4].startswith("prune_log: ok, 0 predictions")


def test_one_failing_step_fails_the_run_after_every_other_step(
        settings: Settings, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    # Guards the isolation: California's decision raising must not hold back Bengaluru's, the
    # drift checks or retention; the run then exits 1 naming the failed step and its reason.
    from homeprice.monitoring import live

    real = live.evaluate_live

    def evaluate(dataset: str, *args: object, **kwargs: object) -> object:
        if dataset == "california":
            raise RuntimeError("registry unreachable")
        return real(dataset, *args, **kwargs)

    monkeypatch.setattr(live, "evaluate_live", evaluate)
    outcomes = hourly.run_hourly(settings)
    assert [(o.step, o.dataset, o.status) for o in outcomes] == [
        ("ab_evaluate", "california", "failed"), ("ab_evaluate", "bengaluru", "ok"),
        ("monitor_drift", "california", "skipped"), ("monitor_drift", "bengaluru", "skipped"),
        ("prune_log", None, "ok")]
    assert outcomes[0].detail == "RuntimeError: registry unreachable"
    assert hourly.main() == 1
    assert "failed: ab_evaluate california: RuntimeError: registry unreachable" in (
        capsys.readouterr().err)
