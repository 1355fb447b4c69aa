"""`homeprice models promote` then `models rollback`: the aliases move and are audited."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from homeprice import registry, tracking
from homeprice.cli import app
from tests.support.aliasmoves import DATASET, registered_versions


def test_promote_and_rollback_move_the_champion(home: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Guards both commands' success paths: the alias really moves (and back), each move is
    audited with the reason and the CLI's actor, and the line printed says what happened."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("HOMEPRICE_ACTOR", "ops-alice")
    registered_versions(uri, 2)
    client = tracking.registry_client(uri)
    runner = CliRunner()

    for version, previous in (("1", "-"), ("2", "1")):
        promoted = runner.invoke(app, ["models", "promote", "--dataset", DATASET, "--version",
                                       version, "--reason", f"release v{version}"])
        assert promoted.exit_code == 0, promoted.output
        assert f"champion of {DATASET}: v{previous} -> v{version}" in promoted.output
    assert registry.alias_version(client, DATASET, registry.CHAMPION) == "2"

    rolled = runner.invoke(app, ["models", "rollback", "--dataset", DATASET, "--reason",
                                 "v2 misprices"])

    assert rolled.exit_code == 0, rolled.output
    assert f"rolled back {DATASET}: champion v2 -> v1" in rolled.output
    assert registry.alias_version(client, DATASET, registry.CHAMPION) == "1"
    moves = [(e.action, e.from_version, e.to_version, e.reason, e.actor)
             for e in registry.history(client, DATASET) if e.alias == registry.CHAMPION]
    assert moves == [("promote", None, "1", "release v1", "ops-alice"),
                     ("promote", "1", "2", "release v2", "ops-alice"),
                     ("rollback", "2", "1", "v2 misprices", "ops-alice")]

    nothing_left = runner.invoke(app, ["models", "rollback", "--dataset", DATASET, "--reason",
                                       "again"])
    assert nothing_left.exit_code == 1 and "no previous champion" in nothing_left.output
    assert registry.alias_version(client, DATASET, registry.CHAMPION) == "1"
