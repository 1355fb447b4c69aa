"""Split-conformal intervals."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression

from homeprice.training.intervals import IntervalRegressor, conformal_quantile


def test_conformal_quantile_rank() -> None:
    scores = np.arange(1, 20, dtype=float)  # n = 19: rank ceil(20 * 0.9) = 18
    assert conformal_quantile(scores, 0.1) == 18.0
    assert math.isinf(conformal_quantile(np.array([1.0, 2.0]), 0.1))
    with pytest.raises(ValueError, match="empty"):
        conformal_quantile(np.array([]), 0.1)


@pytest.mark.parametrize("score", ["absolute", "relative"])
def test_coverage_on_heteroscedastic_data(score: str) -> None:
    rng = np.random.default_rng(0)

    def sample(n: int) -> tuple[np.ndarray, np.ndarray]:
        x = rng.uniform(1, 10, n)
        return x[:, None], 10 * x + rng.normal(0, x, n)  # noise grows with x

    model = IntervalRegressor(LinearRegression(), alpha=0.1, n_bins=5, score=score)
    model.fit(*sample(2000))
    model.calibrate(*sample(2000))
    X, y = sample(20000)
    prediction, lower, upper = model.predict_interval(X)
    assert 0.88 <= np.mean((y >= lower) & (y <= upper)) <= 0.93
    width = upper - lower
    assert width[X[:, 0] > 8].mean() > 3 * width[X[:, 0] < 2].mean()  # adapts to the noise


def test_intervals_clipped_to_training_range() -> None:
    X = np.arange(200, dtype=float)[:, None]
    y = np.minimum(X[:, 0] * 10, 1000.0)  # capped target, like California's 500,001
    model = IntervalRegressor(LinearRegression(), n_bins=1).fit(X, y)
    model.calibrate(X, y)
    prediction, lower, upper = model.predict_interval(X)
    # Bounds never leave the training range, except to still contain the point prediction.
    assert (upper <= np.maximum(1000.0, prediction)).all() and lower.min() >= 0.0
    assert (upper[prediction < 900] < 1000.0).any() and (upper == 1000.0).any()


def test_point_predictions_are_clipped_to_the_training_range_unless_told_not_to() -> None:
    X = np.arange(200, dtype=float)[:, None]
    y = np.minimum(X[:, 0] * 10, 1000.0) + 5.0  # capped: a line overshoots the cap
    clipped = IntervalRegressor(LinearRegression(), n_bins=1).fit(X, y)
    raw = IntervalRegressor(LinearRegression(), n_bins=1, clip=False).fit(X, y)
    unclipped = raw.predict(X)
    assert unclipped.max() > 1005.0  # the line overshoots the cap
    np.testing.assert_array_equal(clipped.predict(X), np.clip(unclipped, 5.0, 1005.0))
    # Clipping to the range never moves a prediction away from a target inside it.
    assert (np.abs(clipped.predict(X) - y) <= np.abs(unclipped - y)).all()


def test_a_model_pickled_before_clipping_existed_serves_as_it_did() -> None:
    X = np.arange(200, dtype=float)[:, None]
    y = np.minimum(X[:, 0] * 10, 1000.0)
    model = IntervalRegressor(LinearRegression(), n_bins=1).fit(X, y)
    state = model.__getstate__()
    del state["clip"]  # what a pickle written by the older class holds
    old = IntervalRegressor.__new__(IntervalRegressor)
    old.__setstate__(state)
    assert old.clip is False and old.predict(X).max() > 1000.0


def test_bad_score_is_rejected() -> None:
    with pytest.raises(ValueError, match="score must be"):
        IntervalRegressor(LinearRegression(), score="weird").fit(np.ones((3, 1)), np.ones(3))


def _grouped(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Column 0: x; column 1: a flag for rows with ten times the noise (less information)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(1, 10, n)
    flag = (rng.uniform(size=n) < 0.1).astype(float)
    noise = rng.normal(0, 1, n) * np.where(flag > 0, 10.0, 1.0)
    return np.column_stack([x, flag]), 10 * x + noise


def test_a_flagged_group_gets_its_own_quantile() -> None:
    """Guards the Mondrian group of sizeless listings: the noisy group's intervals come from
    its own residuals (so they cover it), and the other rows' bands are not widened by it."""
    model = IntervalRegressor(LinearRegression(), alpha=0.1, n_bins=1, score="absolute")
    model.fit(*_grouped(2000, 0))
    X_cal, y_cal = _grouped(4000, 1)
    model.calibrate(X_cal, y_cal, group_column=1)
    assert model.group_size_ == int(X_cal[:, 1].sum())
    X, y = _grouped(40000, 2)
    _, lower, upper = model.predict_interval(X)
    covered = (y >= lower) & (y <= upper)
    flagged = X[:, 1] > 0
    assert 0.87 <= covered[flagged].mean() <= 0.93
    assert 0.87 <= covered[~flagged].mean() <= 0.93
    width = upper - lower
    assert width[flagged].mean() > 5 * width[~flagged].mean()
    # Without the group, one quantile for all: the flagged rows are under-covered.
    pooled = IntervalRegressor(LinearRegression(), alpha=0.1, n_bins=1, score="absolute")
    pooled.fit(*_grouped(2000, 0)).calibrate(X_cal, y_cal)
    assert pooled.group_of(X) is None
    _, lower, upper = pooled.predict_interval(X)
    assert ((y >= lower) & (y <= upper))[flagged].mean() < 0.8


def test_a_group_too_small_to_calibrate_gets_the_whole_target_range() -> None:
    X, y = _grouped(500, 3)
    X[:, 1] = 0.0
    X[:5, 1] = 1.0  # 5 flagged rows: no finite 90% conformal quantile
    model = IntervalRegressor(LinearRegression(), alpha=0.1, n_bins=1).fit(X, y)
    model.calibrate(X, y, group_column=1)
    assert math.isinf(model.group_quantile_)
    _, lower, upper = model.predict_interval(X[:10])
    assert (lower[:5] == y.min()).all() and (upper[:5] == y.max()).all()
    assert ((upper - lower)[5:] < y.max() - y.min()).all()
    with pytest.raises(ValueError, match="one group flag per calibration row"):
        model.calibrate_predictions(y, y, group=None, group_column=1)
