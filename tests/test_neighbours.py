"""Neighbourhood price features: exact k nearest by great-circle distance, and no row ever
sees its own price while training."""

from __future__ import annotations

import numpy as np
import pytest

from homeprice.neighbours import NeighbourPrices, chord_to_km, unit_sphere


def _haversine_km(lat1: float, lon1: float, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    p1, p2 = np.deg2rad(lat1), np.deg2rad(lat2)
    dphi, dlmb = p2 - p1, np.deg2rad(lon2 - lon1)
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return 2 * 6371.0088 * np.arcsin(np.sqrt(a))


@pytest.fixture(scope="module")
def homes() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    lat = rng.uniform(33.0, 38.0, 600)
    lon = rng.uniform(-122.0, -117.0, 600)
    return lat, lon, rng.normal(12.0, 0.5, 600)


def test_chord_distance_is_great_circle_distance() -> None:
    la, sf = (34.05, -118.24), (37.77, -122.42)
    chord = np.linalg.norm(unit_sphere(np.array([la[0]]), np.array([la[1]]))
                           - unit_sphere(np.array([sf[0]]), np.array([sf[1]])), axis=1)
    assert chord_to_km(chord)[0] == pytest.approx(_haversine_km(*la, sf[0], sf[1]), rel=1e-9)
    assert chord_to_km(chord)[0] == pytest.approx(559, abs=2)  # Los Angeles - San Francisco


def test_statistics_are_those_of_the_k_nearest_by_haversine(homes) -> None:
    lat, lon, log_price = homes
    index = NeighbourPrices((3, 10)).fit(lat, lon, log_price)
    assert index.names() == ["nb3_mean", "nb3_weighted", "nb3_spread", "nb3_log_distance",
                             "nb10_mean", "nb10_weighted", "nb10_spread", "nb10_log_distance"]
    assert index.width() == len(index.names())
    query = (35.5, -119.5)
    got = index.describe(np.array([query[0]]), np.array([query[1]]))[0]
    km = _haversine_km(*query, lat, lon)
    order = np.argsort(km)
    for offset, k in ((0, 3), (4, 10)):
        nearest = order[:k]
        weights = 1.0 / (km[nearest] + 0.5)
        np.testing.assert_allclose(got[offset:offset + 4], [
            log_price[nearest].mean(), np.average(log_price[nearest], weights=weights),
            log_price[nearest].std(), np.log1p(km[nearest[-1]])], rtol=1e-9, atol=1e-9)


def test_one_neighbour_describes_each_point_by_its_nearest_home(homes) -> None:
    # k = 1 is the case where the tree query answers a vector, not a matrix, per point.
    lat, lon, log_price = homes
    got = NeighbourPrices((1,)).fit(lat, lon, log_price).describe(lat[:4] + 1e-4, lon[:4])
    assert got.shape == (4, 4)
    np.testing.assert_array_equal(got[:, 0], log_price[:4])  # mean of one home: its price
    np.testing.assert_array_equal(got[:, 2], 0.0)  # no spread
    assert (got[:, 3] < np.log1p(0.1)).all()  # a few metres away


def test_cross_fitted_rows_never_see_their_own_price(homes) -> None:
    lat, lon, log_price = homes
    index = NeighbourPrices((5,))
    before = index.cross_fitted(lat, lon, log_price)
    changed = log_price.copy()
    changed[17] += 50.0  # a wild price for one home
    after = index.cross_fitted(lat, lon, changed)
    np.testing.assert_array_equal(after[17], before[17])  # its own features ignore it
    assert not np.array_equal(after, before)  # but its neighbours in other folds see it
    # the same home described by the full index (serving) is its own nearest neighbour
    full = NeighbourPrices((5,)).fit(lat, lon, changed)
    described = full.describe(lat[17:18], lon[17:18])[0]
    assert described[0] > before[17][0] + 5  # one of 5 prices is 50 higher


def test_cross_fitting_is_deterministic_by_seed(homes) -> None:
    lat, lon, log_price = homes
    index = NeighbourPrices((5,))
    np.testing.assert_array_equal(index.cross_fitted(lat, lon, log_price, random_state=1),
                                  index.cross_fitted(lat, lon, log_price, random_state=1))
    assert not np.array_equal(index.cross_fitted(lat, lon, log_price, random_state=1),
                              index.cross_fitted(lat, lon, log_price, random_state=2))


def test_bad_settings_are_refused(homes) -> None:
    lat, lon, log_price = homes
    with pytest.raises(ValueError, match="positive"):
        NeighbourPrices((0, 5))
    with pytest.raises(ValueError, match="need more than 40 homes"):
        NeighbourPrices((40,)).fit(lat[:40], lon[:40], log_price[:40])


def test_several_values_share_one_search_and_keep_each_values_statistics(homes) -> None:
    lat, lon, log_price = homes
    other = log_price * 0.5 - 1.0
    both = NeighbourPrices((3, 10), labels=("", "half")).fit(
        lat, lon, np.column_stack([log_price, other]))
    assert both.names()[:7] == ["nb3_mean", "nb3_weighted", "nb3_spread", "nb3_half_mean",
                                "nb3_half_weighted", "nb3_half_spread", "nb3_log_distance"]
    assert both.width() == len(both.names()) == 14
    alone = [NeighbourPrices((3, 10)).fit(lat, lon, values) for values in (log_price, other)]
    queries = (np.array([35.5, 34.0, 37.2]), np.array([-119.5, -118.0, -121.9]))
    got = both.describe(*queries)
    first, second = (index.describe(*queries) for index in alone)
    for j in (0, 1):  # k = 3, then k = 10: 7 columns each here, 4 in a one-value index
        mine, theirs = got[:, 7 * j:7 * j + 7], (first[:, 4 * j:4 * j + 4],
                                                 second[:, 4 * j:4 * j + 4])
        np.testing.assert_array_equal(mine[:, 0:3], theirs[0][:, :3])
        np.testing.assert_array_equal(mine[:, 3:6], theirs[1][:, :3])
        np.testing.assert_array_equal(mine[:, 6], theirs[0][:, 3])  # the shared distance
    crossed = both.cross_fitted(lat, lon, np.column_stack([log_price, other]))
    np.testing.assert_array_equal(crossed[:, :3], alone[0].cross_fitted(lat, lon, log_price)[:, :3])
    with pytest.raises(ValueError, match="1 values per home for 2 labels"):
        both.fit(lat, lon, log_price)
    with pytest.raises(ValueError, match="distinct"):
        NeighbourPrices((3,), labels=("a", "a"))


def test_an_index_pickled_before_several_values_existed_still_describes(homes) -> None:
    lat, lon, log_price = homes
    index = NeighbourPrices((3, 10)).fit(lat, lon, log_price)
    expected = index.describe(lat[:5], lon[:5])
    del index.labels  # what unpickling an older index gives
    index.log_price_ = index.log_price_.ravel()
    assert len(index.names()) == 8
    np.testing.assert_array_equal(index.describe(lat[:5], lon[:5]), expected)
