"""California's feature builder: bedrooms imputed with the training median."""

from __future__ import annotations

import numpy as np
import pytest

from homeprice.datasets.california.columns import OCEAN_PROXIMITY
from homeprice.datasets.california.features import (
    CITIES,
    ROTATIONS_DEG,
    CaliforniaFeatures,
)
from homeprice.features import floats, objects


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
    # Per k: the log price's and the log price-to-income ratio's statistics, one distance.
    assert names[-14:] == builder.neighbour_prices_.names()
    assert names[-14:-7] == ["nb5_mean", "nb5_weighted", "nb5_spread", "nb5_per_income_mean",
                             "nb5_per_income_weighted", "nb5_per_income_spread",
                             "nb5_log_distance"]
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
    # Nor does its own income feed its own location premium.
    poorer = X.copy()
    poorer.iloc[0, poorer.columns.get_loc("median_income")] /= 4
    premium = names.index("nb5_per_income_mean")
    cheaper = CaliforniaFeatures(neighbours=(5, 15)).fit_transform(poorer, y)
    np.testing.assert_array_equal(cheaper[0, column:], trained[0, column:])
    assert (cheaper[:, premium] != trained[:, premium]).any()  # its neighbours' does
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


def test_a_builder_pickled_before_the_premium_existed_keeps_its_columns(clean_data) -> None:
    X, y = clean_data["california"]
    fitted = CaliforniaFeatures(income_premium=False).fit(X, y)
    state = fitted.__getstate__()
    del state["income_premium"]  # what a pickle written by the older class holds
    old = CaliforniaFeatures.__new__(CaliforniaFeatures)
    old.__setstate__(state)
    assert old.get_params()["income_premium"] is False
    assert not any("per_income" in name for name in old.get_feature_names_out())
    np.testing.assert_array_equal(old.transform(X.head(5)), fitted.transform(X.head(5)))


def _serving_sample(X) -> dict[str, list]:
    # Real rows, plus what a request may hold that the head of the data may not: every ocean
    # category, missing bedrooms, zero rooms and households, and the state's extreme corners.
    sample = X.sample(300, random_state=0).reset_index(drop=True)
    sample["ocean_proximity"] = [OCEAN_PROXIMITY[i % len(OCEAN_PROXIMITY)]
                                 for i in range(len(sample))]
    sample.loc[::7, "total_bedrooms"] = np.nan
    sample.loc[::11, ["total_rooms", "households"]] = 0.0
    corners = [(32.54, -124.35), (41.95, -124.35), (32.54, -114.31), (41.95, -114.31)]
    for i, (lat, lon) in enumerate(corners):
        sample.loc[i, ["latitude", "longitude"]] = lat, lon
    columns = {c: sample[c].tolist() for c in sample.columns}
    columns["total_bedrooms"] = [None if v != v else v for v in columns["total_bedrooms"]]
    return columns


def _per_column(fitted: CaliforniaFeatures, X) -> np.ndarray:
    # The features written plainly, one column at a time: the reference the builder's
    # broadcast arithmetic must match bit for bit.
    lon, lat = floats(X, "longitude"), floats(X, "latitude")
    rooms, raw_bedrooms = floats(X, "total_rooms"), floats(X, "total_bedrooms")
    bedrooms = np.where(np.isnan(raw_bedrooms), fitted.bedrooms_median_, raw_bedrooms)
    population = floats(X, "population")
    households = np.maximum(floats(X, "households"), 1.0)
    columns = [lon, lat, floats(X, "housing_median_age"), floats(X, "median_income"),
               np.log1p(rooms), np.log1p(bedrooms), np.log1p(population), np.log1p(households),
               rooms / households, bedrooms / np.maximum(rooms, 1.0), population / households,
               np.isnan(raw_bedrooms).astype(float)]
    for angle in np.deg2rad(ROTATIONS_DEG):
        columns += [lon * np.cos(angle) - lat * np.sin(angle),
                    lon * np.sin(angle) + lat * np.cos(angle)]
    for city_lat, city_lon in CITIES.values():
        columns.append(np.hypot(lat - city_lat, (lon - city_lon) * np.cos(np.deg2rad(city_lat))))
    coords = np.column_stack([lat, lon])
    sq_dist = ((coords[:, None, :] - fitted.cluster_centers_[None, :, :]) ** 2).sum(axis=2)
    columns += list(np.exp(-fitted.gamma * sq_dist).T)
    ocean = objects(X, "ocean_proximity")
    columns += [(ocean == category).astype(float) for category in OCEAN_PROXIMITY]
    nearby = getattr(fitted, "neighbour_prices_", None)
    if nearby is not None:
        columns += list(nearby.describe(lat, lon).T)
    return np.column_stack(columns)


@pytest.mark.parametrize("nearby", [True, False], ids=["neighbours", "without"])
def test_features_are_the_per_column_formulas_bit_for_bit_at_every_request_size(
        clean_data, nearby) -> None:
    # The builder computes every column with a few broadcast operations (one-row serving
    # speed); a last-bit difference from the plain formulas, or between a request of one row
    # and a whole matrix, could flip a tree split, so equality is exact, not approximate.
    X, y = clean_data["california"]
    fitted = CaliforniaFeatures().fit(X, y)
    width = len(fitted.get_feature_names_out())
    if not nearby:  # a pipeline pickled before neighbourhood prices existed
        width -= len(fitted.neighbour_prices_.names())
        del fitted.neighbour_prices_
    columns = _serving_sample(X)
    whole = fitted.transform_columns(columns)
    assert whole.shape == (len(columns["longitude"]), width)
    np.testing.assert_array_equal(whole, _per_column(fitted, columns), strict=True)
    for size in (1, 3, 8):
        for start in range(0, len(whole) - size + 1, size):
            part = {c: values[start:start + size] for c, values in columns.items()}
            np.testing.assert_array_equal(fitted.transform_columns(part),
                                          whole[start:start + size], strict=True)
