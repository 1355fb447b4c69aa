"""Feature transformers used inside every model pipeline (so serving computes them identically).

Each follows the scikit-learn estimator contract: `__init__` only stores parameters, `fit`
learns state ending in `_`, `transform` applies it. Inputs are the parsed model inputs of a
dataset (`Dataset.feature_columns`); outputs are float matrices with named columns.

`transform` takes a DataFrame or any mapping of column name -> 1-D values and uses numpy only,
so the serving fast path calls the very same code on validated requests without pandas.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.cluster import KMeans
from sklearn.model_selection import KFold
from sklearn.preprocessing import TargetEncoder
from sklearn.utils.validation import check_is_fitted

from collections.abc import Mapping
from typing import Any, Union

from homeprice.datasets.bengaluru import AREA_TYPES
from homeprice.datasets.california import OCEAN_PROXIMITY

# Big-city centres (latitude, longitude): distance to jobs explains much of California prices.
CITIES = {"los_angeles": (34.05, -118.24), "san_francisco": (37.77, -122.42),
          "san_diego": (32.72, -117.16), "san_jose": (37.34, -121.89), "sacramento": (38.58, -121.49)}
ROTATIONS_DEG = (15.0, 30.0, 45.0, 60.0)

Columns = Union[pd.DataFrame, Mapping[str, Any]]
"""A DataFrame, or a mapping of column name -> 1-D values (the serving fast path)."""


def _floats(X: Columns, name: str) -> np.ndarray:
    """A column as floats (None -> NaN)."""
    return np.asarray(X[name], dtype=float)


def _objects(X: Columns, name: str) -> np.ndarray:
    """A column as Python objects."""
    return np.asarray(X[name], dtype=object)


def _is_missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


class CaliforniaFeatures(TransformerMixin, BaseEstimator):
    """Census block-group features: per-household ratios, geography, one-hot ocean proximity.

    Learned on train: the median of `total_bedrooms` (imputation) and KMeans centres of the
    coordinates, used as RBF similarity features (Géron, ch. 2).
    """

    def __init__(self, n_clusters: int = 12, gamma: float = 1.0, random_state: int = 42) -> None:
        self.n_clusters = n_clusters
        self.gamma = gamma
        self.random_state = random_state

    def fit(self, X: pd.DataFrame, y: object = None) -> "CaliforniaFeatures":
        """Learn the bedroom median and the geographic clusters."""
        self.bedrooms_median_ = float(np.nanmedian(X["total_bedrooms"].astype(float)))
        coords = X[["latitude", "longitude"]].to_numpy(dtype=float)
        kmeans = KMeans(n_clusters=self.n_clusters, n_init=4, random_state=self.random_state)
        self.cluster_centers_ = kmeans.fit(coords).cluster_centers_
        self.feature_names_ = self._names()
        return self

    def _names(self) -> list[str]:
        names = ["longitude", "latitude", "housing_median_age", "median_income",
                 "log_total_rooms", "log_total_bedrooms", "log_population", "log_households",
                 "rooms_per_household", "bedrooms_per_room", "population_per_household",
                 "bedrooms_missing"]
        names += [f"rot_{int(a)}_{axis}" for a in ROTATIONS_DEG for axis in ("x", "y")]
        names += [f"dist_{city}" for city in CITIES]
        names += [f"cluster_sim_{i}" for i in range(self.n_clusters)]
        names += [f"ocean_{c.replace('<1H ', 'lt1h_').replace(' ', '_').lower()}"
                  for c in OCEAN_PROXIMITY]
        return names

    def transform(self, X: Columns) -> np.ndarray:
        """Feature matrix, one row per block group."""
        check_is_fitted(self, "cluster_centers_")
        return self.transform_columns(X)

    def transform_columns(self, X: Columns) -> np.ndarray:
        """`transform` without scikit-learn's per-call wrappers (the serving fast path)."""
        lon = _floats(X, "longitude")
        lat = _floats(X, "latitude")
        rooms = _floats(X, "total_rooms")
        raw_bedrooms = _floats(X, "total_bedrooms")
        bedrooms = np.where(np.isnan(raw_bedrooms), self.bedrooms_median_, raw_bedrooms)
        population = _floats(X, "population")
        households = np.maximum(_floats(X, "households"), 1.0)
        columns = [lon, lat, _floats(X, "housing_median_age"), _floats(X, "median_income"),
                   np.log1p(rooms), np.log1p(bedrooms), np.log1p(population), np.log1p(households),
                   rooms / households, bedrooms / np.maximum(rooms, 1.0), population / households,
                   np.isnan(raw_bedrooms).astype(float)]
        for angle in np.deg2rad(ROTATIONS_DEG):
            columns += [lon * np.cos(angle) - lat * np.sin(angle),
                        lon * np.sin(angle) + lat * np.cos(angle)]
        for city_lat, city_lon in CITIES.values():
            columns.append(np.hypot(lat - city_lat, (lon - city_lon) * np.cos(np.deg2rad(city_lat))))
        coords = np.column_stack([lat, lon])
        sq_dist = ((coords[:, None, :] - self.cluster_centers_[None, :, :]) ** 2).sum(axis=2)
        columns += list(np.exp(-self.gamma * sq_dist).T)
        ocean = _objects(X, "ocean_proximity")
        columns += [(ocean == category).astype(float) for category in OCEAN_PROXIMITY]
        return np.column_stack(columns)

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        """Names of the output columns."""
        check_is_fitted(self, "feature_names_")
        return np.asarray(self.feature_names_, dtype=object)

    def feature_sources(self) -> dict[str, list[str]]:
        """Model feature -> the input fields it is computed from (to explain per field)."""
        direct = {"longitude", "latitude", "housing_median_age", "median_income"}
        ratios = {"rooms_per_household": ["total_rooms", "households"],
                  "bedrooms_per_room": ["total_bedrooms", "total_rooms"],
                  "population_per_household": ["population", "households"],
                  "bedrooms_missing": ["total_bedrooms"]}
        sources: dict[str, list[str]] = {}
        for name in self.get_feature_names_out():
            if name in direct:
                sources[name] = [name]
            elif name in ratios:
                sources[name] = ratios[name]
            elif name.startswith("log_"):
                sources[name] = [name.removeprefix("log_")]
            elif name.startswith("ocean_"):
                sources[name] = ["ocean_proximity"]
            else:  # rotations, city distances, cluster similarities
                sources[name] = ["latitude", "longitude"]
        return sources


