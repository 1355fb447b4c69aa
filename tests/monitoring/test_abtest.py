"""Anytime-valid statistics and the A/B decision rule."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from homeprice.monitoring.abtest import (
    ABRules,
    Preregistered,
    compare,
    decide,
    variant_stats,
)
from homeprice.monitoring.sequential import (
    cluster_means,
    confidence_sequence,
    difference_of_sequences,
    running_confidence_sequence,
)

RULES = ABRules()
# A champion whose offline test MAE was $30k (rmse from |t3| errors of that MAE).
OFFLINE = {"mae": 30_000.0, "rmse": 30_000.0 * math.sqrt(3) / (2 * math.sqrt(3) / math.pi)}
PRE = Preregistered.from_offline(OFFLINE, RULES)
assert PRE is not None


@pytest.fixture
def rng() -> np.random.Generator:
    """A fresh generator per test: results never depend on which tests ran before."""
    return np.random.default_rng(0)


@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=2, max_size=60),
       st.floats(0.01, 100))
@settings(max_examples=60, deadline=None)
def test_running_sequence_matches_one_shot(values: list[float], variance: float) -> None:
    # Guards: the running form (benchmarks, plots) is the same CS as the one-shot form.
    mean, lower, upper = running_confidence_sequence(np.array(values), variance=variance)
    final = confidence_sequence(np.array(values), variance=variance)
    assert mean[-1] == pytest.approx(final.mean, rel=1e-9, abs=1e-6)
    assert lower[-1] == pytest.approx(final.lower, rel=1e-6, abs=1e-3)
    assert upper[-1] == pytest.approx(final.upper, rel=1e-6, abs=1e-3)
    assert (lower[1:] <= mean[1:] + 1e-9).all() and (mean[1:] <= upper[1:] + 1e-9).all()


def test_sequence_covers_the_mean_at_all_times() -> None:
    # Guards: time-uniform coverage of the CS itself, with standardised heavy-tailed values.
    rng = np.random.default_rng(1)
    misses = 0
    true_mean = 2 * np.sqrt(3) / np.pi  # E|T_3| = 2 sqrt(3) / pi
    for _ in range(200):
        values = np.abs(rng.standard_t(3, 1500))
        _, lower, upper = running_confidence_sequence(values, variance=PRE.variance)
        misses += bool(((lower[99:] > true_mean) | (upper[99:] < true_mean)).any())
    assert misses / 200 <= 0.05


def test_repeated_looks_rarely_promote_an_equal_shadow_challenger() -> None:
    """The peeking problem: a look every 25 labels, 48 looks, equal models -> <= 5% act."""
    # Guards: compare("shadow") stays anytime-valid under repeated looks (promote or retire).
    rng = np.random.default_rng(7)
    acted = 0
    for _ in range(200):
        champion = np.abs(rng.standard_t(3, 1200)) * 30_000
        challenger = champion * rng.lognormal(-0.045, 0.3, 1200)
        for n in range(100, 1201, 25):
            cs = compare("shadow", champion[:n], challenger[:n], RULES, PRE)
            if cs.lower > 0 or cs.upper < 0:
                acted += 1
                break
    assert acted / 200 <= 0.05


def _split_run(rng: np.random.Generator, clients: int, n: int
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Equal models in split mode: each client sees one arm (a coin per client) and has its
    own error scale and traffic share, so its requests are correlated."""
    scale = rng.lognormal(0, 0.5, clients)
    weights = rng.lognormal(0, 1, clients)
    arm = rng.random(clients) < 0.5
    who = rng.choice(clients, n, p=weights / weights.sum())
    errors = np.abs(rng.standard_t(3, n)) * 30_000 * scale[who]
    return errors[~arm[who]], who[~arm[who]], errors[arm[who]], who[arm[who]]


def test_split_mode_with_clustered_clients_rarely_acts_on_equal_models() -> None:
    # Guards: compare("split") is anytime-valid at the client level; a fixed-sample interval,
    # full alpha without the union bound, or pooling requests as if independent all fail this.
    rng = np.random.default_rng(11)
    acted = 0
    for _ in range(200):
        c, c_who, h, h_who = _split_run(rng, 80, 3000)
        for m in range(100, 1201, 100):  # a look every 100 labels per arm
            cs = compare("split", c[:m], h[:m], RULES, PRE, champion_clients=c_who[:m],
                         challenger_clients=h_who[:m])
            if cs.lower > 0 or cs.upper < 0:
                acted += 1
                break
    assert acted / 200 <= 0.05


