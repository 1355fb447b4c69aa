"""Neighbourhood price features: k-nearest-neighbour statistics of training prices by location.

House prices are spatial: what the nearest sold homes fetched is the strongest signal that
coordinates alone do not give a tree model. `NeighbourPrices` indexes the training rows'
coordinates (on the unit sphere, so a k-d tree's chord distance orders neighbours exactly as
great-circle distance does) with their log prices, and describes any point by its k nearest
training homes: mean and inverse-distance-weighted mean log price, their spread, and how far
the k-th one is (density). It can index several values per home at once (e.g. the log price
and the log price-to-income ratio): one neighbour search, statistics per value.

Leakage: a training row must never see its own price. `cross_fitted` gives the training rows
features computed from the other folds only (as scikit-learn's TargetEncoder does for
categories); `describe` on new rows uses every training row. Feature transformers call the
first from `fit_transform` and the second from `transform`, so a Pipeline gets both right.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
from scipy.spatial import cKDTree
from sklearn.model_selection import KFold

EARTH_RADIUS_KM = 6371.0088
# Distances below this (km) are not trusted to rank weights: block groups are represented
# by one point each, and many share a centroid to the reported precision (0.01 degree).
_WEIGHT_FLOOR_KM = 0.5
# Per indexed value; then one distance column per k, shared by the values.
VALUE_STATISTICS = ("mean", "weighted", "spread")


def unit_sphere(latitude: np.ndarray, longitude: np.ndarray) -> np.ndarray:
    """Points on the unit sphere (x, y, z) for degrees of latitude and longitude."""
    lat, lon = np.deg2rad(latitude), np.deg2rad(longitude)
    return np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])


def chord_to_km(chord: np.ndarray) -> np.ndarray:
    """Great-circle distance (km) for chord lengths on the unit sphere."""
    # minimum(maximum()) is np.clip's result for the (never NaN) chords, at a third of the
    # cost for the one-row arrays of a request.
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.minimum(np.maximum(chord / 2.0, 0.0), 1.0))


class NeighbourPrices:
    """A coordinate index of training homes and their log prices (or several values each)."""

    def __init__(self, ks: Sequence[int] = (5, 15, 40), labels: Sequence[str] = ("",)) -> None:
        if not ks or any(k < 1 for k in ks):
            raise ValueError(f"neighbour counts must be positive, got {list(ks)}")
        if not labels or len(set(labels)) != len(labels):
            raise ValueError(f"value labels must be distinct and at least one, got {list(labels)}")
        self.ks = tuple(sorted(set(int(k) for k in ks)))
        # One label per indexed value, naming its columns ("" for the log price itself, whose
        # columns keep the names of indexes fitted before several values existed).
        self.labels = tuple(labels)

    def names(self) -> list[str]:
        """Output column names, in order: per k, each value's statistics, then the distance."""
        names = []
        for k in self.ks:
            for label in _labels(self):
                prefix = f"nb{k}_{label}_" if label else f"nb{k}_"
                names += [prefix + stat for stat in VALUE_STATISTICS]
            names.append(f"nb{k}_log_distance")
        return names

    def width(self) -> int:
        """How many columns `names` gives (counted, not built: this runs per request)."""
        return len(self.ks) * (len(_labels(self)) * len(VALUE_STATISTICS) + 1)

    def fit(self, latitude: np.ndarray, longitude: np.ndarray, values: np.ndarray
            ) -> NeighbourPrices:
        """Index these homes (the training rows) with their values: one column per label."""
        points = unit_sphere(latitude, longitude)
        if len(points) <= max(self.ks):
            raise ValueError(f"need more than {max(self.ks)} homes to index neighbours, "
                             f"got {len(points)}")
        self.tree_ = cKDTree(points)
        self.log_price_ = self._columns(values, len(points))
        return self

    def _columns(self, values: np.ndarray, rows: int) -> np.ndarray:
        values = np.asarray(values, dtype=float).reshape(rows, -1)
        if values.shape[1] != len(_labels(self)):
            raise ValueError(f"{values.shape[1]} values per home for "
                             f"{len(_labels(self))} labels {list(_labels(self))}")
        return values

    def describe(self, latitude: np.ndarray, longitude: np.ndarray) -> np.ndarray:
        """Neighbour statistics of new points over every indexed home."""
        return _statistics(self.tree_, self.log_price_, unit_sphere(latitude, longitude),
                           self.ks)

    def cross_fitted(self, latitude: np.ndarray, longitude: np.ndarray, values: np.ndarray,
                     *, folds: int = 5, random_state: int = 42) -> np.ndarray:
        """Neighbour statistics of the training rows themselves, each from the other folds
        only (its own values, and those of its fold, never count)."""
        points = unit_sphere(latitude, longitude)
        values = self._columns(values, len(points))
        out = np.empty((len(points), len(self.names())))
        splitter = KFold(folds, shuffle=True, random_state=random_state)
        for fit_rows, score_rows in splitter.split(points):
            out[score_rows] = _statistics(cKDTree(points[fit_rows]), values[fit_rows],
                                          points[score_rows], self.ks)
        return out


def _labels(index: NeighbourPrices) -> tuple[str, ...]:
    # Indexes pickled before several values existed hold one unlabelled value.
    return getattr(index, "labels", ("",))


@functools.cache
def _positions(ks: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The running-sum positions of the ks and the ks as a float column (made once per ks)."""
    at, counts = np.asarray(ks) - 1, np.asarray(ks, dtype=float)[:, None]
    at.flags.writeable = counts.flags.writeable = False
    return at, counts


def _statistics(tree: cKDTree, values: np.ndarray, points: np.ndarray,
                ks: tuple[int, ...]) -> np.ndarray:
    # Running sums over the neighbours sorted by distance give every k's statistics at once
    # (a handful of numpy calls whatever the number of ks and values: this runs per request
    # when serving, where numpy's per-call overhead, not the arithmetic, is the cost; hence
    # the terms written into one preallocated array rather than np.stack of broadcasts, which
    # cost more than the rest together on one row, with the same bits).
    values = values.reshape(len(values), -1)  # indexes pickled with one value hold a vector
    chord, index = tree.query(points, k=max(ks))
    # (points, neighbours) even for k = 1, where the query answers one vector.
    n = len(points)
    chord, index = chord.reshape(n, -1), index.reshape(n, -1)
    km = chord_to_km(chord)
    near = values[index]  # (points, neighbours, values)
    at, counts = _positions(ks)
    terms = np.empty((4, *near.shape))
    weights = (1.0 / (km + _WEIGHT_FLOOR_KM))[:, :, None]
    terms[0] = near
    np.multiply(near, weights, out=terms[1])
    terms[2] = weights
    np.multiply(near, near, out=terms[3])
    # One cumulative sum (add.accumulate, which np.cumsum is) over the four stacked terms:
    # each row still adds up sequentially.
    sums = np.add.accumulate(terms, axis=2)[:, :, at]
    width = near.shape[2]
    stats = np.empty((n, len(ks), width, len(VALUE_STATISTICS)))
    mean = stats[..., 0] = sums[0] / counts
    stats[..., 1] = sums[1] / sums[2]
    stats[..., 2] = np.sqrt(np.maximum(sums[3] / counts - mean**2, 0.0))
    out = np.empty((n, len(ks), width * len(VALUE_STATISTICS) + 1))
    out[:, :, :-1] = stats.reshape(n, len(ks), -1)
    out[:, :, -1] = np.log1p(km[:, at])
    return out.reshape(n, -1)
