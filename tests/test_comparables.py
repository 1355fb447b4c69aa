"""Comparables index: exact nearest by the declared similarity, sorted and bounded, never the
query home itself, scaled so that no unit dominates, locality first where there are no
coordinates, and a weighted-median estimate inside the comps' range."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from homeprice.comparables import (
    ComparablesIndex,
    Estimate,
    comparables_metrics,
    weighted_median,
)
from homeprice.config import load_settings
from homeprice.datasets import DATASETS
from homeprice.features import Columns, floats, objects
from homeprice.neighbours import EARTH_RADIUS_KM, unit_sphere
from homeprice.similarity import Measure, Similarity, folded_keys


def _values(X: Columns) -> dict[str, np.ndarray]:
    return {"size": floats(X, "size"), "age": floats(X, "age")}


def _town(X: Columns) -> np.ndarray:
    return folded_keys(objects(X, "town"))


def _street(X: Columns) -> np.ndarray:
    return folded_keys(objects(X, "street"))


MEASURES = (Measure("size", weight=2.0, log=True), Measure("age", weight=0.5))
BY_PLACE = Similarity(measures=MEASURES, values=_values, coordinates=("lat", "lon"),
                      km_per_unit=3.0, describe=("size",))
BY_TOWN = Similarity(measures=MEASURES, values=_values, locality=_town, sub_locality=_street,
                     sub_locality_penalty=1.0, other_locality_penalty=3.0)
COLUMNS = ("lat", "lon", "size", "age", "town", "street")


@pytest.fixture(scope="module")
def homes() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 400
    return pd.DataFrame({"lat": rng.uniform(34.0, 34.5, n), "lon": rng.uniform(-118.5, -118.0, n),
                         "size": rng.lognormal(7, 0.4, n), "age": rng.uniform(0, 60, n),
                         "town": rng.choice(["North", "South", "East", "Tiny"], n,
                                            p=[0.45, 0.45, 0.09, 0.01]),
                         "street": rng.choice(["a", "b", "c", None], n),
                         "price": rng.lognormal(12, 0.3, n)})


def _fit(similarity: Similarity, homes: pd.DataFrame) -> ComparablesIndex:
    return ComparablesIndex(similarity, COLUMNS).fit(
        homes, homes["price"].to_numpy(), [f"h{i}" for i in range(len(homes))])


def _brute_force_place(index: ComparablesIndex, homes: pd.DataFrame, query: pd.DataFrame
                       ) -> np.ndarray:
    """Squared combined distances from every query to every home, computed directly."""
    radius = EARTH_RADIUS_KM / BY_PLACE.km_per_unit
    q_points = unit_sphere(query["lat"].to_numpy(), query["lon"].to_numpy()) * radius
    h_points = unit_sphere(homes["lat"].to_numpy(), homes["lon"].to_numpy()) * radius
    q = index._scaled(index._transformed(query))
    h = index._scaled(index._transformed(homes))
    return (((q_points[:, None] - h_points[None]) ** 2).sum(axis=2)
            + ((q[:, None] - h[None]) ** 2).sum(axis=2))


def test_nearest_by_place_are_exact_sorted_and_bounded(homes: pd.DataFrame) -> None:
    index = _fit(BY_PLACE, homes)
    query = homes.sample(30, random_state=1).assign(size=lambda d: d["size"] * 1.05)
    found = index.query(query, 7)
    assert found.rows.shape == found.distance.shape == (30, 7)
    assert (np.diff(found.distance, axis=1) >= 0).all()  # nearest first
    assert all(len(set(row)) == 7 for row in found.rows)  # no home twice
    expected = np.sqrt(np.sort(_brute_force_place(index, homes, query), axis=1)[:, :7])
    np.testing.assert_allclose(found.distance, expected, rtol=1e-9, atol=1e-9)
    assert ((0 <= found.rows) & (found.rows < len(homes))).all()
    assert (found.km >= 0).all() and np.isfinite(found.km).all()


def test_the_query_home_itself_is_never_its_own_comparable(homes: pd.DataFrame) -> None:
    doubled = pd.concat([homes, homes.iloc[[5]]], ignore_index=True)  # home 5 listed twice
    for similarity in (BY_PLACE, BY_TOWN):
        index = _fit(similarity, doubled)
        found = index.query(homes.iloc[[5, 6]], 10)
        assert not {5, len(homes)} & set(found.rows[0])
        assert 6 not in found.rows[1]
        # A different home at the same place is a comparable (only the home itself is not).
        near = homes.iloc[[5]].assign(age=homes["age"].iloc[5] + 1)
        assert {5, len(homes)} <= set(index.query(near, 3).rows[0])


@pytest.mark.parametrize("k", [0, -1, 10_000])
def test_k_out_of_bounds_is_refused(homes: pd.DataFrame, k: int) -> None:
    index = _fit(BY_PLACE, homes)
    with pytest.raises(ValueError, match="k must be between 1 and 399"):
        index.query(homes.head(1), k)


def test_a_measures_unit_does_not_change_the_comparables(homes: pd.DataFrame) -> None:
    """Scaled by robust spread: age in days instead of years, or size in square metres,
    finds the same homes (no measure dominates by its unit)."""
    query = homes.sample(20, random_state=2).assign(lat=lambda d: d["lat"] + 0.01)
    before = _fit(BY_PLACE, homes).query(query, 5).rows
    for column, factor in (("age", 365.25), ("size", 0.0929)):
        rescaled = homes.assign(**{column: homes[column] * factor})
        q = query.assign(**{column: query[column] * factor})
        np.testing.assert_array_equal(_fit(BY_PLACE, rescaled).query(q, 5).rows, before)


def test_spread_scaling_keeps_a_wide_measure_from_dominating(homes: pd.DataFrame) -> None:
    index = _fit(BY_PLACE, homes)
    spreads = index.scaled_.std(axis=0)
    # Scaled columns have comparable spreads (by their weights: 2 and 0.5), whatever the raw
    # values (sizes in the thousands, ages in tens).
    assert spreads[0] / spreads[1] == pytest.approx(2.0, rel=0.35)


def test_same_locality_comes_first_then_the_most_similar_elsewhere(homes: pd.DataFrame
                                                                   ) -> None:
    index = _fit(BY_TOWN, homes)
    towns = homes["town"].to_numpy()
    query = pd.DataFrame({"lat": [34.1] * 3, "lon": [-118.2] * 3, "size": [1100.0] * 3,
                          "age": [20.0] * 3, "town": ["north", "Tiny", "Atlantis"],
                          "street": ["a", "b", None]})
    found = index.query(query, 8)
    assert (towns[found.rows[0]] == "North").all() and found.same_locality[0].all()
    tiny = int((towns == "Tiny").sum())
    assert 0 < tiny < 8
    assert (towns[found.rows[1, :tiny]] == "Tiny").all()
    assert (towns[found.rows[1, tiny:]] != "Tiny").all()
    assert found.same_locality[1].tolist() == [True] * tiny + [False] * (8 - tiny)
    assert not found.same_locality[2].any()  # an unknown town: all from elsewhere
    for i in range(3):  # sorted within each part: the locality's own, then the others
        for part in (found.same_locality[i], ~found.same_locality[i]):
            assert (np.diff(found.distance[i][part]) >= 0).all()
    assert np.isnan(found.km).all()
    # The others' distance carries the penalty of another locality.
    assert (found.distance[2] >= BY_TOWN.other_locality_penalty).all()


def test_the_same_street_is_preferred_inside_a_locality(homes: pd.DataFrame) -> None:
    index = _fit(BY_TOWN, homes)
    query = pd.DataFrame({"lat": [34.1], "lon": [-118.2], "size": [1100.0], "age": [20.0],
                          "town": ["South"], "street": ["b"]})
    no_penalty = _fit(dataclasses.replace(BY_TOWN, sub_locality_penalty=0.0), homes)
    streets = homes["street"].to_numpy()
    with_street = (streets[index.query(query, 10).rows[0]] == "b").mean()
    without = (streets[no_penalty.query(query, 10).rows[0]] == "b").mean()
    assert with_street > without


def test_estimate_is_the_weighted_median_inside_the_range(homes: pd.DataFrame) -> None:
    index = _fit(BY_PLACE, homes)
    found = index.query(homes.head(50).assign(age=lambda d: d["age"] + 0.5), 5)
    estimate = index.estimate(found)
    prices = index.price_[found.rows]
    assert ((estimate.low <= estimate.price) & (estimate.price <= estimate.high)).all()
    np.testing.assert_array_equal(estimate.low, prices.min(axis=1))
    np.testing.assert_array_equal(estimate.high, prices.max(axis=1))
    assert np.isin(estimate.price, prices).all()  # a median of comps is one of their prices


def test_weighted_median_by_hand() -> None:
    values = np.array([[1.0, 2.0, 3.0, 10.0], [5.0, 6.0, 7.0, 8.0]])
    weights = np.array([[1.0, 1.0, 1.0, 0.1], [1.0, 2.0, 3.0, 4.0]])
    np.testing.assert_array_equal(weighted_median(values, weights), [2.0, 7.0])


def test_records_name_the_comparable_and_what_differs(homes: pd.DataFrame) -> None:
    index = _fit(BY_PLACE, homes)
    query = homes.iloc[[0]].assign(size=homes["size"].iloc[0] * 2)
    records = index.records(index.query(query, 3), 0)
    assert [r["id"] for r in records] == [f"h{i}" for i in index.query(query, 3).rows[0]]
    first = records[0]
    assert first["where"].endswith(" km") and first["distance_km"] >= 0
    assert first["features"]["size"] == pytest.approx(index.raw_[int(first["id"][1:]), 0])
    assert set(first["features"]) == {"size", "lat", "lon"}
    found = index.query(query, 3)
    for j, record in enumerate(records):  # largest weighted difference first
        differences = dict(zip(["size", "age"], found.differences[0, j], strict=True))
        named = [d["measure"] for d in record["differs_most"]]
        assert named == sorted(named, key=lambda m: -differences[m])
        row = found.rows[0, j]
        for item in record["differs_most"]:
            column = item["measure"]
            assert item["home"] == pytest.approx(query[column].iloc[0])
            assert item["comparable"] == pytest.approx(homes[column].iloc[row])


def test_metrics_by_hand() -> None:
    estimate = Estimate(price=np.array([100.0, 200.0]), low=np.array([90.0, 150.0]),
                        high=np.array([120.0, 180.0]))
    metrics = comparables_metrics(np.array([110.0, 190.0]), estimate,
                                  model_price=np.array([95.0, 250.0]))
    assert metrics["mae"] == pytest.approx(10.0)
    assert metrics["rmse"] == pytest.approx(10.0)
    assert metrics["range_coverage"] == 0.5
    assert metrics["model_in_range"] == 0.5


def test_similarity_declarations_are_checked() -> None:
    with pytest.raises(ValueError, match="exactly one of coordinates and locality"):
        Similarity(measures=MEASURES, values=_values)
    with pytest.raises(ValueError, match="exactly one"):
        Similarity(measures=MEASURES, values=_values, coordinates=("lat", "lon"),
                   locality=_town)
    with pytest.raises(ValueError, match="at least one measure"):
        Similarity(measures=(), values=_values, locality=_town)
    with pytest.raises(ValueError, match="weight must be positive"):
        Measure("size", weight=0.0)
    with pytest.raises(ValueError, match="unique"):
        Similarity(measures=(Measure("a"), Measure("a")), values=_values, locality=_town)


def test_an_index_needs_prices_for_every_home(homes: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="finite price"):
        ComparablesIndex(BY_PLACE, COLUMNS).fit(homes, np.full(len(homes), np.nan),
                                                list(range(len(homes))))
    with pytest.raises(ValueError, match="ids"):
        ComparablesIndex(BY_PLACE, COLUMNS).fit(homes, homes["price"].to_numpy(), ["x"])


@pytest.mark.parametrize("name", ["california", "bengaluru", "magicbricks"])
def test_every_dataset_declares_a_similarity_that_indexes_its_sample(name: str) -> None:
    dataset = DATASETS[name]
    similarity = dataset.similarity()
    assert similarity is not None
    raw = pd.read_csv(dataset.sample_path)
    data = dataset.clean(raw, load_settings()).data.head(500)
    index = ComparablesIndex(similarity, dataset.feature_columns).fit(
        data, data[dataset.target].to_numpy(), [str(i) for i in range(len(data))])
    found = index.query(data.head(20), 5)
    assert np.isfinite(index.scaled_).all()
    for i in range(20):  # sorted: the locality's own first (if any), each part nearest first
        for part in (found.same_locality[i], ~found.same_locality[i]):
            assert (np.diff(found.distance[i][part]) >= 0).all()
        assert (np.diff(found.same_locality[i].astype(int)) <= 0).all()
    estimate = index.estimate(found)
    assert np.isfinite(estimate.price).all() and (estimate.price > 0).all()
    for i in range(20):  # a training row is never its own comparable (nor its duplicate)
        assert not (index.fingerprints_[found.rows[i]] == index.fingerprints_[i]).any()
