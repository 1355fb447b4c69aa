"""dvc.yaml follows the step declaration; `dvc repro` on a copy of the repository runs every
stage, and a second run does nothing."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from homeprice.steps import STEPS, step_names
from tests.support.paths import REPO


def _paths(entries: list) -> list[str]:
    """The paths of a stage's deps, outs or metrics (an entry is a path or {path: options})."""
    return [entry if isinstance(entry, str) else next(iter(entry)) for entry in entries]


def _options(command: str) -> dict[str, str]:
    """A `homeprice pipeline step` command's options, by flag."""
    words = shlex.split(command)
    return {word: value for word, value in zip(words, words[1:], strict=False)
            if word.startswith("-")}


def test_dvc_stages_follow_the_declaration() -> None:
    """Same steps, same order; each stage reads the JSON result the stage before it wrote."""
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    assert list(stages) == step_names()
    previous_result: str | None = None
    for step in STEPS:
        stage = stages[step.name]
        assert stage["foreach"] == "${datasets}", step.name
        do = stage["do"]
        command = " ".join(do["cmd"].split())
        assert f"homeprice pipeline step {step.name} -d ${{item}} " in command, step.name
        options = _options(command)
        written = _paths(do.get("outs", []) + do.get("metrics", []))
        assert written == [options["-o"]], step.name  # its one output is its JSON result
        assert written[0].startswith("dvc-runs/${item}/"), step.name
        if step.inputs:
            assert options["--after"] == previous_result, step.name
            assert previous_result in _paths(do["deps"]), step.name
        else:
            assert "--after" not in options, step.name
        params = _paths(do.get("params", []))
        if "budget" in step.params:
            assert options["--budget"] == "${budget}" and "budget" in params, step.name
        else:
            assert "--budget" not in options and "budget" not in params, step.name
        previous_result = written[0]


def repository_files() -> list[str]:
    """The files git would commit (tracked, or new and not ignored)."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                            cwd=REPO, capture_output=True, text=True, check=True)
    return [name for name in listed.stdout.splitlines() if (REPO / name).is_file()]


def run(command: list[str], cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=1800)
    assert done.returncode == 0, f"{command}: {done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.mark.slow
def test_dvc_repro_runs_once(tmp_path: Path, real_data_dir: Path) -> None:
    repo = tmp_path / "repo"
    for name in repository_files():
        target = repo / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, target)
    shutil.copytree(real_data_dir, tmp_path / "shared" / "data")  # params.yaml: ../shared/data
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params.update(datasets=["california"], budget="fast")  # one dataset keeps the test short
    (repo / "params.yaml").write_text(yaml.safe_dump(params))

    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HOMEPRICE_", "MLFLOW_", "DVC_"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    dvc = [sys.executable, "-m", "dvc"]
    git = ["git", "-c", "user.email=ci@homeprice", "-c", "user.name=ci"]
    run([*git, "init", "-q"], repo, env)
    run([*dvc, "init", "-q"], repo, env)
    run([*git, "add", "-A"], repo, env)
    run([*git, "commit", "-qm", "copy"], repo, env)

    first = run([*dvc, "repro"], repo, env)
    for stage in step_names():
        assert f"Running stage '{stage}@california'" in first
    gate = json.loads((repo / "dvc-runs" / "california" / "gate.json").read_text())
    assert gate["version"] == "1" and gate["dataset"] == "california"
    metrics = json.loads(run([*dvc, "metrics", "show", "--json"], repo, env))
    shown = json.dumps(metrics)
    assert "rmse" in shown and "interval_coverage" in shown

    second = run([*dvc, "repro"], repo, env)
    assert "Running stage" not in second
    assert "Data and pipelines are up to date" in second
