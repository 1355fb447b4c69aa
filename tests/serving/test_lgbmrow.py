"""LightGBM's single-row path: the booster's own answers row by row, refused when it differs."""

from __future__ import annotations

import logging

import lightgbm as lgb
import numpy as np
import pytest

from homeprice.serving import lgbmrow


@pytest.fixture(scope="module")
def booster() -> lgb.Booster:
    """A small regression booster on synthetic data with missing values."""
    rng = np.random.default_rng(7)
    X = rng.normal(size=(600, 6))
    X[rng.random(X.shape) < 0.05] = np.nan
    y = 3 * np.nan_to_num(X[:, 0]) - np.nan_to_num(X[:, 1]) ** 2 + rng.normal(size=600)
    return lgb.train({"objective": "regression", "num_leaves": 15, "verbose": -1,
                      "num_threads": 1}, lgb.Dataset(X, y), num_boost_round=40)


@pytest.fixture
def reference() -> np.ndarray:
    rng = np.random.default_rng(11)
    Z = rng.normal(size=(50, 6))
    Z[rng.random(Z.shape) < 0.1] = np.nan
    Z[3] = 0.0  # zeros are skipped by the C API's dense-row reader: still the same answer
    return Z


def test_each_row_gets_the_boosters_answer(booster: lgb.Booster, reference: np.ndarray) -> None:
    predictor = lgbmrow.RowPredictor(booster)
    got = predictor.predict(reference)
    expected = booster.predict(reference)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0)
    # One row, and a non-contiguous float32 view, are priced the same.
    np.testing.assert_allclose(predictor.predict(reference[5:6]), expected[5:6], rtol=1e-12)
    strided = np.asfortranarray(reference[::2])
    np.testing.assert_allclose(predictor.predict(strided), expected[::2], rtol=1e-12)


def test_a_matrix_of_the_wrong_width_is_refused_naming_the_shape(booster: lgb.Booster) -> None:
    predictor = lgbmrow.RowPredictor(booster)
    with pytest.raises(ValueError, match=r"6 feature columns, got shape \(1, 5\)"):
        predictor.predict(np.zeros((1, 5)))


def test_the_checked_predictor_is_given_when_it_agrees(booster: lgb.Booster,
                                                      reference: np.ndarray) -> None:
    predictor = lgbmrow.row_predictor(booster, reference)
    assert predictor is not None
    assert lgbmrow.max_relative_difference(predictor, booster, reference) == 0.0


def test_a_difference_above_the_tolerance_refuses_the_path(
        booster: lgb.Booster, reference: np.ndarray, caplog: pytest.LogCaptureFixture) -> None:
    # The difference here is 0, so only a negative tolerance exceeds it: the check must compare
    # and refuse, never take the path on trust.
    with caplog.at_level(logging.WARNING, logger=lgbmrow.__name__):
        assert lgbmrow.row_predictor(booster, reference, tolerance=-1.0, name="ds v3") is None
    assert "ds v3: LightGBM's single-row path differs from Booster.predict by 0" in caplog.text


def test_no_reference_rows_is_an_error(booster: lgb.Booster) -> None:
    with pytest.raises(ValueError, match="no reference rows"):
        lgbmrow.row_predictor(booster, np.empty((0, 6)))


def test_a_booster_with_a_best_iteration_is_priced_up_to_it(reference: np.ndarray) -> None:
    # Booster.predict stops at best_iteration (set by early stopping); the single-row path
    # must price with the same trees.
    rng = np.random.default_rng(3)
    X = rng.normal(size=(400, 6))
    y = X[:, 0] * 2 + rng.normal(size=400)
    stopped = lgb.train({"objective": "regression", "verbose": -1, "num_threads": 1},
                        lgb.Dataset(X, y), num_boost_round=40)
    stopped.best_iteration = 10
    assert not np.allclose(stopped.predict(reference), stopped.predict(reference,
                                                                       num_iteration=40))
    np.testing.assert_allclose(lgbmrow.RowPredictor(stopped).predict(reference),
                               stopped.predict(reference), rtol=1e-12)
