"""`homeprice models promote|rollback|retire` with compare-and-set expectations."""

from __future__ import annotations

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
