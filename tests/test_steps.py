"""Chaining steps through their JSON results (what `homeprice pipeline step --after` does)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from homeprice.cli import app
from homeprice.errors import UserInputError
from homeprice.steps import STEPS, step_arguments

runner = CliRunner()


def test_every_step_gets_its_inputs_from_its_predecessor(monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    calls: dict[str, tuple] = {}
    for name in STEPS:
        monkeypatch.setitem(STEPS, name, lambda *args, _name=name: calls.setdefault(_name, args))
    previous = {"dataset": "california", "sha256": "ab", "version": "3", "clean_version": "c1",
                "run_id": "r1"}
    for name in STEPS:
        step_arguments(name, "california", previous, "fast")("S")
    assert calls == {
        "fetch": ("S", "california"), "validate": ("S", "california", "ab"),
        "clean": ("S", "california", "ab"), "split": ("S", "california", "3"),
        "train": ("S", "california", "c1", "fast"), "evaluate": ("S", "california", "r1"),
        "register": ("S", "california", "r1"), "gate": ("S", "california", "3", "r1")}


def test_missing_input_names_the_key_and_the_flag() -> None:
    with pytest.raises(UserInputError, match="step gate needs version from the previous"):
        step_arguments("gate", "california", {"dataset": "california", "run_id": "r1"}, "fast")


def test_a_result_of_another_dataset_is_refused() -> None:
    with pytest.raises(UserInputError, match="is for bengaluru, not california"):
        step_arguments("clean", "california", {"dataset": "bengaluru", "sha256": "ab"}, "fast")


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