class BengaluruFeatures(TransformerMixin, BaseEstimator):
    """Listing features: sizes and ratios, area type, readiness, leak-free location encodings.

    `location` and `society` are target-encoded with scikit-learn's TargetEncoder on the log
    price per square foot: `fit_transform` (what a Pipeline calls while training) uses
    cross-fitting, so a listing's own price never feeds its encoding; `transform` (serving)
    uses encodings learned on the whole training split. Levels seen fewer than
    `min_count` times are grouped into one "rare" level before encoding.
    """

    def __init__(self, min_count: int = 3, random_state: int = 42) -> None:
        self.min_count = min_count
        self.random_state = random_state

    _NUMERIC = ("bedrooms", "total_sqft", "bath", "balcony", "ready_to_move")
    _ENCODED = ("location", "society")

    def _base(self, X: Columns) -> dict[str, np.ndarray]:
        values = {c: _floats(X, c) for c in self._NUMERIC}
        for column in ("bath", "balcony", "ready_to_move"):
            values[column] = np.where(np.isnan(values[column]), self.medians_[column], values[column])
        return values

    @staticmethod
    def _raw_levels(X: Columns, column: str) -> list[str]:
        return ["__missing__" if _is_missing(v) else str(v) for v in _objects(X, column)]

    def _levels(self, X: Columns) -> np.ndarray:
        """Location and society with rare or unseen levels grouped; missing kept as its own level."""
        columns = []
        for column in self._ENCODED:
            frequent = self.frequent_[column]
            columns.append([v if v in frequent else "__rare__"
                            for v in self._raw_levels(X, column)])
        return np.array(columns, dtype=object).T.reshape(-1, len(self._ENCODED))

    def _fit_state(self, X: Columns) -> None:
        self.medians_ = {c: float(np.nanmedian(_floats(X, c)))
                         for c in ("bath", "balcony", "ready_to_move")}
        self.frequent_ = {}
        for column in self._ENCODED:
            counts = pd.Series(self._raw_levels(X, column)).value_counts()
            self.frequent_[column] = set(counts[counts >= self.min_count].index)
        self.location_counts_ = pd.Series(self._raw_levels(X, "location")).value_counts().to_dict()

    @staticmethod
    def _encoding_target(X: Columns, y: object) -> np.ndarray:
        return np.log(np.asarray(y, dtype=float) / _floats(X, "total_sqft"))

    def fit(self, X: pd.DataFrame, y: object) -> "BengaluruFeatures":
        """Learn imputation medians, frequent levels and the target encodings."""
        self.fit_transform(X, y)
        return self

    def fit_transform(self, X: pd.DataFrame, y: object = None, **_: object) -> np.ndarray:
        """Fit, and return cross-fitted encodings for the training rows (no target leakage)."""
        if y is None:
            raise ValueError("BengaluruFeatures needs the target to learn its encodings")
        self._fit_state(X)
        self.encoder_ = TargetEncoder(
            target_type="continuous", cv=KFold(5, shuffle=True, random_state=self.random_state))
        encoded = self.encoder_.fit_transform(self._levels(X), self._encoding_target(X, y))
        # Plain lookups for transform: the encoder's own transform validates per call (slow).
        self.encodings_ = [dict(zip(categories.tolist(), values.tolist()))
                           for categories, values in zip(self.encoder_.categories_,
                                                         self.encoder_.encodings_)]
        self.feature_names_ = self._names()
        return self._assemble(X, encoded)

    def transform(self, X: Columns) -> np.ndarray:
        """Feature matrix, one row per listing."""
        check_is_fitted(self, "encodings_")
        return self.transform_columns(X)

    def transform_columns(self, X: Columns) -> np.ndarray:
        """`transform` without scikit-learn's per-call wrappers (the serving fast path)."""
        default = float(self.encoder_.target_mean_)
        levels = self._levels(X)
        encoded = np.array([[table.get(level, default) for table, level in zip(self.encodings_, row)]
                            for row in levels], dtype=float).reshape(-1, len(self._ENCODED))
        return self._assemble(X, encoded)

    def _names(self) -> list[str]:
        return (["bedrooms", "total_sqft", "bath", "balcony", "ready_to_move", "log_sqft",
                 "sqft_per_bedroom", "baths_per_bedroom", "location_listings"]
                + [f"area_{a.split()[0].lower().replace('-', '_')}" for a in AREA_TYPES]
                + ["location_te", "society_te", "location_te_x_log_sqft"])

    def _assemble(self, X: Columns, encoded: np.ndarray) -> np.ndarray:
        v = self._base(X)
        area = _objects(X, "area_type")
        counts = np.array([self.location_counts_.get(level, 0)
                           for level in self._raw_levels(X, "location")], dtype=float)
        log_sqft = np.log(v["total_sqft"])
        columns = [v["bedrooms"], v["total_sqft"], v["bath"], v["balcony"], v["ready_to_move"],
                   log_sqft, v["total_sqft"] / v["bedrooms"], v["bath"] / v["bedrooms"],
                   np.log1p(counts)]
        columns += [(area == a).astype(float) for a in AREA_TYPES]
        # The encodings are log price per sqft: adding log sqft gives a log-price estimate.
        columns += [encoded[:, 0], encoded[:, 1], encoded[:, 0] + log_sqft]
        return np.column_stack(columns)

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        """Names of the output columns."""
        check_is_fitted(self, "feature_names_")
        return np.asarray(self.feature_names_, dtype=object)

    def feature_sources(self) -> dict[str, list[str]]:
        """Model feature -> the input fields it is computed from (to explain per field)."""
        known = {"bedrooms": ["bedrooms"], "total_sqft": ["total_sqft"], "bath": ["bath"],
                 "balcony": ["balcony"], "ready_to_move": ["availability"],
                 "log_sqft": ["total_sqft"], "sqft_per_bedroom": ["total_sqft", "bedrooms"],
                 "baths_per_bedroom": ["bath", "bedrooms"], "location_listings": ["location"],
                 "location_te": ["location"], "society_te": ["society"],
                 "location_te_x_log_sqft": ["location", "total_sqft"]}
        return {name: known.get(name, ["area_type"]) for name in self.get_feature_names_out()}


FEATURE_BUILDERS: dict[str, type[BaseEstimator]] = {
    "california": CaliforniaFeatures,
    "bengaluru": BengaluruFeatures,
}


def feature_builder(dataset: str, random_state: int = 42) -> BaseEstimator:
    """A fresh, unfitted feature builder for a dataset."""
    return FEATURE_BUILDERS[dataset](random_state=random_state)
