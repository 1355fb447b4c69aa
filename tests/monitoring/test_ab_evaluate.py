"""`ab evaluate` on a seeded log: decisions, --apply through the registry, webhook delivery."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from homeprice import registry, tracking
from homeprice.cli import app
from homeprice.config import Settings, load_settings
from homeprice.errors import ConflictError
from tests.support.registry import register_variant, seed

runner = CliRunner()


def test_better_shadow_challenger_is_promoted_with_apply(serving_settings: Settings,
                                                         webhook: list[dict]) -> None:
    champion = registry.load_model("california", "1")
    version = register_variant(serving_settings, champion)
    seed(load_settings(), 800, version, 0.6, "shadow")
    report = runner.invoke(app, ["ab", "evaluate", "-d", "california", "--json"])
    assert report.exit_code == 0, report.output
    decision = json.loads(report.output)
    assert decision["action"] == "promote" and decision["mode"] == "shadow"
    assert decision["difference_mae"]["lower"] > 0 and not decision["applied"]
    # The pre-registered cap is reported: a multiple of the champion's offline MAE.
    offline = registry.version_metrics(tracking.configure(load_settings()), "california", "1")
    cap = decision["loss_cap"]
    assert cap["cap"] == pytest.approx(cap["cap_multiple"] * offline["mae"])
    assert decision["offline_mae"] == offline["mae"]
    assert 0 <= decision["champion"]["clipped"] < decision["champion"]["labelled"]
    client = tracking.configure(load_settings())
    assert registry.alias_version(client, "california", "champion") == "1"  # report only

    applied = runner.invoke(app, ["ab", "evaluate", "-d", "california", "--apply"])
    assert applied.exit_code == 0, applied.output
    assert "decision: promote (applied)" in applied.output
    assert registry.alias_version(client, "california", "champion") == version
    last = [e for e in registry.history(client, "california") if e.alias == "champion"][-1]
    assert last.action == "ab-promote" and last.actor == "ab-evaluate"
    assert "anytime-valid" in last.reason
    assert webhook and webhook[0]["event"] == "ab-promote"
    assert webhook[0]["challenger_version"] == version


def test_worse_split_challenger_is_retired_with_apply(serving_settings: Settings,
                                                      webhook: list[dict]) -> None:
    # Guards: retire end to end: decided at the client level, applied through registry.retire
    # (challenger alias cleared, audited, champion untouched) and notified.
    version = register_variant(serving_settings, registry.load_model("california", "1"))
    seed(load_settings(), 800, version, 3.0, "split")
    result = runner.invoke(app, ["ab", "evaluate", "-d", "california", "--apply"])
    assert result.exit_code == 0, result.output
    assert "decision: retire (applied)" in result.output
    assert "challenger is worse" in result.output
    client = tracking.configure(load_settings())
    assert registry.alias_version(client, "california", "champion") == "1"
    assert registry.alias_version(client, "california", "challenger") is None
    last = registry.history(client, "california")[-1]
    assert (last.alias, last.action, last.actor) == ("challenger", "ab-retire", "ab-evaluate")
    assert last.from_version == version and "challenger is worse" in last.reason
    assert [w["event"] for w in webhook] == ["ab-retire"]
    assert webhook[0]["challenger"]["clients"] == 80


def test_split_with_few_clients_points_to_shadow_mode(serving_settings: Settings) -> None:
    # Guards: min_clients: 8 clients per arm, however many labels, decide nothing.
    version = register_variant(serving_settings, registry.load_model("california", "1"))
    seed(load_settings(), 800, version, 3.0, "split", clients=8)
    decision = json.loads(runner.invoke(app, ["ab", "evaluate", "-d", "california",
                                              "--json"]).output)
    assert decision["action"] == "keep" and decision["mode"] == "split"
    assert decision["reason"].startswith("champion has 8 of 30 clients needed in split mode")
    assert "use shadow mode" in decision["reason"]


def test_split_counts_only_rows_logged_in_split_mode(serving_settings: Settings) -> None:
    # Guards: the period filter: rows of unknown mode (logged before 0003) and champion rows
    # of the shadow period never reach split statistics, even of the current pair; here the
    # first would retire the challenger and the second would double the champion's labels.
    version = register_variant(serving_settings, registry.load_model("california", "1"))
    seed(load_settings(), 800, version, 3.0, "split", logged_mode=None)
    seed(load_settings(), 400, version, 0.5, "shadow")
    seed(load_settings(), 300, version, 1.0, "split")
    decision = json.loads(runner.invoke(app, ["ab", "evaluate", "-d", "california",
                                              "--json"]).output)
    assert decision["mode"] == "split" and decision["action"] == "keep"
    assert decision["champion"]["labelled"] == decision["challenger"]["labelled"] == 300
    assert decision["excluded_unknown_mode"] == 1600


def test_too_few_labels_says_so(serving_settings: Settings) -> None:
    version = register_variant(serving_settings, registry.load_model("california", "1"))
    seed(load_settings(), 37, version, 0.5, "shadow")
    result = runner.invoke(app, ["ab", "evaluate", "-d", "california", "--json"])
    decision = json.loads(result.output)
    assert decision["action"] == "keep"
    assert decision["reason"] == "champion has 37 of 100 labelled predictions"


def test_bad_window(serving_settings: Settings) -> None:
    result = runner.invoke(app, ["ab", "evaluate", "-d", "california", "--window", "soon"])
    assert result.exit_code == 2 and "window 'soon'" in result.output


def test_rows_of_an_older_pair_do_not_count(serving_settings: Settings) -> None:
    """The sequence restarts when the pair changes: labels logged before it are ignored."""
    first = register_variant(serving_settings, registry.load_model("california", "1"))
    seed(load_settings(), 800, first, 0.6, "shadow")
    register_variant(serving_settings, registry.load_model("california", "1"))  # new challenger
    result = runner.invoke(app, ["ab", "evaluate", "-d", "california", "--json"])
    decision = json.loads(result.output)
    assert decision["champion"] is None
    assert (decision["action"], decision["reason"]) == (
        "keep", "the champion has no labelled predictions yet")


def test_apply_refuses_when_the_pair_moved_after_evaluation(
        serving_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    from homeprice.monitoring import live

    champion = registry.load_model("california", "1")
    version = register_variant(serving_settings, champion)
    seed(load_settings(), 800, version, 0.6, "shadow")
    client = tracking.configure(load_settings())
    real_decide = live.decide

    def decide_while_an_operator_retires(*args: object, **kwargs: object) -> tuple[str, str]:
        # The race window: the evidence is computed, then someone retires the challenger
        # before --apply acts on it.
        outcome = real_decide(*args, **kwargs)
        registry.retire(client, "california", "operator: pulled it", who="ops")
        return outcome

    monkeypatch.setattr(live, "decide", decide_while_an_operator_retires)
    with pytest.raises(ConflictError, match=f"challenger .* is unset, not v{version}"):
        live.evaluate_live("california", load_settings(), apply=True)
    assert registry.alias_version(client, "california", "champion") == "1"
    last = registry.history(client, "california")[-1]
    assert (last.action, last.actor) == ("retire", "ops")  # and no ab-promote after it
