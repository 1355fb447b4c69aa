"""The confidence sequence's numbers: the published boundary, its tuning, its edge cases.

tests/monitoring/test_abtest.py checks what the sequences are for (coverage under peeking, the
union bound); these pin the formula itself to values computed by hand from Howard et al.
(2021), eq. (14) and (15), so a changed constant or a swapped operator fails here.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from homeprice.monitoring.sequential import (
    boundary,
    cluster_means,
    confidence_sequence,
    rho_for,
    running_confidence_sequence,
)


def _rho_by_hand(t_star: float, alpha: float, variance: float) -> float:
    """eq. (15) at intrinsic time t_star * variance."""
    log_term = -2 * math.log(alpha)
    return math.sqrt((log_term + math.log(1 + log_term)) / (t_star * variance))


def _half_width_by_hand(t: int, s2: float, alpha: float, rho: float) -> float:
    """eq. (14): sqrt(2 (t s^2 rho^2 + 1) / (t^2 rho^2) * log(sqrt(t s^2 rho^2 + 1) / alpha))."""
    v = t * s2 * rho**2 + 1
    return math.sqrt(2 * v / (t**2 * rho**2) * math.log(math.sqrt(v) / alpha))


def test_rho_is_the_published_optimum() -> None:
    # Guards: the mixture parameter's formula (log term, its +1, the division by t* sigma^2).
    # 2 log(1/0.05) = 5.9915; + log(6.9915) = 1.9447; / 500 -> rho = 0.12568.
    assert rho_for(500, 0.05) == pytest.approx(math.sqrt((5.991465 + 1.944699) / 500), rel=1e-6)
    assert rho_for(500, 0.05, 2.0) == pytest.approx(_rho_by_hand(500, 0.05, 2.0), rel=1e-12)
    assert rho_for(40, 0.01, 0.3) == pytest.approx(_rho_by_hand(40, 0.01, 0.3), rel=1e-12)
    # The default tuning is unit variance.
    assert rho_for(500, 0.05) == rho_for(500, 0.05, 1.0)


def test_rho_refuses_a_non_positive_horizon_or_variance() -> None:
    # Guards: each argument is checked on its own (t* = 0 or variance = 0 is an error, not a
    # division by zero), and the smallest valid horizon (one observation) is accepted.
    with pytest.raises(ValueError, match="t_star and variance must be positive, got 0 and 1"):
        rho_for(0, 0.05, 1.0)
    with pytest.raises(ValueError, match="got 500 and 0"):
        rho_for(500, 0.05, 0.0)
    with pytest.raises(ValueError, match="got -1 and 1"):
        rho_for(-1, 0.05, 1.0)
    assert rho_for(1, 0.05, 1.0) == pytest.approx(_rho_by_hand(1, 0.05, 1.0))


@pytest.mark.parametrize(("t", "s2", "alpha", "t_star", "tuned"),
                         [(100, 2.0, 0.05, 500, 1.5), (7, 0.25, 0.025, 100, 0.25),
                          (5000, 1.0, 0.05, 500, 1.0)])
def test_boundary_is_equation_14(t: int, s2: float, alpha: float, t_star: float,
                                 tuned: float) -> None:
    # Guards: every constant of the half-width (the 2, the +1, rho squared, the sqrt in the log).
    expected = _half_width_by_hand(t, s2, alpha, _rho_by_hand(t_star, alpha, tuned))
    assert float(boundary(t, s2, alpha, t_star, tuned)) == pytest.approx(expected, rel=1e-12)


def test_boundary_default_tuning_is_unit_variance() -> None:
    # Guards: callers that pass no tuned variance get the unit-variance mixture.
    expected = _half_width_by_hand(300, 1.7, 0.05, _rho_by_hand(500, 0.05, 1.0))
    assert float(boundary(300, 1.7, 0.05, 500)) == pytest.approx(expected, rel=1e-12)


def test_confidence_sequence_values() -> None:
    # Guards: the CS is mean +/- eq. (14) with the sample variance (ddof=1) of the values.
    values = np.array([3.0, 5.0, 4.0, 10.0, 8.0, 6.0])
    cs = confidence_sequence(values, 0.05, 50, 4.0)
    half = _half_width_by_hand(6, float(np.var(values, ddof=1)), 0.05, _rho_by_hand(50, 0.05, 4.0))
    assert (cs.n, cs.mean) == (6, 6.0)
    assert (cs.lower, cs.upper) == pytest.approx((6.0 - half, 6.0 + half), rel=1e-12)
    assert cs.width == pytest.approx(2 * half, rel=1e-12)


def test_fewer_than_two_values_have_no_interval() -> None:
    # Guards: one value has no sample variance, so no interval (-inf, inf), and its mean is
    # itself; no value at all has a NaN mean.
    one = confidence_sequence(np.array([5.0]))
    assert (one.n, one.mean, one.lower, one.upper) == (1, 5.0, -math.inf, math.inf)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the mean of nothing is NaN, not numpy's warning
        none = confidence_sequence(np.array([]))
    assert none.n == 0 and math.isnan(none.mean)
    assert (none.lower, none.upper) == (-math.inf, math.inf)


def test_running_sequence_values_and_first_step() -> None:
    # Guards: the running form is eq. (14) after each prefix, and after one value it is
    # (-inf, inf), like the one-shot form (a prefix of one has no sample variance).
    values = np.array([2.0, 4.0, 9.0, 1.0])
    mean, lower, upper = running_confidence_sequence(values, 0.05, 20, 3.0)
    assert mean.tolist() == pytest.approx([2.0, 3.0, 5.0, 4.0])
    assert (lower[0], upper[0]) == (-math.inf, math.inf)
    rho = _rho_by_hand(20, 0.05, 3.0)
    for t in range(2, 5):
        half = _half_width_by_hand(t, float(np.var(values[:t], ddof=1)), 0.05, rho)
        assert (lower[t - 1], upper[t - 1]) == pytest.approx((mean[t - 1] - half,
                                                              mean[t - 1] + half), rel=1e-9)


def test_running_sequence_default_tuning_is_unit_variance() -> None:
    # Guards: the running form's default mixture is the one-shot form's (unit variance).
    values = np.array([1.0, 3.0, 2.0, 7.0, 4.0])
    _, lower, upper = running_confidence_sequence(values, 0.05, 500)
    final = confidence_sequence(values, 0.05, 500, 1.0)
    assert (lower[-1], upper[-1]) == pytest.approx((final.lower, final.upper), rel=1e-9)


def test_integer_values_do_not_overflow() -> None:
    # Guards: values are made floats before squaring: prices in paise or rupees held as int64
    # square past 2**63 (7e9**2 = 4.9e19), which silently wraps (no warning) to a wrong sum
    # of squares and so a wrong variance and width.
    values = np.array([4_000_000_000, 1_000_000_000, 7_000_000_000, 2_000_000_000])
    mean, lower, upper = running_confidence_sequence(values)
    assert mean[-1] == 3.5e9
    # Compare widths, not ends: the ends are ~4e9, where a relative tolerance hides anything.
    assert (upper - lower)[-1] == pytest.approx(confidence_sequence(values).width, rel=1e-9)


def test_cluster_means_refuses_mismatched_keys() -> None:
    # Guards: a key per value, said in the error (not a silent truncation by bincount).
    with pytest.raises(ValueError, match="3 values but 2 cluster keys"):
        cluster_means(np.array([1.0, 2.0, 3.0]), np.array(["a", "b"]))
    assert cluster_means(np.array([]), np.array([])).tolist() == []