def test_eight_clients_are_never_enough_in_split_mode(rng: np.random.Generator) -> None:
    # Guards: with fewer than min_clients per arm no split decision is made, whatever the CS
    # says (pooled rows of 8 heterogeneous clients promoted equal models 13-21% of the time).
    actions, told = set(), 0
    for _ in range(50):
        c, c_who, h, h_who = _split_run(rng, 8, 4000)
        if not len(c) or not len(h):
            continue
        champion = _stats_of("champion", c, RULES, c_who)
        challenger = _stats_of("challenger", h, RULES, h_who)
        cs = compare("split", c, h, RULES, PRE, champion_clients=c_who, challenger_clients=h_who)
        action, reason = decide("split", champion, challenger, cs, PRE, False, RULES)
        actions.add(action)
        if min(champion.labelled, challenger.labelled) >= RULES.min_feedback:
            assert "clients needed in split mode" in reason and "use shadow mode" in reason
            told += 1
    assert actions == {"keep"} and told >= 25


def test_split_comparison_needs_client_keys() -> None:
    # Guards: split rows are never silently treated as independent requests.
    with pytest.raises(ValueError, match="client key"):
        compare("split", np.ones(5), np.ones(5), RULES, PRE)


def test_split_cs_is_the_union_of_two_client_level_sequences() -> None:
    # Guards: the split CS is exactly one CS per arm's client means at alpha/2 each.
    rng = np.random.default_rng(4)
    c, h = np.abs(rng.standard_t(3, 600)) * 30_000, np.abs(rng.standard_t(3, 500)) * 30_000
    c_who, h_who = rng.integers(0, 40, 600), rng.integers(100, 150, 500)
    cs = compare("split", c, h, RULES, PRE, champion_clients=c_who, challenger_clients=h_who)
    a = confidence_sequence(cluster_means(PRE.losses(c), c_who), RULES.alpha / 2,
                            RULES.t_star_clients, PRE.variance)
    b = confidence_sequence(cluster_means(PRE.losses(h), h_who), RULES.alpha / 2,
                            RULES.t_star_clients, PRE.variance)
    assert cs.n == min(a.n, b.n) == 40
    assert cs.mean == pytest.approx((a.mean - b.mean) * PRE.scale)
    assert cs.width == pytest.approx((a.width + b.width) * PRE.scale)


def test_difference_of_sequences_is_wider_than_each() -> None:
    # Guards: the union bound: the difference's CS is as wide as both alpha/2 CSs together,
    # hence wider than either of them, and wider than a full-alpha CS of either.
    a, b = np.arange(200.0), np.arange(200.0) * 1.1 + 5
    diff = difference_of_sequences(a, b)
    half_a, half_b = confidence_sequence(a, 0.025), confidence_sequence(b, 0.025)
    assert diff.mean == pytest.approx(a.mean() - b.mean())
    assert diff.width == pytest.approx(half_a.width + half_b.width)
    assert diff.width > max(half_a.width, half_b.width)
    assert half_a.width > confidence_sequence(a, 0.05).width


def test_cluster_means_average_within_each_client() -> None:
    # Guards: one value per client, each its own mean, in order of first appearance.
    means = cluster_means(np.array([1.0, 10.0, 3.0, 20.0, 5.0]),
                          np.array(["b", "a", "b", "a", "c"]))
    assert means.tolist() == [2.0, 15.0, 5.0]


def test_scale_free_tuning_is_tighter_than_unit_variance_tuning_in_dollars() -> None:
    # Guards: rho is tuned for the pre-registered variance of standardised losses; tuned for
    # unit variance but fed dollars, the CS was 1.6-1.8x wider at t_star labels.
    rng = np.random.default_rng(2)
    champion = np.abs(rng.standard_t(3, RULES.t_star)) * 30_000
    challenger = champion * rng.lognormal(-0.045, 0.3, RULES.t_star)
    ours = compare("shadow", champion, challenger, RULES, PRE)
    dollars = confidence_sequence(np.minimum(champion, PRE.cap) - np.minimum(challenger, PRE.cap),
                                  RULES.alpha, RULES.t_star)
    assert dollars.width / ours.width > 1.4


