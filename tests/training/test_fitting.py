"""Fitting the served model: cross-fitted calibration uses every non-test row, and its
intervals come from residuals of models that never saw the row."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from homeprice.training.fitting import fit_calibrated, out_of_fold_predictions
from homeprice.training.intervals import IntervalRegressor


def _rows(n: int, seed: int) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(1, 10, n)
    return pd.DataFrame({"x": x}), pd.Series(10 * x + rng.normal(0, x, n))


def _model() -> Pipeline:
    # 1-nearest-neighbour: in-sample predictions are the training targets themselves, so any
    # leak of a row into its own prediction shows as a zero residual.
    return Pipeline([("features", FunctionTransformer(lambda X: np.asarray(X, float))),
                     ("model", IntervalRegressor(KNeighborsRegressor(1), alpha=0.1, n_bins=2,
                                                 min_bin_size=50))])


def test_out_of_fold_predictions_never_see_their_own_row() -> None:
    X, y = _rows(400, 0)
    predicted = out_of_fold_predictions(_model(), X, y, folds=5, seed=0)
    assert np.all(predicted != y.to_numpy())  # in-sample 1-NN would give y exactly
    in_sample = _model().fit(X, y).predict(X)
    np.testing.assert_array_equal(in_sample, y.to_numpy())
    with pytest.raises(ValueError, match="at least 2 folds"):
        out_of_fold_predictions(_model(), X, y, folds=1, seed=0)


def test_cross_calibration_fits_on_train_and_calibration_rows() -> None:
    train, calibration = _rows(600, 1), _rows(200, 2)
    model = fit_calibrated(_model(), train, calibration, how="cross", folds=5, seed=0)
    interval = model[-1]
    assert interval.calibration_size_ == 800
    # the served 1-NN knows the calibration rows: it reproduces their targets
    np.testing.assert_array_equal(model.predict(calibration[0]), calibration[1].to_numpy())
    # bands from honest residuals: a 1-NN's in-sample residuals would all be zero
    assert (interval.band_quantiles_ > 0).all()
    X_new, y_new = _rows(5000, 3)
    _, lower, upper = model[-1].predict_interval(model[:-1].transform(X_new))
    assert 0.86 <= np.mean((y_new >= lower) & (y_new <= upper)) <= 0.95


def test_split_calibration_keeps_the_calibration_rows_out_of_fitting() -> None:
    train, calibration = _rows(600, 1), _rows(200, 2)
    model = fit_calibrated(_model(), train, calibration, how="split", folds=5, seed=0)
    assert model[-1].calibration_size_ == 200
    assert np.all(model.predict(calibration[0]) != calibration[1].to_numpy())
    empty = (calibration[0].head(0), calibration[1].head(0))
    with pytest.raises(ValueError, match="needs a calibration split"):
        fit_calibrated(_model(), train, empty, how="split", folds=5, seed=0)
    with pytest.raises(ValueError, match="'cross' or 'split'"):
        fit_calibrated(_model(), train, calibration, how="both", folds=5, seed=0)  # type: ignore[arg-type]
