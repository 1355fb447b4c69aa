"""Live error statistics stay finite for every label the feedback API accepts."""

from __future__ import annotations

import math

import numpy as np
import pytest

from homeprice.config import Settings
from homeprice.datasets import get_dataset
from homeprice.monitoring.abtest import Preregistered, compare, variant_stats
from homeprice.monitoring.live import rules_from


@pytest.mark.parametrize("dataset", ["california", "bengaluru"])
def test_statistics_are_finite_at_the_edges_of_the_accepted_range(dataset: str) -> None:
    settings = Settings()
    low, high = get_dataset(dataset).rules(settings).actual_price_range
    rules = rules_from(settings)
    # One extreme label among ordinary ones, each way.
    rng = np.random.default_rng(0)
    predicted = rng.uniform(low * 2, high / 2, 200)
    # An offline MAE of a tenth of a typical price, as a registered champion would have.
    pre = Preregistered.from_offline({"mae": float(np.median(predicted)) / 10}, rules)
    for extreme in (low, high):
        actual = predicted * rng.uniform(0.8, 1.2, 200)
        actual[0] = extreme
        stats = variant_stats("champion", "1", actual, predicted, predicted * 0.9,
                              predicted * 1.1, rules, pre)
        assert all(math.isfinite(v) for v in (stats.rmse, stats.mape, stats.mae.mean,
                                               stats.mae.lower, stats.mae.upper,
                                               stats.raw_mae))
        errors = np.abs(predicted - actual)
        clients = np.arange(200) % 40
        difference = compare("split", errors, errors[::-1], rules, pre,
                             champion_clients=clients, challenger_clients=clients + 40)
        assert math.isfinite(difference.lower) and math.isfinite(difference.upper)


def test_a_label_of_1e300_would_break_them() -> None:
    """Why the range exists: one such label makes RMSE infinite for everyone after it."""
    rules = rules_from(Settings())
    actual = np.array([450_000.0, 1e300])
    stats = variant_stats("champion", "1", actual, np.full(2, 450_000.0), np.zeros(2),
                          np.full(2, 1e6), rules, None)
    assert not math.isfinite(stats.rmse)
