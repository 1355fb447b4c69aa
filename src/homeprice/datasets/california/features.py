"""California's feature transformer: per-household ratios, geography, one-hot ocean proximity.

It follows the scikit-learn estimator contract and runs inside every California model pipeline
(see homeprice.features for the shared conventions).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.cluster import KMeans
from sklearn.utils.validation import check_is_fitted

from homeprice.datasets.california.columns import OCEAN_PROXIMITY
from homeprice.features import Columns, floats, objects
from homeprice.neighbours import NeighbourPrices

# Big-city centres (latitude, longitude): distance to jobs explains much of California prices.
CITIES = {"los_angeles": (34.05, -118.24), "san_francisco": (37.77, -122.42),
          "san_diego": (32.72, -117.16), "san_jose": (37.34, -121.89),
          "sacramento": (38.58, -121.49)}
ROTATIONS_DEG = (15.0, 30.0, 45.0, 60.0)


class CaliforniaFeatures(TransformerMixin, BaseEstimator):
    """Census block-group features: per-household ratios, geography, one-hot ocean proximity.

    Learned on train: the median of `total_bedrooms` (imputation), KMeans centres of the
    coordinates, used as RBF similarity features (Géron, ch. 2), and, when the target is
    given, the neighbourhood's prices: statistics of the `neighbours` nearest training block
    groups' log values (homeprice.neighbours), cross-fitted for the training rows themselves.
    """

    def __init__(self, n_clusters: int = 12, gamma: float = 1.0, random_state: int = 42,
                 neighbours: tuple[int, ...] | None = (5, 15, 40)) -> None:
        self.n_clusters = n_clusters
        self.gamma = gamma
        self.random_state = random_state
        self.neighbours = neighbours

    def fit(self, X: pd.DataFrame, y: object = None) -> CaliforniaFeatures:
        """Learn the bedroom median, the geographic clusters and the neighbourhood prices."""
        self._fit_state(X, y)
        return self

    def fit_transform(self, X: pd.DataFrame, y: object = None, **_: object) -> np.ndarray:
        """Fit, and return features whose neighbourhood prices are cross-fitted (a training
        row's own value never feeds its features)."""
        self._fit_state(X, y)
        base = self._base_columns(X)
        if self.neighbour_prices_ is None:
            return base
        lat, lon = floats(X, "latitude"), floats(X, "longitude")
        nearby = self.neighbour_prices_.cross_fitted(lat, lon, np.log(np.asarray(y, float)),
                                                     random_state=self.random_state)
        return np.hstack([base, nearby])

    def _fit_state(self, X: pd.DataFrame, y: object) -> None:
        self.bedrooms_median_ = float(np.nanmedian(X["total_bedrooms"].astype(float)))
        coords = X[["latitude", "longitude"]].to_numpy(dtype=float)
        kmeans = KMeans(n_clusters=self.n_clusters, n_init=4, random_state=self.random_state)
        self.cluster_centers_ = kmeans.fit(coords).cluster_centers_
        # Without a target (or with neighbours=None) the features are location-only, as before.
        self.neighbour_prices_ = None
        if self.neighbours and y is not None:
            self.neighbour_prices_ = NeighbourPrices(self.neighbours).fit(
                coords[:, 0], coords[:, 1], np.log(np.asarray(y, dtype=float)))
        self.feature_names_ = self._names()

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
        if self.neighbour_prices_ is not None:
            names += self.neighbour_prices_.names()
        return names

    def transform(self, X: Columns) -> np.ndarray:
        """Feature matrix, one row per block group."""
        check_is_fitted(self, "cluster_centers_")
        return self.transform_columns(X)

    def transform_columns(self, X: Columns) -> np.ndarray:
        """`transform` without scikit-learn's per-call wrappers (the serving fast path)."""
        base = self._base_columns(X)
        # Pipelines fitted before neighbourhood prices existed have no `neighbour_prices_`.
        nearby = getattr(self, "neighbour_prices_", None)
        if nearby is None:
            return base
        return np.hstack([base, nearby.describe(floats(X, "latitude"), floats(X, "longitude"))])

    def _base_columns(self, X: Columns) -> np.ndarray:
        lon = floats(X, "longitude")
        lat = floats(X, "latitude")
        rooms = floats(X, "total_rooms")
        raw_bedrooms = floats(X, "total_bedrooms")
        bedrooms = np.where(np.isnan(raw_bedrooms), self.bedrooms_median_, raw_bedrooms)
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
            columns.append(np.hypot(lat - city_lat,
                                    (lon - city_lon) * np.cos(np.deg2rad(city_lat))))
        coords = np.column_stack([lat, lon])
        sq_dist = ((coords[:, None, :] - self.cluster_centers_[None, :, :]) ** 2).sum(axis=2)
        columns += list(np.exp(-self.gamma * sq_dist).T)
        ocean = objects(X, "ocean_proximity")
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
            else:  # rotations, city distances, cluster similarities, neighbourhood prices
                sources[name] = ["latitude", "longitude"]
        return sources
