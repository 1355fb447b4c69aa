"""California's feature builder: bedrooms imputed with the training median."""

from __future__ import annotations

import numpy as np
import pytest

from homeprice.datasets.california.features import CaliforniaFeatures


def test_missing_bedrooms_are_imputed_with_train_median(clean_data) -> None:
    X, y = clean_data["california"]
    fitted = CaliforniaFeatures().fit(X, y)
    row = X.head(1).assign(total_bedrooms=np.nan)
    names = list(fitted.get_feature_names_out())
    Z = fitted.transform(row)
    assert Z[0, names.index("bedrooms_missing")] == 1.0
    assert Z[0, names.index("log_total_bedrooms")] == pytest.approx(
        np.log1p(X["total_bedrooms"].median()))


def test_neighbourhood_prices_are_cross_fitted_in_training_and_full_when_serving(
        clean_data) -> None:
    X, y = clean_data["california"]
    builder = CaliforniaFeatures(neighbours=(5, 15))
    trained = builder.fit_transform(X, y)
    names = list(builder.get_feature_names_out())
    column = names.index("nb5_mean")
    assert names[-8:] == builder.neighbour_prices_.names()
    # Serving a training row finds the row itself among its neighbours; training never did.
    served = builder.transform(X)
    assert (served[:, names.index("nb5_log_distance")]
            <= trained[:, names.index("nb5_log_distance")]).all()
    assert np.mean(served[:, column] != trained[:, column]) > 0.9
    # A training row's own price never feeds its training features.
    y_changed = y.copy()
    y_changed.iloc[0] = y.iloc[0] * 3
    again = CaliforniaFeatures(neighbours=(5, 15)).fit_transform(X, y_changed)
    np.testing.assert_array_equal(again[0], trained[0])
    # Everything but the neighbourhood columns is the same as serving computes.
    np.testing.assert_array_equal(trained[:, :column], served[:, :column])


def test_without_a_target_or_neighbours_the_features_are_location_only(clean_data) -> None:
    X, y = clean_data["california"]
    plain = CaliforniaFeatures(neighbours=None).fit(X, y)
    untargeted = CaliforniaFeatures().fit(X)
    assert not any(n.startswith("nb") for n in plain.get_feature_names_out())
    assert list(untargeted.get_feature_names_out()) == list(plain.get_feature_names_out())
    np.testing.assert_array_equal(plain.transform(X.head(5)), untargeted.transform(X.head(5)))
    # A pipeline pickled before neighbourhood prices existed has no such attribute.
    del plain.neighbour_prices_
    assert plain.transform(X.head(5)).shape == (5, len(plain.get_feature_names_out()))
