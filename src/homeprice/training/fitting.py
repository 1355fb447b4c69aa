"""Fit a candidate's served model and calibrate its prediction intervals.

Two ways, chosen by `training.interval_calibration`:

- `split`: fit on the train split, calibrate the conformal bands on the calibration split
  (split conformal: a finite-sample coverage guarantee, but the served model never sees the
  calibration rows, and they are lost to fitting).
- `cross` (default): fit on train and calibration rows together, and calibrate from
  out-of-fold predictions: K models, each fitted like the served one on K-1 folds, predict the
  fold they never saw (the cross-validation residuals of Barber et al. 2021, whose "CV+"
  interval would need all K models at serving; here they only set the band widths around the
  refit model). The served model learns from every non-test row; as it fits on more rows than
  each fold model, its errors are if anything smaller than the residuals calibrated on, so the
  intervals lean conservative. The test split never touches fitting or calibration either way,
  so the test metrics stay honest, coverage included.
"""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import KFold
from sklearn.pipeline import Pipeline

from homeprice.training.intervals import group_flags

Calibration = Literal["cross", "split"]


def out_of_fold_predictions(model: Pipeline, X: pd.DataFrame, y: pd.Series, *, folds: int,
                            seed: int) -> np.ndarray:
    """Each row's prediction by a clone of `model` fitted on the other folds."""
    if folds < 2:
        raise ValueError(f"cross-fitted calibration needs at least 2 folds, got {folds}")
    predicted = np.empty(len(X), dtype=float)
    for fit_rows, held_out in KFold(folds, shuffle=True, random_state=seed).split(X):
        fold_model = clone(model)
        with warnings.catch_warnings():  # LightGBM's feature-name chatter on numpy inputs
            warnings.simplefilter("ignore", UserWarning)
            fold_model.fit(X.iloc[fit_rows], y.iloc[fit_rows])
            predicted[held_out] = fold_model.predict(X.iloc[held_out])
    return predicted


def fit_calibrated(model: Pipeline, train: tuple[pd.DataFrame, pd.Series],
                   calibration: tuple[pd.DataFrame, pd.Series], *, how: Calibration,
                   folds: int, seed: int) -> Pipeline:
    """Fit `model` (Pipeline(features -> IntervalRegressor)) and calibrate its intervals."""
    if how == "split":
        X_cal, y_cal = calibration
        if len(X_cal) == 0:
            raise ValueError("interval_calibration 'split' needs a calibration split "
                             "(split.calibration > 0), or use 'cross'")
        model.fit(*train)
        model[-1].calibrate(model[:-1].transform(X_cal), y_cal.to_numpy(),
                            group_column=interval_group_column(model))
        return model
    if how != "cross":
        raise ValueError(f"interval_calibration must be 'cross' or 'split', got {how!r}")
    X, y = fitting_rows(train, calibration)
    held_out = out_of_fold_predictions(model, X, y, folds=folds, seed=seed)
    model.fit(X, y)
    column = interval_group_column(model)
    group = None if column is None else group_flags(model[:-1].transform(X), column)
    model[-1].calibrate_predictions(held_out, y.to_numpy(dtype=float), group=group,
                                    group_column=column)
    return model


def interval_group_column(model: Pipeline) -> int | None:
    """The fitted feature matrix's column that flags rows calibrated as a group of their own
    (the feature builder's `interval_group`, e.g. Bengaluru's listings without a size), or
    None when the dataset declares none."""
    name = getattr(model[0], "interval_group", None)
    if name is None:
        return None
    names = list(model[:-1].get_feature_names_out())
    if name not in names:
        return None  # a builder fitted before the flag existed
    return names.index(name)


def fitting_rows(train: tuple[pd.DataFrame, pd.Series],
                 calibration: tuple[pd.DataFrame, pd.Series]) -> tuple[pd.DataFrame, pd.Series]:
    """Train and calibration rows as one fitting set (what `cross` fits and tunes on)."""
    return pd.concat([train[0], calibration[0]]), pd.concat([train[1], calibration[1]])
