"""Candidate estimators and their Optuna search spaces."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
from lightgbm import LGBMRegressor
from sklearn.base import RegressorMixin
from sklearn.compose import TransformedTargetRegressor
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeRegressor

from homeprice.features import feature_builder
from homeprice.training.intervals import IntervalRegressor

Params = dict[str, Any]


@dataclass(frozen=True)
class Candidate:
    """A model family: how to build it from parameters, and where to search them."""

    name: str
    build: Callable[[Params, int, int], RegressorMixin]
    """(params, seed, n_jobs) -> unfitted estimator."""
    suggest: Callable[[optuna.Trial], Params]
    defaults: Params
    """Parameters tried first, so even one trial is a sensible model."""
    deterministic: bool = True


def _ridge(params: Params, seed: int, n_jobs: int) -> RegressorMixin:
    return Pipeline([("scale", StandardScaler()), ("ridge", Ridge(alpha=params["alpha"]))])


def _tree(params: Params, seed: int, n_jobs: int) -> RegressorMixin:
    return DecisionTreeRegressor(random_state=seed, **params)


def _forest(params: Params, seed: int, n_jobs: int) -> RegressorMixin:
    return RandomForestRegressor(random_state=seed, n_jobs=n_jobs, **params)


# Huber's threshold on residuals of the log price (where every Huber fit is made, see
# build_pipeline): errors beyond ~35% count linearly, so a few mispriced listings do not pull
# the fit. LightGBM's own default (0.9) would make it plain least squares at this scale.
HUBER_ALPHA = 0.3
# The losses LightGBM is tuned over (the first trial keeps least squares).
LIGHTGBM_OBJECTIVES = ("regression", "huber", "l1")


def _lightgbm(params: Params, seed: int, n_jobs: int) -> RegressorMixin:
    # deterministic + force_row_wise + fixed threads: the same data and seed give the same model.
    extra = {"alpha": HUBER_ALPHA} if params.get("objective") == "huber" else {}
    return LGBMRegressor(random_state=seed, n_jobs=n_jobs, deterministic=True,
                         force_row_wise=True, verbose=-1, subsample_freq=1, **params, **extra)


CANDIDATES: dict[str, Candidate] = {
    "ridge": Candidate(
        "ridge", _ridge,
        lambda t: {"alpha": t.suggest_float("alpha", 1e-3, 1e3, log=True)},
        {"alpha": 1.0},
    ),
    "tree": Candidate(
        "tree", _tree,
        lambda t: {"max_depth": t.suggest_int("max_depth", 4, 20),
                   "min_samples_leaf": t.suggest_int("min_samples_leaf", 1, 50, log=True)},
        {"max_depth": 10, "min_samples_leaf": 10},
    ),
    "forest": Candidate(
        "forest", _forest,
        lambda t: {"n_estimators": t.suggest_int("n_estimators", 60, 200, step=20),
                   "max_features": t.suggest_float("max_features", 0.2, 0.8),
                   "min_samples_leaf": t.suggest_int("min_samples_leaf", 1, 8)},
        {"n_estimators": 100, "max_features": 0.4, "min_samples_leaf": 2},
    ),
    "lightgbm": Candidate(
        "lightgbm", _lightgbm,
        lambda t: {"n_estimators": t.suggest_int("n_estimators", 200, 1500, step=100),
                   "learning_rate": t.suggest_float("learning_rate", 0.01, 0.15, log=True),
                   "num_leaves": t.suggest_int("num_leaves", 15, 127, log=True),
                   "min_child_samples": t.suggest_int("min_child_samples", 5, 60, log=True),
                   "subsample": t.suggest_float("subsample", 0.6, 1.0),
                   "colsample_bytree": t.suggest_float("colsample_bytree", 0.4, 1.0),
                   "reg_lambda": t.suggest_float("reg_lambda", 1e-3, 10.0, log=True),
                   # Listing prices have outliers: robust losses often win (measured: Huber
                   # -1% RMSE on California, -0.5 points MAPE on Bengaluru, untuned).
                   "objective": t.suggest_categorical("objective", LIGHTGBM_OBJECTIVES)},
        # More, slower steps than LightGBM's 0.1 (measured, untuned on California's five
        # 90/10 splits: 0.05 x 600 trees $38,862 mean RMSE, 0.03 x 1,000 $38,606).
        {"n_estimators": 1000, "learning_rate": 0.03, "num_leaves": 31, "min_child_samples": 20,
         "subsample": 0.8, "colsample_bytree": 0.7, "reg_lambda": 1.0, "objective": "regression"},
    ),
}


def build_pipeline(dataset: str, candidate: Candidate, params: Params, *, seed: int,
                   n_jobs: int, log_target: bool, alpha: float = 0.1, interval_bins: int = 5,
                   interval_score: str = "relative") -> Pipeline:
    """The served model: Pipeline(FeatureBuilder -> IntervalRegressor(estimator))."""
    estimator = candidate.build(params, seed, n_jobs)
    # Huber's threshold (HUBER_ALPHA) is a relative error, so a Huber fit is on the log price
    # even where the dataset fits raw prices: there 0.3 (dollars) would clip every gradient and
    # leave the booster's starting average, a constant model (seen: R² 0.0 on California).
    if log_target or params.get("objective") == "huber":
        estimator = TransformedTargetRegressor(regressor=estimator, func=np.log,
                                               inverse_func=np.exp)
    return Pipeline([
        ("features", feature_builder(dataset, random_state=seed)),
        ("model", IntervalRegressor(estimator, alpha=alpha, n_bins=interval_bins,
                                   score=interval_score)),
    ])