@pytest.mark.parametrize("factor", [1 / 83.0, 1e-5, 1000.0])
def test_the_decision_is_the_same_in_any_currency(factor: float) -> None:
    # Guards: scale-free statistics: rescaling every price (dollars -> lakh) changes nothing
    # but the unit of the reported numbers.
    rng = np.random.default_rng(9)
    actual = rng.uniform(100_000, 500_000, 400)
    champion = actual + rng.standard_t(3, 400) * 30_000
    challenger = actual + (champion - actual) * rng.lognormal(-0.1, 0.3, 400)

    def outcome(k: float) -> tuple[tuple[str, str], float, float, float]:
        pre = Preregistered.from_offline({m: v * k for m, v in OFFLINE.items()}, RULES)
        assert pre is not None
        a, c, h = actual * k, champion * k, challenger * k
        stats = [variant_stats(v, "1", a, p, p - 1, p + 1, RULES, pre)
                 for v, p in (("champion", c), ("shadow", h))]
        cs = compare("shadow", np.abs(c - a), np.abs(h - a), RULES, pre)
        action, _ = decide("shadow", *stats, cs, pre, True, RULES)
        return (action, ""), cs.lower / k, cs.upper / k, stats[0].mae.lower / k

    base, scaled = outcome(1.0), outcome(factor)
    assert base[0] == scaled[0]
    assert scaled[1:] == pytest.approx(base[1:], rel=1e-9)


def test_variant_stats_exact_values() -> None:
    # Guards: the reported capped MAE, raw MAE, RMSE, MAPE, coverage and clipped count.
    actual = np.array([100.0, 200.0, 400.0, 800.0])
    predicted = np.array([110.0, 180.0, 400.0, 1000.0])  # |errors| 10, 20, 0, 200
    lower = np.array([90.0, 190.0, 390.0, 900.0])  # the last interval misses its label
    upper = np.array([130.0, 210.0, 410.0, 1100.0])
    rules = ABRules(loss_cap=2.0)
    pre = Preregistered.from_offline({"mae": 50.0, "rmse": 70.0}, rules)
    assert pre is not None and pre.cap == 100.0
    assert pre.variance == pytest.approx((70.0**2 - 50.0**2) / 50.0**2)
    stats = variant_stats("champion", "3", actual, predicted, lower, upper, rules, pre)
    assert stats.labelled == 4 and stats.clipped == 1
    assert stats.mae.mean == pytest.approx((10 + 20 + 0 + 100) / 4)  # 200 capped at 100
    assert stats.raw_mae == pytest.approx(57.5)
    assert stats.rmse == pytest.approx(math.sqrt((100 + 400 + 0 + 40_000) / 4))
    assert stats.mape == pytest.approx((0.1 + 0.1 + 0 + 0.25) / 4)
    assert stats.coverage.mean == pytest.approx(0.75)
    assert stats.mae.lower < stats.mae.mean < stats.mae.upper
    by_client = variant_stats("champion", "3", actual, predicted, lower, upper, rules, pre,
                              clients=np.array(["x", "x", "y", "y"]))
    # Split mode: the MAE is the mean of the client means (15 and 50), over 2 clients.
    assert (by_client.clients, by_client.mae.n) == (2, 2)
    assert by_client.mae.mean == pytest.approx((15 + 50) / 2)


def test_preregistration_needs_an_offline_mae() -> None:
    # Guards: no offline MAE, no decision (the scale must exist before the pair starts).
    assert Preregistered.from_offline({"rmse": 3.0}, RULES) is None
    assert Preregistered.from_offline({"mae": 0.0}, RULES) is None
    champion = _stats_of("champion", np.full(200, 10.0), RULES)
    action, reason = decide("shadow", champion, champion, None, None, True, RULES)
    assert action == "keep" and "no offline MAE" in reason


def test_one_wild_label_cannot_decide(rng: np.random.Generator) -> None:
    # Guards: the loss cap: a single mistyped price (a $1bn error) does not undo a promotion.
    champion = np.abs(rng.standard_t(3, 800)) * 30_000
    challenger = champion * 0.7
    challenger[400] = 1e9
    cs = compare("shadow", champion, challenger, RULES, PRE)
    assert cs.lower > 0
    no_cap = ABRules(loss_cap=1e9)
    uncapped = compare("shadow", champion, challenger, no_cap,
                       Preregistered.from_offline(OFFLINE, no_cap))
    assert not uncapped.lower > 0  # what the cap protects against
    stats = _stats_of("shadow", challenger, RULES)
    assert stats.clipped >= 1 and stats.raw_mae > 1e6 > stats.mae.mean


