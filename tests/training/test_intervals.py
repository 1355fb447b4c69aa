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


def test_bad_score_is_rejected() -> None:
    with pytest.raises(ValueError, match="score must be"):
        IntervalRegressor(LinearRegression(), score="weird").fit(np.ones((3, 1)), np.ones(3))
