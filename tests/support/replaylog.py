"""A labelled prediction log whose labels favour a known registered model (for replay)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from homeprice import registry
from homeprice.config import Settings
from homeprice.datasets import get_dataset
from homeprice.monitoring.replay import model_input
from homeprice.predictionlog import PredictionLog
from homeprice.training.evaluation import predict_with_interval
from tests.support.bodies import CALIFORNIA
from tests.support.logrows import labelled_requests


def homes(n: int) -> list[dict]:
    """`n` plausible, distinct California requests."""
    rng = np.random.default_rng(3)
    return [CALIFORNIA | {"median_income": float(round(rng.uniform(1.5, 9.0), 4)),
                          "housing_median_age": int(rng.integers(2, 50)),
                          "latitude": float(round(rng.uniform(33.8, 38.0), 2))}
            for _ in range(n)]


def seed_favouring(settings: Settings, version: str, n: int, served_factor: float,
                   age: timedelta = timedelta(hours=1)) -> tuple[np.ndarray, np.ndarray]:
    """n labelled requests whose labels lie close to `version`'s predictions, while the
    champion served those predictions times `served_factor`; (served, actual)."""
    features = homes(n)
    candidate = registry.load_model("california", version)
    predicted, _, _ = predict_with_interval(
        candidate, model_input(features, list(get_dataset("california").feature_columns)))
    rng = np.random.default_rng(11)
    actual = predicted * rng.uniform(0.97, 1.03, n)
    served = predicted * served_factor
    log = PredictionLog(settings.log_url)
    log.start()
    try:
        labelled_requests(log, "california", features, served.tolist(), actual.tolist(),
                          datetime.now(UTC) - age)
    finally:
        log.close()
    return served, actual
