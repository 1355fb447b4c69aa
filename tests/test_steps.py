"""The pipeline declaration, and chaining steps through their JSON results (DVC, Airflow)."""

from __future__ import annotations

import importlib
import inspect
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from homeprice.cli import app
from homeprice.errors import UserInputError
from homeprice.steps import STEPS, StepResult, declared, get_step, step_arguments, step_names

runner = CliRunner()


def test_every_step_gets_its_inputs_from_its_predecessor(monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    calls: dict[str, tuple] = {}

    def fake(name: str) -> Callable[..., StepResult]:
        def record(*args: Any, **kwargs: Any) -> StepResult:
            calls[name] = (*args, kwargs) if kwargs else args
            return StepResult({"dataset": "california", "step": name})
        return record

    for step in STEPS:
        module, _, attribute = step.function.partition(":")
        monkeypatch.setattr(importlib.import_module(module), attribute, fake(step.name))
    previous = {"dataset": "california", "sha256": "ab", "version": "3", "clean_version": "c1",
                "run_id": "r1"}
    for step in STEPS:
        result = step_arguments(step.name, "california", previous, "fast")("S")
        assert result == {"dataset": "california", "step": step.name}  # the JSON ids only
    assert calls == {
        "fetch": ("S", "california"), "validate": ("S", "california", "ab"),
        "clean": ("S", "california", "ab"), "split": ("S", "california", "3"),
        "train": ("S", "california", "c1", {"budget": "fast"}),
        "evaluate": ("S", "california", "r1"), "register": ("S", "california", "r1"),
        "gate": ("S", "california", "3", "r1")}
    # A declared step is callable as before: ids in, JSON ids out.
    assert get_step("gate")("S", "california", "3", "r1") == {"dataset": "california",
                                                              "step": "gate"}


def test_each_declared_function_takes_the_declared_inputs_and_params() -> None:
    assert len(set(step_names())) == len(STEPS)
    for step in STEPS:
        parameters = inspect.signature(step.resolve()).parameters.values()
        positional = [p.name for p in parameters if p.kind is p.POSITIONAL_OR_KEYWORD]
        keywords = {p.name for p in parameters if p.kind is p.KEYWORD_ONLY}
        # The ids are passed by position (split's `clean_version` is clean's `version`).
        assert positional[:2] == ["settings", "dataset"], step.name
        assert len(positional) == 2 + len(step.inputs), step.name
        assert keywords == set(step.params), step.name
        required = {p.name for p in parameters if p.kind is p.KEYWORD_ONLY
                    and p.default is p.empty}
        assert required <= {"budget"}, step.name  # what step_arguments always passes


def test_the_declaration_imports_nothing_heavy() -> None:
    """The Airflow DAG files import it at parse time (the DAG processor has a timeout)."""
    heavy = ("mlflow", "lightgbm", "sklearn", "pandas", "pandera", "homeprice.step_functions")
    code = ("import sys, homeprice.steps; "
            f"print(sorted(m for m in {heavy!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]"


def test_data_only_runs_stop_after_cleaning() -> None:
    assert [s.name for s in declared(data_only=True)] == ["fetch", "validate", "clean"]
    assert declared() == STEPS


def test_missing_input_names_the_key_and_the_flag() -> None:
    with pytest.raises(UserInputError, match="step gate needs version from the previous"):
        step_arguments("gate", "california", {"dataset": "california", "run_id": "r1"}, "fast")


def test_a_result_of_another_dataset_is_refused() -> None:
    with pytest.raises(UserInputError, match="is for bengaluru, not california"):
        step_arguments("clean", "california", {"dataset": "bengaluru", "sha256": "ab"}, "fast")


def test_unknown_step_lists_the_declared_steps() -> None:
    with pytest.raises(UserInputError, match="steps: fetch, validate, clean, split, train"):
        get_step("deploy")


def test_cli_reports_unknown_steps_and_missing_files(tmp_path: Path) -> None:
    unknown = runner.invoke(app, ["pipeline", "step", "deploy", "-d", "california"])
    assert unknown.exit_code == 2 and "unknown step 'deploy'" in unknown.output
    missing = runner.invoke(app, ["pipeline", "step", "clean", "-d", "california", "--after",
                                  str(tmp_path / "fetch.json")])
    assert missing.exit_code == 2 and "no such file" in missing.output
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    bad = runner.invoke(app, ["pipeline", "step", "clean", "-d", "california", "--after",
                              str(broken)])
    assert bad.exit_code == 2 and "not JSON" in bad.output


def test_fetch_step_writes_its_result_atomically(home: Path, tmp_path: Path) -> None:
    target = tmp_path / "runs" / "fetch.json"
    done = runner.invoke(app, ["pipeline", "step", "fetch", "-d", "california", "-o",
                               str(target)])
    assert done.exit_code == 0, done.output
    result = json.loads(target.read_text())
    assert result["dataset"] == "california" and len(result["sha256"]) == 64
    assert result["new"] is True
    again = runner.invoke(app, ["pipeline", "step", "fetch", "-d", "california"])
    assert json.loads(again.output)["new"] is False  # same bytes: nothing new to announce
    assert [p.name for p in target.parent.iterdir()] == ["fetch.json"]
