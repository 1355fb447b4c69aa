"""Replay: a registered model scored on logged, labelled requests; decided as `ab evaluate`."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from homeprice import registry, tracking
from homeprice.config import Settings
from homeprice.datasets import get_dataset
from homeprice.errors import NotFoundError
from homeprice.monitoring.abtest import ABRules, Preregistered
from homeprice.monitoring.replay import model_input, replay
from homeprice.monitoring.sequential import confidence_sequence
from homeprice.training.evaluation import predict_with_interval
from tests.support.registry import constant_price_copy, register_variant
from tests.support.replaylog import homes, seed_favouring


def test_replay_of_a_model_the_labels_favour_promotes_with_hand_computed_numbers(
        serving_settings: Settings) -> None:
    version = register_variant(serving_settings, registry.load_model("california", "1"))
    served, actual = seed_favouring(serving_settings, version, 150, 1.3)
    result = replay("california", serving_settings, version, "7d")
    decision = result.decision
    assert decision.action == "promote" and decision.mode == "replay"
    # Only the 150 champion-served rows count (not their shadow rows), each once.
    assert decision.champion.labelled == decision.challenger.labelled == 150
    candidate = registry.load_model("california", version)
    predicted, lower, upper = predict_with_interval(
        candidate, model_input(homes(150), list(get_dataset("california").feature_columns)))
    rules = ABRules()
    # The pre-registered cap and scale: the current champion's offline MAE.
    offline = registry.version_metrics(tracking.configure(serving_settings), "california", "1")
    pre = Preregistered.from_offline(offline, rules)
    assert pre is not None and decision.details["loss_cap"]["cap"] == pytest.approx(pre.cap)
    served_error, replayed_error = np.abs(served - actual), np.abs(predicted - actual)
    assert decision.champion.raw_mae == pytest.approx(np.mean(served_error))
    assert decision.champion.mae.mean == pytest.approx(np.mean(np.minimum(served_error,
                                                                          pre.cap)))
    assert decision.challenger.mae.mean == pytest.approx(np.mean(np.minimum(replayed_error,
                                                                            pre.cap)))
    assert decision.challenger.clipped == int((replayed_error > pre.cap).sum())
    assert decision.challenger.rmse == pytest.approx(np.sqrt(np.mean((predicted - actual)**2)))
    covered = ((actual >= lower) & (actual <= upper)).mean()
    assert decision.challenger.coverage.mean == pytest.approx(covered)
    # Paired, standardised, tuned for 2 v (1 - r): the same CS as shadow mode, in dollars.
    expected = confidence_sequence(pre.losses(served_error) - pre.losses(replayed_error),
                                   rules.alpha, rules.t_star,
                                   2 * pre.variance * (1 - rules.paired_correlation)
                                   ).scaled(pre.scale)
    assert decision.difference.mean == pytest.approx(expected.mean)
    assert decision.difference.lower == pytest.approx(expected.lower) and expected.lower > 0
    body = result.to_dict()
    assert body["note"] == "replay: offline evidence, nothing applied"
    assert body["applied"] is False and body["challenger_version"] == version
    client = tracking.configure(serving_settings)
    assert registry.alias_version(client, "california", "champion") == "1"  # never moved


def test_challenger_replay_on_rows_the_champion_served_keeps_an_equal_challenger(
        serving_settings: Settings) -> None:
    # The champion served exactly what the challenger (a copy of it) predicts, close to the
    # labels: no evidence either way, so the challenger is kept, never promoted.
    version = register_variant(serving_settings, registry.load_model("california", "1"))
    seed_favouring(serving_settings, version, 150, 1.0)
    decision = replay("california", serving_settings, "challenger").decision
    assert decision.challenger.model_version == version
    assert decision.champion.model_version == "1"
    assert decision.action == "keep"


def test_a_worse_model_is_retired_on_paper_only(serving_settings: Settings) -> None:
    # Guards: replay may reach "retire" but marks it offline evidence and never applies it.
    worse = register_variant(serving_settings,
                             constant_price_copy(registry.load_model("california", "1")))
    seed_favouring(serving_settings, "1", 150, 1.0)  # labels close to what was served
    result = replay("california", serving_settings, worse, "7d")
    assert result.decision.action == "retire"
    assert result.decision.reason.startswith("challenger is worse")
    body = result.to_dict()
    assert (body["applied"], body["evidence"]) == (False, "offline")
    assert body["note"] == "replay: offline evidence, nothing applied"
    client = tracking.configure(serving_settings)
    assert registry.alias_version(client, "california", "challenger") == worse  # not cleared
    assert [e.action for e in registry.history(client, "california")
            if e.alias == "challenger"][-1] != "ab-retire"


def test_rows_outside_the_window_do_not_count(serving_settings: Settings) -> None:
    version = register_variant(serving_settings, registry.load_model("california", "1"))
    seed_favouring(serving_settings, version, 20, 1.3, age=timedelta(days=3))
    with pytest.raises(NotFoundError, match=r"in the last 24h \(since "):
        replay("california", serving_settings, version, "24h")
    assert replay("california", serving_settings, version, "7d").decision.champion.labelled == 20


def test_unknown_version_and_missing_alias(serving_settings: Settings) -> None:
    with pytest.raises(NotFoundError, match="homeprice-california has no version 999"):
        replay("california", serving_settings, "999")
    with pytest.raises(NotFoundError, match="no 'challenger' alias"):
        replay("california", serving_settings, "challenger")


def test_bad_since_names_the_option(serving_settings: Settings) -> None:
    from homeprice.errors import UserInputError

    with pytest.raises(UserInputError, match="since 'soon' is not a duration"):
        replay("california", serving_settings, "1", "soon")


def test_a_dataset_not_served_is_named(serving_settings: Settings) -> None:
    only_bengaluru = serving_settings.model_copy(deep=True)
    only_bengaluru.serving.datasets = ["bengaluru"]
    with pytest.raises(NotFoundError, match=r"california is not served \(serving.datasets: "
                                            r"bengaluru\)"):
        replay("california", only_bengaluru, "1")


def test_archived_requests_are_replayed_too(serving_settings: Settings) -> None:
    from typer.testing import CliRunner

    from homeprice.cli import app
    from homeprice.predictionlog import PredictionLog

    version = register_variant(serving_settings, registry.load_model("california", "1"))
    served, actual = seed_favouring(serving_settings, version, 30, 1.3, age=timedelta(days=3))
    pruned = CliRunner().invoke(app, ["log", "prune", "--older-than", "2d"])
    assert pruned.exit_code == 0, pruned.output
    log = PredictionLog(serving_settings.log_url)
    log.start()
    try:
        assert log.count("california") == 0  # every seeded row now lives in the archive only
    finally:
        log.close()
    decision = replay("california", serving_settings, version, "7d").decision
    assert decision.champion.labelled == decision.challenger.labelled == 30
    assert decision.champion.raw_mae == pytest.approx(np.mean(np.abs(served - actual)))
