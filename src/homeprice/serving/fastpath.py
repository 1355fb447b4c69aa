"""Compile a logged pipeline into a fast predictor for requests: numpy features, raw booster.

The fast predictor runs the pipeline's own fitted feature builder on plain column lists (the
same code as training, without pandas), then the LightGBM booster directly (or the fitted
scikit-learn estimator on a numpy matrix for other candidates), then the model's own conformal
bands. It is used only after agreeing with the sklearn pipeline on a stored test sample.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from lightgbm import LGBMRegressor
from sklearn.compose import TransformedTargetRegressor
from sklearn.pipeline import Pipeline

from homeprice.training.intervals import IntervalRegressor

Prediction = tuple[np.ndarray, np.ndarray, np.ndarray]


def to_columns(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> dict[str, list]:
    """Rows of validated request fields -> column name -> list of values."""
    return {name: [row.get(name) for row in rows] for name in columns}


class PipelinePredictor:
    """The sklearn pipeline itself (the safe fallback when the fast path is refused)."""

    fast = False

    def __init__(self, model: Pipeline, feature_columns: Sequence[str]) -> None:
        self.model = model
        self.feature_columns = list(feature_columns)

    def predict(self, columns: Mapping[str, list]) -> Prediction:
        """(prediction, lower, upper) for column lists."""
        frame = pd.DataFrame({c: columns[c] for c in self.feature_columns})
        return self.model[-1].predict_interval(self.model[:-1].transform(frame))


@dataclass
class _Unwrapped:
    estimator: Any
    inverse: Any | None


def _unwrap(interval: IntervalRegressor) -> _Unwrapped:
    estimator = interval.estimator_
    if isinstance(estimator, TransformedTargetRegressor):
        return _Unwrapped(estimator.regressor_, estimator.inverse_func)
    return _Unwrapped(estimator, None)


class FastPredictor:
    """Feature builder on column lists, then the raw booster (or estimator) on one matrix."""

    fast = True

    def __init__(self, model: Pipeline) -> None:
        self.features = model[0]
        self.interval: IntervalRegressor = model[-1]
        unwrapped = _unwrap(self.interval)
        self.inverse = unwrapped.inverse
        self.estimator = unwrapped.estimator
        self.booster = (self.estimator.booster_ if isinstance(self.estimator, LGBMRegressor)
                        else None)

    def matrix(self, columns: Mapping[str, list]) -> np.ndarray:
        """The model's feature matrix for column lists."""
        return self.features.transform_columns(columns)

    def point(self, Z: np.ndarray) -> np.ndarray:
        """Point predictions in the target's unit from a feature matrix."""
        if self.booster is not None:
            # One thread: for request-sized matrices OpenMP start-up and spin-waiting cost more
            # than they save, and they steal the core the event loop needs.
            raw = self.booster.predict(Z, num_threads=1 if len(Z) < 1000 else 0)
        else:
            raw = self.estimator.predict(Z)
        raw = np.asarray(raw, dtype=float)
        return self.inverse(raw) if self.inverse is not None else raw

    def predict(self, columns: Mapping[str, list]) -> Prediction:
        """(prediction, lower, upper) for column lists."""
        return self.interval.interval_for(self.point(self.matrix(columns)))


def max_relative_difference(fast: FastPredictor,
                            expected: tuple[np.ndarray, np.ndarray, np.ndarray],
                            sample: pd.DataFrame, feature_columns: Sequence[str]) -> float:
    """Largest relative disagreement on `sample` between the fast path and `expected`, the
    pipeline's (prediction, lower, upper) there."""
    columns = {c: sample[c].tolist() for c in feature_columns}
    got = fast.predict(columns)
    worst = 0.0
    for e, g in zip(expected, got, strict=True):
        scale = np.maximum(np.abs(e), 1e-12)
        worst = max(worst, float(np.max(np.abs(g - e) / scale)))
    return worst
