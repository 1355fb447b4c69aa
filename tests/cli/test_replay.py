"""`homeprice replay`: the table, the decision marked as offline evidence, JSON and errors."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from homeprice import registry, tracking
from homeprice.cli import app
from homeprice.config import Settings
from tests.support.registry import register_variant
from tests.support.replaylog import seed_favouring

runner = CliRunner()


def test_replay_prints_the_ab_table_and_an_unapplied_decision(serving_settings: Settings
                                                              ) -> None:
    version = register_variant(serving_settings, registry.load_model("california", "1"))
    seed_favouring(serving_settings, version, 120, 1.3)
    shown = runner.invoke(app, ["replay", "-d", "california", "--model", "challenger",
                                "--since", "7d"], terminal_width=200)
    assert shown.exit_code == 0, shown.output
    assert "MAE [CS]" in shown.output and "coverage [CS]" in shown.output
    assert "decision: promote: challenger MAE lower by" in shown.output
    assert "replay: offline evidence, nothing applied" in shown.output
    as_json = runner.invoke(app, ["replay", "-d", "california", "--model", version, "--json"])
    assert as_json.exit_code == 0, as_json.output
    body = json.loads(as_json.output)
    assert body["action"] == "promote" and body["mode"] == "replay"
    assert body["champion"]["labelled"] == body["challenger"]["labelled"] == 120
    assert body["note"] == "replay: offline evidence, nothing applied" and not body["applied"]
    client = tracking.configure(serving_settings)
    assert registry.alias_version(client, "california", "champion") == "1"
    assert registry.alias_version(client, "california", "challenger") == version


def test_replay_errors_are_one_line_reasons(serving_settings: Settings) -> None:
    unknown = runner.invoke(app, ["replay", "-d", "california", "--model", "999"])
    assert unknown.exit_code == 1 and "homeprice-california has no version 999" in unknown.output
    empty = runner.invoke(app, ["replay", "-d", "california", "--model", "1", "--since", "2h"])
    assert empty.exit_code == 1
    assert "no labelled champion-served predictions of california in the last 2h" in (
        empty.output)
    bad = runner.invoke(app, ["replay", "-d", "california", "--model", "1", "--since", "soon"])
    assert bad.exit_code == 2 and "since 'soon'" in bad.output
