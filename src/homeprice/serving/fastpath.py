"""Compile a logged pipeline into a fast predictor for requests: numpy features, raw booster.

The fast predictor runs the pipeline's own fitted feature builder on plain column lists (the
same code as training, without pandas), then the LightGBM booster directly (or the fitted
scikit-learn estimator on a numpy matrix for other candidates), then the model's own conformal
bands. Requests of a few rows go through LightGBM's single-row API (`lgbmrow`) once it has
agreed with the booster row by row, and bigger ones through the booster's compiled trees
(`compiledtrees`) once they are built. It is used only after agreeing with the sklearn
pipeline on a stored test sample, as a whole and row by row (again with compiled trees).
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

from homeprice.serving import lgbmrow
from homeprice.serving.compiledtrees import CompiledTrees
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
        # LightGBM's single-row path for small requests, once checked (`check_rows`).
        self.rows: lgbmrow.RowPredictor | None = None
        # The booster's compiled trees, for requests above lgbmrow.MAX_ROWS, once the caller
        # has checked them (homeprice.serving.compiledtrees; set by the model store).
        self.trees: CompiledTrees | None = None

    def check_rows(self, columns: Mapping[str, list], name: str = "model") -> bool:
        """Take LightGBM's single-row path for requests of up to lgbmrow.MAX_ROWS rows if it
        agrees with the booster on every row of `columns` (reference rows); True if taken."""
        self.rows = None
        if self.booster is not None:
            self.rows = lgbmrow.row_predictor(self.booster, self.matrix(columns), name=name)
        return self.rows is not None

    def matrix(self, columns: Mapping[str, list]) -> np.ndarray:
        """The model's feature matrix for column lists."""
        return self.features.transform_columns(columns)

    def point(self, Z: np.ndarray) -> np.ndarray:
        """Point predictions in the target's unit from a feature matrix."""
        if self.rows is not None and len(Z) <= lgbmrow.MAX_ROWS:
            # Not the compiled trees, although they walk one row in a sixth of the time in a
            # loop: their code (3 MB for 1,000 trees) falls out of the CPU caches between
            # requests, and a server answering one home at a time answered 15% fewer with
            # them than with LightGBM's compact tree arrays.
            raw = self.rows.predict(Z)
        elif self.trees is not None:
            raw = self.trees.predict(Z)
        elif self.booster is not None:
            # One thread: for request-sized matrices OpenMP start-up and spin-waiting cost more
            # than they save, and they steal the core the event loop and log writer need (on 2
            # cores a 1,000-row batch took 1.5x as long with every core as with one).
            raw = self.booster.predict(Z, num_threads=1)
        else:
            raw = self.estimator.predict(Z)
        raw = np.asarray(raw, dtype=float)
        return self.interval.bounded(self.inverse(raw) if self.inverse is not None else raw)

    def predict(self, columns: Mapping[str, list]) -> Prediction:
        """(prediction, lower, upper) for column lists."""
        Z = self.matrix(columns)
        return self.interval.interval_for(self.point(Z), self.interval.group_of(Z))


def max_relative_difference(fast: FastPredictor,
                            expected: tuple[np.ndarray, np.ndarray, np.ndarray],
                            sample: pd.DataFrame, feature_columns: Sequence[str]) -> float:
    """Largest relative disagreement on `sample` between the fast path and `expected`, the
    pipeline's (prediction, lower, upper) there: the sample priced as one matrix and row by
    row (single-home requests take other code paths: the feature builder on one row, and
    LightGBM's single-row API)."""
    columns = {c: sample[c].tolist() for c in feature_columns}
    whole = fast.predict(columns)
    one_by_one = [fast.predict({c: [values[i]] for c, values in columns.items()})
                  for i in range(len(sample))]
    by_row = tuple(np.concatenate([got[part] for got in one_by_one]) if one_by_one
                   else np.empty(0) for part in range(3))
    worst = 0.0
    for got in (whole, by_row):
        for e, g in zip(expected, got, strict=True):
            if len(e) == 0:
                continue
            scale = np.maximum(np.abs(e), 1e-12)
            worst = max(worst, float(np.max(np.abs(g - e) / scale)))
    return worst