def _stats_of(variant: str, abs_error: np.ndarray, rules: ABRules,
              clients: np.ndarray | None = None, pre: Preregistered | None = PRE):
    actual = np.full(len(abs_error), 300_000.0)
    return variant_stats(variant, "1", actual, actual + abs_error, actual - 1, actual + 1,
                         rules, pre, clients=clients)


def _stats(variant: str, n: int, error: float, rng: np.random.Generator):
    actual = rng.uniform(100_000, 500_000, n)
    predicted = actual + rng.normal(0, error, n)
    return variant_stats(variant, "1", actual, predicted, predicted - 2 * error,
                         predicted + 2 * error, RULES, PRE)


class TestDecide:
    def test_not_enough_labels(self, rng: np.random.Generator) -> None:
        champion = _stats("champion", 150, 30_000, rng)
        challenger = _stats("challenger", 37, 20_000, rng)
        diff = compare("split", np.ones(150), np.ones(37), RULES, PRE,
                       champion_clients=np.arange(150), challenger_clients=np.arange(37))
        action, reason = decide("split", champion, challenger, diff, PRE, False, RULES)
        assert (action, reason) == ("keep", "challenger has 37 of 100 labelled predictions")

    def test_promote(self, rng: np.random.Generator) -> None:
        champion = np.abs(rng.standard_t(3, 800)) * 30_000
        challenger = champion * 0.7
        diff = compare("shadow", champion, challenger, RULES, PRE)
        action, reason = decide("shadow", _stats("champion", 800, 30_000, rng),
                                _stats("challenger", 800, 20_000, rng), diff, PRE, False,
                                RULES)
        assert action == "promote" and "anytime-valid" in reason and "shadow" in reason
        assert f"capped at {PRE.cap:,.0f}" in reason

    def test_a_proven_worse_challenger_is_retired(self, rng: np.random.Generator) -> None:
        # Guards: retire needs the CS entirely below 0 and min_feedback on both sides.
        champion = np.abs(rng.standard_t(3, 800)) * 20_000
        diff = compare("shadow", champion, champion * 1.5, RULES, PRE)
        assert diff.upper < 0
        action, reason = decide("shadow", _stats("champion", 800, 20_000, rng),
                                _stats("challenger", 800, 30_000, rng), diff, PRE, False,
                                RULES)
        assert action == "retire" and reason.startswith("challenger is worse")
        action, reason = decide("shadow", _stats("champion", 800, 20_000, rng),
                                _stats("challenger", 60, 30_000, rng), diff, PRE, False, RULES)
        assert (action, reason) == ("keep", "challenger has 60 of 100 labelled predictions")

    def test_no_difference_yet(self, rng: np.random.Generator) -> None:
        champion = np.abs(rng.standard_t(3, 300)) * 20_000
        diff = compare("shadow", champion, champion * rng.lognormal(-0.045, 0.3, 300), RULES,
                       PRE)
        action, reason = decide("shadow", _stats("champion", 300, 20_000, rng),
                                _stats("challenger", 300, 20_000, rng), diff, PRE, False, RULES)
        assert action == "keep" and "contains 0" in reason

    def test_rollback_on_degradation(self, rng: np.random.Generator) -> None:
        champion = _stats("champion", 500, 60_000, rng)  # MAE ~ 48k live, offline 30k
        action, reason = decide("off", champion, None, None, PRE, True, RULES)
        assert action == "rollback" and "offline MAE" in reason
        action, reason = decide("off", champion, None, None, PRE, False, RULES)
        assert action == "keep" and "no previous champion" in reason

    def test_rollback_uses_capped_losses(self, rng: np.random.Generator) -> None:
        # Guards: a few wild labels (3% at 100x) triple the raw MAE of a healthy champion; the
        # capped statistic does not call that a degradation.
        errors = np.full(1000, 0.95 * PRE.scale)
        errors[rng.choice(1000, 30, replace=False)] = 100 * PRE.scale
        champion = _stats_of("champion", errors, RULES)
        assert champion.raw_mae > 3 * PRE.scale
        assert decide("off", champion, None, None, PRE, True, RULES) == (
            "keep", "no challenger is being evaluated")

    def test_healthy_champion_without_challenger(self, rng: np.random.Generator) -> None:
        champion = _stats("champion", 500, 30_000, rng)
        assert decide("off", champion, None, None, PRE, True, RULES) == (
            "keep", "no challenger is being evaluated")
