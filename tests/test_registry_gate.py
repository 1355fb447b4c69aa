"""The gate's margin over the champion, at its exact edge, read from the configured setting."""

from __future__ import annotations

import pytest

from homeprice import registry
from homeprice.config import Settings
from homeprice.formatting import human_number

GOOD = {"rmse": 40_000.0, "r2": 0.88, "mae": 27_000.0, "mape": 0.15}


@pytest.mark.parametrize("min_improvement", [0.005, 0.03])
def test_the_margin_is_the_configured_one_exactly(min_improvement: float) -> None:
    """Guards the margin arithmetic: a gate that demands more (4x min_improvement) refuses the
    challenger exactly at the margin; one that demands less (or none) passes the one just short
    of it."""
    settings = Settings()
    settings.gate.min_improvement = min_improvement
    champion = GOOD["rmse"]
    at_the_margin = champion * (1 - min_improvement)
    decision = registry.gate("california", GOOD | {"rmse": at_the_margin}, GOOD, "3", settings)
    assert decision.promote, decision.summary()
    short = at_the_margin * (1 + 1e-6)
    decision = registry.gate("california", GOOD | {"rmse": short}, GOOD, "3", settings)
    assert not decision.promote, decision.summary()
    assert decision.summary().endswith("FAILED")


def test_a_challenger_between_the_margin_and_four_times_it_passes() -> None:
    """Guards against a margin scaled up: 1.5x the configured improvement passes."""
    settings = Settings()
    better = GOOD["rmse"] * (1 - 1.5 * settings.gate.min_improvement)
    decision = registry.gate("california", GOOD | {"rmse": better}, GOOD, "3", settings)
    assert decision.promote, decision.summary()


def test_the_gate_compares_with_the_champion_given_not_its_own_threshold() -> None:
    """Guards which numbers are compared: the champion's RMSE (as measured on the same rows by
    the caller), named with its version and the bound it sets."""
    settings = Settings()
    worse_champion = GOOD | {"rmse": 50_000.0}
    decision = registry.gate("california", GOOD, worse_champion, "7", settings)
    needed = 50_000.0 * (1 - settings.gate.min_improvement)
    assert decision.promote
    assert decision.champion_metrics == worse_champion and decision.champion_version == "7"
    assert decision.reasons[-1] == (f"rmse 40,000 vs champion v7 50,000 (needs <= "
                                    f"{human_number(needed)})")
    better_champion = GOOD | {"rmse": 30_000.0}
    assert not registry.gate("california", GOOD, better_champion, "7", settings).promote


def test_every_absolute_threshold_is_checked_on_its_side() -> None:
    """Guards the max_/min_ rules: each configured threshold fails alone when crossed, passes at
    its exact limit."""
    settings = Settings()
    rules = settings.datasets["california"].gate
    assert rules, "the california gate has thresholds to test"
    for rule, limit in rules.items():
        kind, metric = rule.split("_", 1)
        at_limit = GOOD | {metric: limit}
        assert registry.gate("california", at_limit, None, None, settings).promote, rule
        crossed = limit * (1.01 if kind == "max" else 0.99)
        decision = registry.gate("california", GOOD | {metric: crossed}, None, None, settings)
        assert not decision.promote, rule
        assert [r for r in decision.reasons if r.endswith("FAILED")] == [
            next(r for r in decision.reasons if r.startswith(f"{metric} "))], rule
