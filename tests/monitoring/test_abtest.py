"""Anytime-valid statistics and the A/B decision rule."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from homeprice.monitoring.abtest import ABRules, compare, decide, variant_stats
from homeprice.monitoring.sequential import (
    confidence_sequence,
    difference_of_sequences,
    running_confidence_sequence,
)

RULES = ABRules()


@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=2, max_size=60))
@settings(max_examples=60, deadline=None)
def test_running_sequence_matches_one_shot(values: list[float]) -> None:
    mean, lower, upper = running_confidence_sequence(np.array(values))
    final = confidence_sequence(np.array(values))
    assert mean[-1] == pytest.approx(final.mean, rel=1e-9, abs=1e-6)
    assert lower[-1] == pytest.approx(final.lower, rel=1e-6, abs=1e-3)
    assert upper[-1] == pytest.approx(final.upper, rel=1e-6, abs=1e-3)
    assert (lower[1:] <= mean[1:] + 1e-9).all() and (mean[1:] <= upper[1:] + 1e-9).all()


def test_sequence_covers_the_mean_at_all_times() -> None:
    rng = np.random.default_rng(1)
    misses = 0
    for _ in range(200):
        values = np.abs(rng.standard_t(3, 1500)) * 10  # heavy tails, like price errors
        _, lower, upper = running_confidence_sequence(values)
        true_mean = 10 * 2 * np.sqrt(3) / np.pi  # E|T_3| = 2 sqrt(3) / pi
        misses += bool(((lower[99:] > true_mean) | (upper[99:] < true_mean)).any())
    assert misses / 200 <= 0.05


@pytest.mark.parametrize("paired", [True, False])
def test_repeated_looks_rarely_promote_an_equal_challenger(paired: bool) -> None:
    """The peeking problem: a look every 25 labels, 48 looks, equal models -> <= 5% promote."""
    rng = np.random.default_rng(7)
    promoted = 0
    looks = np.arange(4, 49) * 25
    for _ in range(200):
        champion = np.abs(rng.standard_t(3, 1200))
        other = champion if paired else np.abs(rng.standard_t(3, 1200))
        challenger = other * rng.lognormal(-0.045, 0.3, 1200)
        if paired:
            _, low, _ = running_confidence_sequence(champion - challenger)
        else:
            _, c_low, _ = running_confidence_sequence(champion, 0.025)
            _, _, h_up = running_confidence_sequence(challenger, 0.025)
            low = c_low - h_up
        promoted += bool((low[looks - 1] > 0).any())
    assert promoted / 200 <= 0.05


def test_a_clearly_better_challenger_is_found_in_shadow_mode() -> None:
    rng = np.random.default_rng(3)
    champion = np.abs(rng.standard_t(3, 1200)) * 30_000
    challenger = champion * rng.lognormal(-0.045, 0.3, 1200) * 0.8
    assert compare("shadow", champion, challenger, RULES).lower > 0


def test_difference_of_sequences_is_wider_than_each() -> None:
    a, b = np.arange(200.0), np.arange(200.0) + 5
    diff = difference_of_sequences(a, b)
    assert diff.mean == pytest.approx(-5)
    assert diff.lower < -5 < diff.upper


def _stats(variant: str, n: int, error: float, rng: np.random.Generator):
    actual = rng.uniform(100_000, 500_000, n)
    predicted = actual + rng.normal(0, error, n)
    return variant_stats(variant, "1", actual, predicted, predicted - 2 * error,
                         predicted + 2 * error, RULES)


class TestDecide:
    rng = np.random.default_rng(0)

    def test_not_enough_labels(self) -> None:
        champion = _stats("champion", 150, 30_000, self.rng)
        challenger = _stats("challenger", 37, 20_000, self.rng)
        action, reason = decide("split", champion, challenger,
                                compare("split", np.ones(150), np.ones(37), RULES), None, False,
                                RULES)
        assert (action, reason) == ("keep", "challenger has 37 of 100 labelled predictions")

    def test_promote(self) -> None:
        champion = np.abs(self.rng.standard_t(3, 800)) * 30_000
        challenger = champion * 0.7
        diff = compare("shadow", champion, challenger, RULES)
        action, reason = decide("shadow", _stats("champion", 800, 30_000, self.rng),
                                _stats("challenger", 800, 20_000, self.rng), diff, None, False,
                                RULES)
        assert action == "promote" and "anytime-valid" in reason and "shadow" in reason

    def test_worse_challenger_is_kept_out(self) -> None:
        champion = np.abs(self.rng.standard_t(3, 800)) * 20_000
        diff = compare("shadow", champion, champion * 1.5, RULES)
        action, reason = decide("shadow", _stats("champion", 800, 20_000, self.rng),
                                _stats("challenger", 800, 30_000, self.rng), diff, None, False,
                                RULES)
        assert action == "keep" and reason.startswith("challenger is worse")

    def test_no_difference_yet(self) -> None:
        champion = np.abs(self.rng.standard_t(3, 300)) * 20_000
        diff = compare("shadow", champion, champion * self.rng.lognormal(-0.045, 0.3, 300),
                       RULES)
        action, reason = decide("shadow", _stats("champion", 300, 20_000, self.rng),
                                _stats("challenger", 300, 20_000, self.rng), diff, None, False,
                                RULES)
        assert action == "keep" and "contains 0" in reason

    def test_rollback_on_degradation(self) -> None:
        champion = _stats("champion", 500, 60_000, self.rng)  # MAE ~ 48k live
        action, reason = decide("off", champion, None, None, offline_mae=25_000,
                                has_previous_champion=True, rules=RULES)
        assert action == "rollback" and "offline MAE" in reason
        action, reason = decide("off", champion, None, None, offline_mae=25_000,
                                has_previous_champion=False, rules=RULES)
        assert action == "keep" and "no previous champion" in reason

    def test_healthy_champion_without_challenger(self) -> None:
        champion = _stats("champion", 500, 30_000, self.rng)
        assert decide("off", champion, None, None, 25_000, True, RULES) == (
            "keep", "no challenger is being evaluated")
