"""The A/B rule's exact values and edges: pre-registration, the statistics, each branch.

tests/monitoring/test_abtest.py shows the rule behaves (valid under peeking, scale-free);
these pin what it computes and where each threshold sits, with hand-made statistics, so a
moved boundary, a swapped argument or a changed message fails.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from homeprice.monitoring.abtest import (
    COVERAGE_VARIANCE,
    GAUSSIAN_VARIANCE,
    ABDecision,
    ABRules,
    Preregistered,
    VariantStats,
    compare,
    decide,
    variant_stats,
)
from homeprice.monitoring.sequential import (
    ConfidenceSequence,
    cluster_means,
    confidence_sequence,
)

RULES = ABRules()
PRE = Preregistered(scale=100.0, cap=1000.0, variance=0.5)


def _stats(variant: str = "champion", labelled: int = 500, clients: int = 500,
           mae: ConfidenceSequence | None = None) -> VariantStats:
    """Hand-made statistics: only what `decide` reads matters."""
    mae = mae or ConfidenceSequence(labelled, 100.0, 90.0, 110.0)
    return VariantStats(variant=variant, model_version="1", labelled=labelled, mae=mae,
                        rmse=150.0, mape=0.1, coverage=ConfidenceSequence(labelled, 0.9, 0.85,
                                                                          0.95),
                        clients=clients)


def _cs(lower: float, upper: float) -> ConfidenceSequence:
    return ConfidenceSequence(500, (lower + upper) / 2, lower, upper)


# --- pre-registration ---------------------------------------------------------------------


def test_preregistered_variance_from_rmse_and_mae() -> None:
    # Guards: the variance of a standardised loss is (rmse^2 - mae^2) / mae^2, the cap is
    # loss_cap x mae, the scale is the MAE.
    pre = Preregistered.from_offline({"mae": 40.0, "rmse": 60.0}, RULES)
    assert pre == Preregistered(scale=40.0, cap=400.0, variance=(3600 - 1600) / 1600)


@pytest.mark.parametrize("rmse", [None, math.nan, math.inf, 40.0, 30.0])
def test_preregistered_variance_without_a_usable_rmse_is_gaussian(rmse: float | None) -> None:
    # Guards: no RMSE, a non-finite one, or one not above the MAE (impossible for real errors
    # except all-equal ones) falls back to the Gaussian ratio pi/2 - 1, never a 0 or inf.
    metrics = {"mae": 40.0} if rmse is None else {"mae": 40.0, "rmse": rmse}
    pre = Preregistered.from_offline(metrics, RULES)
    assert pre is not None and pre.variance == pytest.approx(GAUSSIAN_VARIANCE)
    assert GAUSSIAN_VARIANCE == pytest.approx(0.5707963)


def test_preregistered_variance_floor_and_ceiling() -> None:
    # Guards: the floor (0.01: rho stays finite when all offline errors were alike) and the
    # ceiling (loss_cap^2 / 4: the most a loss bounded by [0, loss_cap] can vary).
    alike = Preregistered.from_offline({"mae": 100.0, "rmse": 100.1}, RULES)
    assert alike is not None and alike.variance == 0.01
    wild = Preregistered.from_offline({"mae": 1.0, "rmse": 100.0}, ABRules(loss_cap=10.0))
    assert wild is not None and wild.variance == 25.0
    assert Preregistered.from_offline({"mae": 1.0, "rmse": 100.0},
                                      ABRules(loss_cap=4.0)).variance == 4.0


@pytest.mark.parametrize("mae", [None, 0.0, -5.0, math.nan, math.inf])
def test_no_preregistration_without_a_positive_finite_mae(mae: float | None) -> None:
    # Guards: the scale must be a real positive MAE (every statistic divides by it).
    metrics = {"rmse": 3.0} if mae is None else {"mae": mae, "rmse": 3.0}
    assert Preregistered.from_offline(metrics, RULES) is None


def test_losses_are_capped_then_scaled() -> None:
    # Guards: cap first (in price units), then divide by the scale.
    assert PRE.losses(np.array([0.0, 50.0, 1000.0, 5000.0])).tolist() == [0.0, 0.5, 10.0, 10.0]
    assert PRE.losses([250, 3000]).tolist() == [2.5, 10.0]


def test_preregistered_to_dict() -> None:
    # Guards: the audit trail's record of what was fixed before the pair started.
    assert PRE.to_dict(ABRules(loss_cap=10.0)) == {
        "cap": 1000.0, "cap_multiple": 10.0, "scale": 100.0, "variance": 0.5}


# --- variant statistics -------------------------------------------------------------------


def test_variant_stats_sequences_use_the_preregistered_tuning() -> None:
    # Guards: the MAE CS is tuned for the pre-registered variance at t_star (per request) or
    # t_star_clients (per client); the coverage CS for a 0/1 outcome (variance 1/4) at t_star.
    rng = np.random.default_rng(3)
    actual = rng.uniform(1000, 2000, 300)
    predicted = actual + rng.normal(0, 120, 300)
    lower, upper = predicted - 150, predicted + 150
    rules = ABRules(t_star=50, t_star_clients=10, alpha=0.1)
    stats = variant_stats("champion", "4", actual, predicted, lower, upper, rules, PRE)
    losses = PRE.losses(np.abs(predicted - actual))
    expected = confidence_sequence(losses, 0.1, 50, 0.5).scaled(100.0)
    assert (stats.mae.lower, stats.mae.upper) == pytest.approx((expected.lower,
                                                                expected.upper), rel=1e-12)
    covered = ((actual >= lower) & (actual <= upper)).astype(float)
    coverage = confidence_sequence(covered, 0.1, 50, COVERAGE_VARIANCE)
    assert (stats.coverage.lower, stats.coverage.upper) == pytest.approx(
        (coverage.lower, coverage.upper), rel=1e-12)
    assert stats.model_version == "4" and stats.variant == "champion"
    clients = np.arange(300) % 40
    split = variant_stats("champion", "4", actual, predicted, lower, upper, rules, PRE,
                          clients=clients)
    by_client = confidence_sequence(cluster_means(losses, clients), 0.1, 10, 0.5).scaled(100.0)
    assert (split.mae.n, split.clients) == (40, 40)
    assert (split.mae.lower, split.mae.upper) == pytest.approx((by_client.lower,
                                                                by_client.upper), rel=1e-12)


def test_variant_stats_without_preregistration_is_raw_and_unit_tuned() -> None:
    # Guards: with no offline MAE the MAE is the raw mean absolute error (no cap, scale 1),
    # its CS tuned for unit variance, and nothing counts as clipped.
    actual = np.array([100.0, 200.0, 300.0, 400.0, 500.0])
    predicted = np.array([110.0, 150.0, 300.0, 4400.0, 480.0])
    stats = variant_stats("champion", "2", actual, predicted, actual - 1, actual + 1, RULES,
                          None)
    absolute = np.abs(predicted - actual)
    expected = confidence_sequence(absolute, RULES.alpha, RULES.t_star, 1.0)
    assert stats.mae.mean == pytest.approx(absolute.mean()) == stats.raw_mae
    assert (stats.mae.lower, stats.mae.upper) == pytest.approx((expected.lower, expected.upper),
                                                               rel=1e-12)
    assert stats.clipped == 0 and stats.clients == 5


def test_an_error_exactly_at_the_cap_is_not_clipped() -> None:
    # Guards: `clipped` counts errors above the cap, not at it.
    actual = np.array([1000.0, 1000.0, 1000.0])
    predicted = actual + np.array([1000.0, 1000.5, 10.0])  # cap 1000
    stats = variant_stats("champion", "1", actual, predicted, actual, actual, RULES, PRE)
    assert stats.clipped == 1


def test_coverage_counts_labels_on_the_interval_ends() -> None:
    # Guards: an interval covers a label equal to either end (closed interval).
    actual = np.array([100.0, 200.0, 300.0, 400.0])
    lower = np.array([100.0, 150.0, 301.0, 300.0])
    upper = np.array([120.0, 200.0, 350.0, 399.0])
    stats = variant_stats("champion", "1", actual, actual, lower, upper, RULES, PRE)
    assert stats.coverage.mean == 0.5


def test_an_empty_variant_reports_nan_quietly() -> None:
    # Guards: a variant with no labels yet (the first hours of a pair) has NaN RMSE, MAPE and
    # raw MAE, computed without numpy's "mean of empty slice" warnings in the hourly job's log.
    empty = np.array([])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        stats = variant_stats("challenger", "7", empty, empty, empty, empty, RULES, PRE)
    assert stats.labelled == 0 and stats.clients == 0
    assert math.isnan(stats.rmse) and math.isnan(stats.mape) and math.isnan(stats.raw_mae)


def test_variant_stats_to_dict() -> None:
    # Guards: the JSON form carries every field (the audit trail and --json read it).
    stats = _stats()
    body = stats.to_dict()
    assert body["variant"] == "champion" and body["labelled"] == 500
    assert body["mae"] == {"n": 500, "mean": 100.0, "lower": 90.0, "upper": 110.0}
    assert body["coverage"]["mean"] == 0.9 and body["clients"] == 500


def test_decision_to_dict() -> None:
    # Guards: the audit entry: action, reason, mode, both variants, the difference, details.
    decision = ABDecision("promote", "why", "shadow", _stats(), _stats("challenger"),
                          _cs(1.0, 3.0), {"preregistered": {"scale": 100.0}})
    body = decision.to_dict()
    assert (body["action"], body["reason"], body["mode"]) == ("promote", "why", "shadow")
    assert body["champion"]["variant"] == "champion"
    assert body["challenger"]["variant"] == "challenger"
    assert body["difference_mae"] == {"n": 500, "mean": 2.0, "lower": 1.0, "upper": 3.0}
    assert body["preregistered"] == {"scale": 100.0}
    bare = ABDecision("keep", "no data", "off", None, None).to_dict()
    assert (bare["champion"], bare["challenger"], bare["difference_mae"]) == (None, None, None)


# --- compare ------------------------------------------------------------------------------


def test_paired_comparison_uses_the_paired_variance() -> None:
    # Guards: the shadow CS is over per-request differences of standardised capped losses,
    # tuned for var(a - b) = 2 v (1 - r) at t_star, in price units.
    rng = np.random.default_rng(5)
    champion = np.abs(rng.normal(0, 120, 400))
    challenger = np.abs(rng.normal(0, 100, 400))
    rules = ABRules(t_star=80, paired_correlation=0.6)
    cs = compare("shadow", champion, challenger, rules, PRE)
    diffs = PRE.losses(champion) - PRE.losses(challenger)
    expected = confidence_sequence(diffs, rules.alpha, 80, 2 * 0.5 * 0.4).scaled(100.0)
    assert cs.n == 400
    assert (cs.mean, cs.lower, cs.upper) == pytest.approx(
        (expected.mean, expected.lower, expected.upper), rel=1e-12)


def test_paired_variance_floor() -> None:
    # Guards: perfectly correlated models (r = 1) tune for variance 0.01, not 0 (rho finite).
    rng = np.random.default_rng(6)
    champion = np.abs(rng.normal(0, 120, 300))
    challenger = champion * 0.9
    rules = ABRules(paired_correlation=1.0)
    cs = compare("replay", champion, challenger, rules, PRE)
    diffs = PRE.losses(champion) - PRE.losses(challenger)
    expected = confidence_sequence(diffs, rules.alpha, rules.t_star, 0.01).scaled(100.0)
    assert (cs.lower, cs.upper) == pytest.approx((expected.lower, expected.upper), rel=1e-12)


def test_compare_refuses_what_it_cannot_compare() -> None:
    # Guards: unequal paired lengths, an unknown mode, and split rows missing either arm's
    # client keys each get an error that says which.
    with pytest.raises(ValueError, match="paired comparison needs equal lengths, got 3 and 2"):
        compare("shadow", np.ones(3), np.ones(2), RULES, PRE)
    with pytest.raises(ValueError, match="no comparison in mode 'off'"):
        compare("off", np.ones(3), np.ones(3), RULES, PRE)
    message = ("a split-mode comparison needs the client key of every row: requests of one "
               "client are not independent")
    for champion_clients, challenger_clients in [(np.arange(3), None), (None, np.arange(3))]:
        with pytest.raises(ValueError) as refused:
            compare("split", np.ones(3), np.ones(3), RULES, PRE,
                    champion_clients=champion_clients, challenger_clients=challenger_clients)
        assert str(refused.value) == message


# --- decide -------------------------------------------------------------------------------


def test_no_champion_evidence_keeps() -> None:
    # Guards: no champion statistics, or none labelled, is a keep with that reason.
    reason = "the champion has no labelled predictions yet"
    assert decide("shadow", None, _stats("shadow"), _cs(1, 2), PRE, True, RULES) == (
        "keep", reason)
    unlabelled = _stats(labelled=0, mae=ConfidenceSequence(0, math.nan, -math.inf, math.inf))
    assert decide("shadow", unlabelled, _stats("shadow"), _cs(1, 2), PRE, True, RULES) == (
        "keep", reason)
    # One label is not "none": the rule goes on (and asks for min_feedback).
    one = _stats(labelled=1, mae=ConfidenceSequence(1, 100.0, -math.inf, math.inf))
    assert decide("shadow", one, _stats("shadow"), _cs(1, 2), PRE, True, RULES) == (
        "keep", "champion has 1 of 100 labelled predictions")


def test_no_preregistration_keeps_with_the_reason() -> None:
    # Guards: the whole message (it tells the operator what to do).
    assert decide("shadow", _stats(), _stats("shadow"), _cs(1, 2), None, True, RULES) == (
        "keep", "the champion has no offline MAE: the loss cap and scale must be fixed before "
                "the pair starts (register it with its test metrics)")


def test_min_feedback_and_min_clients_are_inclusive() -> None:
    # Guards: exactly min_feedback labels and exactly min_clients clients are enough.
    rules = ABRules(min_feedback=100, min_clients=30)
    champion = _stats(labelled=100, clients=30)
    challenger = _stats("challenger", labelled=100, clients=30)
    action, _ = decide("split", champion, challenger, _cs(5.0, 9.0), PRE, False, rules)
    assert action == "promote"
    action, reason = decide("split", champion, _stats("challenger", labelled=100, clients=29),
                            _cs(5.0, 9.0), PRE, False, rules)
    assert (action, reason) == ("keep", "challenger has 29 of 30 clients needed in split mode "
                                "(each client sees one model, so clients, not requests, are the "
                                "evidence): with few clients use shadow mode, which compares "
                                "both models on every request")


def test_split_mode_counts_the_champions_clients_too() -> None:
    # Guards: in split mode a champion with enough labels but too few clients blocks a
    # promotion, and its live MAE cannot trigger a rollback (its CS is not evidence yet).
    few = _stats(labelled=500, clients=5, mae=ConfidenceSequence(500, 300.0, 250.0, 350.0))
    action, reason = decide("split", few, _stats("challenger"), _cs(5.0, 9.0), PRE, True, RULES)
    assert action == "keep" and reason.startswith("champion has 5 of 30 clients needed")
    action, reason = decide("split", _stats(), _stats("challenger", clients=5), _cs(5.0, 9.0),
                            PRE, True, RULES)
    assert action == "keep" and reason.startswith("challenger has 5 of 30 clients needed")
    # The same statistics in shadow mode (clients do not matter) do roll back.
    assert decide("shadow", few, None, None, PRE, True, RULES)[0] == "rollback"


def test_degradation_threshold_is_strict() -> None:
    # Guards: rollback only when the CS lower bound is *above* offline x (1 + tolerance).
    rules = ABRules(degradation_tolerance=0.2)
    at = _stats(mae=ConfidenceSequence(500, 130.0, 120.0, 140.0))  # offline 100 -> 120
    assert decide("off", at, None, None, PRE, True, rules) == (
        "keep", "no challenger is being evaluated")
    above = _stats(mae=ConfidenceSequence(500, 130.0, 120.5, 140.0))
    assert decide("off", above, None, None, PRE, True, rules) == (
        "rollback", "champion live MAE 130 (capped; CS lower bound 120.5) is above its offline "
                    "MAE 100 + 20%")


def test_without_a_challenger_or_with_mode_off_nothing_is_compared() -> None:
    # Guards: no challenger in shadow mode, or a challenger while the A/B mode is off, is
    # "no challenger is being evaluated" (not a promotion on a stale difference).
    expected = ("keep", "no challenger is being evaluated")
    assert decide("shadow", _stats(), None, None, PRE, True, RULES) == expected
    assert decide("off", _stats(), _stats("challenger"), _cs(5.0, 9.0), PRE, True,
                  RULES) == expected


def test_promotion_needs_the_whole_cs_above_zero() -> None:
    # Guards: lower bound exactly 0 is not proof; any positive lower bound (here 0.5, below one
    # price unit) is; the reason names the level (1 - alpha) and the interval.
    champion, challenger = _stats(), _stats("challenger")
    assert decide("shadow", champion, challenger, _cs(0.0, 4.0), PRE, False, RULES)[0] == "keep"
    action, reason = decide("shadow", champion, challenger, _cs(0.5, 4.0), PRE, False, RULES)
    assert (action, reason) == (
        "promote", "challenger MAE lower by 2.25 (anytime-valid 95% CS [0.5, 4], shadow, "
                   "losses capped at 1,000)")


def test_retirement_needs_the_whole_cs_below_zero() -> None:
    # Guards: upper bound exactly 0 is not proof of a worse challenger; the reason reports how
    # much higher its MAE is as a positive number.
    champion, challenger = _stats(), _stats("challenger")
    assert decide("shadow", champion, challenger, _cs(-4.0, 0.0), PRE, False, RULES) == (
        "keep", "no significant difference yet: CS of the MAE difference [-4, 0] contains 0")
    assert decide("shadow", champion, challenger, _cs(-4000.0, -2000.0), PRE, False, RULES) == (
        "retire", "challenger is worse: MAE higher by 3,000 (anytime-valid 95% CS "
                  "[-4,000, -2,000], shadow, losses capped at 1,000)")
