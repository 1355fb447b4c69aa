"""`homeprice models promote|rollback|retire` with compare-and-set expectations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from homeprice import registry, tracking
from homeprice.cli import app
from tests.support.aliasmoves import DATASET, registered_versions


def test_expected_versions_guard_cli_moves(home: Path, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    registered_versions(uri, 3)
    client = tracking.registry_client(uri)
    registry.promote(client, DATASET, "1", "first")
    client.set_registered_model_alias(registry.model_name(DATASET), registry.CHALLENGER, "3")
    runner = CliRunner()

    stale = runner.invoke(app, ["models", "promote", "--dataset", DATASET, "--version", "2",
                                "--reason", "saw v2", "--expected-champion", "2"])
    assert stale.exit_code == 1 and "is v1, not v2" in stale.output
    moved = runner.invoke(app, ["models", "promote", "--dataset", DATASET, "--version", "2",
                                "--reason", "better", "--expected-champion", "1"])
    assert moved.exit_code == 0 and "v1 -> v2" in moved.output

    wrong = runner.invoke(app, ["models", "retire", "--dataset", DATASET, "--reason", "worse",
                                "--expected-challenger", "2"])
    assert wrong.exit_code == 1 and "challenger" in wrong.output and "not v2" in wrong.output
    retired = runner.invoke(app, ["models", "retire", "--dataset", DATASET, "--reason", "worse",
                                  "--expected-challenger", "3"])
    assert retired.exit_code == 0 and "retired challenger v3" in retired.output
    assert registry.alias_version(client, DATASET, registry.CHALLENGER) is None
    assert [(e.action, e.alias) for e in registry.history(client, DATASET)][-1] == (
        "retire", "challenger")


def test_models_list_shows_each_versions_stage(home: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # Guards `models list` (table and --json) carrying registry.stages: champion, challenger
    # with the configured traffic, previous champion and retired (by which action).
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    registered_versions(uri, 4)
    client = tracking.registry_client(uri)
    registry.promote(client, DATASET, "1", "first")
    client.set_registered_model_alias(registry.model_name(DATASET), registry.CHALLENGER, "2")
    registry.retire(client, DATASET, "worse live", who="erin")
    registry.promote(client, DATASET, "3", "better")
    client.set_registered_model_alias(registry.model_name(DATASET), registry.CHALLENGER, "4")
    runner = CliRunner()

    listed = runner.invoke(app, ["models", "list", "--dataset", DATASET, "--json"])
    assert listed.exit_code == 0, listed.output
    stages = {r["version"]: (r["stage"], r["stage_detail"]) for r in json.loads(listed.output)}
    assert stages["4"] == ("challenger", "in live evaluation (shadow)")  # traffic auto
    assert stages["3"][0] == "champion"
    assert stages["2"][0] == "retired" and stages["2"][1].startswith("by retire (erin, ")
    assert stages["1"] == ("previous champion", "replaced by v3 by promote")

    monkeypatch.setenv("HOMEPRICE_SERVING__TRAFFIC__CALIFORNIA__MODE", "off")
    table = runner.invoke(app, ["models", "list", "--dataset", DATASET])
    assert table.exit_code == 0, table.output
    # (Cells may wrap in the 150-column table: their words are checked, the JSON is exact.)
    assert "traffic off as configured" in table.output and "retired" in table.output
    off = runner.invoke(app, ["models", "list", "--dataset", DATASET, "--json"])
    assert {r["version"]: r["stage_detail"] for r in json.loads(off.output)}["4"] == (
        "no live traffic: traffic mode off")
