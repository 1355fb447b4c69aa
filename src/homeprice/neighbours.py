"""Neighbourhood price features: k-nearest-neighbour statistics of training prices by location.

House prices are spatial: what the nearest sold homes fetched is the strongest signal that
coordinates alone do not give a tree model. `NeighbourPrices` indexes the training rows'
coordinates (on the unit sphere, so a k-d tree's chord distance orders neighbours exactly as
great-circle distance does) with their log prices, and describes any point by its k nearest
training homes: mean and inverse-distance-weighted mean log price, their spread, and how far
the k-th one is (density).

Leakage: a training row must never see its own price. `cross_fitted` gives the training rows
features computed from the other folds only (as scikit-learn's TargetEncoder does for
categories); `describe` on new rows uses every training row. Feature transformers call the
first from `fit_transform` and the second from `transform`, so a Pipeline gets both right.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.spatial import cKDTree
from sklearn.model_selection import KFold

EARTH_RADIUS_KM = 6371.0088
# Distances below this (km) are not trusted to rank weights: block groups are represented
# by one point each, and many share a centroid to the reported precision (0.01 degree).
_WEIGHT_FLOOR_KM = 0.5
STATISTICS = ("mean", "weighted", "spread", "log_distance")


def unit_sphere(latitude: np.ndarray, longitude: np.ndarray) -> np.ndarray:
    """Points on the unit sphere (x, y, z) for degrees of latitude and longitude."""
    lat, lon = np.deg2rad(latitude), np.deg2rad(longitude)
    return np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])


def chord_to_km(chord: np.ndarray) -> np.ndarray:
    """Great-circle distance (km) for chord lengths on the unit sphere."""
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.clip(chord / 2.0, 0.0, 1.0))


class NeighbourPrices:
    """A coordinate index of training homes and their log prices."""

    def __init__(self, ks: Sequence[int] = (5, 15, 40)) -> None:
        if not ks or any(k < 1 for k in ks):
            raise ValueError(f"neighbour counts must be positive, got {list(ks)}")
        self.ks = tuple(sorted(set(int(k) for k in ks)))

    def names(self) -> list[str]:
        """Output column names, in order."""
        return [f"nb{k}_{stat}" for k in self.ks for stat in STATISTICS]

    def fit(self, latitude: np.ndarray, longitude: np.ndarray, log_price: np.ndarray
            ) -> NeighbourPrices:
        """Index these homes (the training rows)."""
        points = unit_sphere(latitude, longitude)
        if len(points) <= max(self.ks):
            raise ValueError(f"need more than {max(self.ks)} homes to index neighbours, "
                             f"got {len(points)}")
        self.tree_ = cKDTree(points)
        self.log_price_ = np.asarray(log_price, dtype=float)
        return self

    def describe(self, latitude: np.ndarray, longitude: np.ndarray) -> np.ndarray:
        """Neighbour statistics of new points over every indexed home."""
        return _statistics(self.tree_, self.log_price_, unit_sphere(latitude, longitude),
                           self.ks)

    def cross_fitted(self, latitude: np.ndarray, longitude: np.ndarray, log_price: np.ndarray,
                     *, folds: int = 5, random_state: int = 42) -> np.ndarray:
        """Neighbour statistics of the training rows themselves, each from the other folds
        only (its own price, and those of its fold, never count)."""
        points = unit_sphere(latitude, longitude)
        log_price = np.asarray(log_price, dtype=float)
        out = np.empty((len(points), len(self.ks) * len(STATISTICS)))
        splitter = KFold(folds, shuffle=True, random_state=random_state)
        for fit_rows, score_rows in splitter.split(points):
            out[score_rows] = _statistics(cKDTree(points[fit_rows]), log_price[fit_rows],
                                          points[score_rows], self.ks)
        return out


def _statistics(tree: cKDTree, log_price: np.ndarray, points: np.ndarray,
                ks: tuple[int, ...]) -> np.ndarray:
    # Running sums over the neighbours sorted by distance give every k's statistics at once
    # (a handful of numpy calls whatever the number of ks: this runs per request when serving).
    chord, index = tree.query(points, k=max(ks))
    chord, index = np.atleast_2d(chord), np.atleast_2d(index)
    km = chord_to_km(chord)
    values = log_price[index]
    weights = 1.0 / (km + _WEIGHT_FLOOR_KM)
    at = np.asarray(ks) - 1
    counts = np.asarray(ks, dtype=float)
    # One cumulative sum over the four stacked terms: each row still adds up sequentially.
    sums = np.cumsum(np.stack([values, values * weights, weights, values * values]),
                     axis=2)[:, :, at]
    out = np.empty((len(values), len(ks), len(STATISTICS)))
    mean = out[:, :, 0] = sums[0] / counts
    out[:, :, 1] = sums[1] / sums[2]
    out[:, :, 2] = np.sqrt(np.maximum(sums[3] / counts - mean**2, 0.0))
    out[:, :, 3] = np.log1p(km[:, at])
    return out.reshape(len(values), len(ks) * len(STATISTICS))
