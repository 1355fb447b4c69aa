"""Comparable homes: the k most similar training homes of any home, and the estimate they make.

`ComparablesIndex` is fitted at training time on the rows the served model was fitted on
(never the test split) and travels inside the logged model (`COMPARABLES_ATTRIBUTE` of the
pipeline), so a registered version's comparables never change. Similarity follows the
dataset's declaration (homeprice.similarity):

- with coordinates, one Euclidean space holds both where a home is and what it is like: its
  point on a sphere of radius EARTH_RADIUS_KM / km_per_unit (so chord length is great-circle
  km in units of `km_per_unit`, exactly ordered as haversine distance, see
  homeprice.neighbours) beside its measures, each centred and divided by its robust spread
  on the training rows (so no measure dominates by its unit) and scaled by the square root of
  its weight. One scipy cKDTree then finds the exact k nearest.
- with a locality, homes of the same locality come first, ranked by their measures (and a
  penalty for a different society inside it); when the locality has fewer than k, the rest
  are the most similar homes of other localities (with a penalty of their own).

The query home itself is never its own comparable: an indexed row whose model inputs are
exactly the query's (the same home, e.g. a training listing sent back to the API) is skipped.
The comps' estimate is the similarity-weighted median of their prices, and their range is
the lowest to the highest of their prices.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from homeprice.features import Columns, floats, is_missing, objects
from homeprice.neighbours import EARTH_RADIUS_KM, chord_to_km, unit_sphere
from homeprice.similarity import Similarity

# Where the fitted index lives inside a logged model pipeline; a model registered before
# comparables existed has no such attribute (the API answers it 501).
COMPARABLES_ATTRIBUTE = "comparables_"
# Weights of the comps' median are 1 / (distance + this): a comp at distance zero (identical
# measures, same place) must not take all the weight when a few are that close.
_WEIGHT_FLOOR = 0.25
# How many measures are named per comparable as "differs most".
DIFFERS_SHOWN = 2
# Differences below this many spreads are not worth naming.
_DIFFERENCE_SHOWN_FROM = 0.05


@dataclass(frozen=True)
class Found:
    """The comparables of a batch of homes: row positions in the index, nearest first."""

    rows: np.ndarray
    """(homes, k) positions of the comparables in the index."""
    distance: np.ndarray
    """(homes, k) combined distance, in spreads of a unit-weight measure."""
    km: np.ndarray
    """(homes, k) great-circle km (NaN for datasets without coordinates)."""
    same_locality: np.ndarray
    """(homes, k) whether each comparable shares the home's locality (coordinates: False)."""
    differences: np.ndarray
    """(homes, k, measures) weighted differences of each measure, in spreads."""
    home_values: np.ndarray
    """(homes, measures) the homes' own measures."""


@dataclass(frozen=True)
class Estimate:
    """What the comparables say of each home's price."""

    price: np.ndarray
    """Similarity-weighted median of the comps' prices."""
    low: np.ndarray
    """Lowest comp price."""
    high: np.ndarray
    """Highest comp price."""


def comparables_of(model: Any) -> ComparablesIndex | None:
    """The comparables index stored in a model pipeline (None: registered before comparables
    existed, or its dataset declares no similarity)."""
    return getattr(model, COMPARABLES_ATTRIBUTE, None)


def fingerprints(X: Columns, columns: Sequence[str]) -> np.ndarray:
    """A stable 64-bit key per row of its model inputs (a home is its inputs)."""
    parts = []
    for column in columns:
        values = objects(X, column)
        parts.append([_normal(v) for v in values])
    keys = []
    for row in zip(*parts, strict=True):
        digest = hashlib.blake2b("\x1f".join(row).encode(), digest_size=8).digest()
        keys.append(int.from_bytes(digest, "little", signed=True))
    return np.asarray(keys, dtype=np.int64)


def _normal(value: Any) -> str:
    # Numbers by value (41 and 41.0 are one age), texts folded (spelling variants, one home).
    if is_missing(value):
        return ""
    if isinstance(value, (bool, np.bool_)):
        return str(int(value))
    if isinstance(value, (int, float, np.integer, np.floating)):
        return format(float(value), ".9g")
    return " ".join(str(value).split()).casefold()


def weighted_median(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Row-wise weighted median (the smallest value holding half the weight)."""
    return np.quantile(values, 0.5, axis=1, weights=weights, method="inverted_cdf")


class ComparablesIndex:
    """The training homes of one model, searchable by similarity."""

    def __init__(self, similarity: Similarity, feature_columns: Sequence[str]) -> None:
        self.similarity = similarity
        self.feature_columns = tuple(feature_columns)

    # -- fitting ----------------------------------------------------------------------------
    def fit(self, X: pd.DataFrame, price: np.ndarray, ids: Sequence[str]) -> ComparablesIndex:
        """Index these homes (the served model's fitting rows), their prices and ids."""
        price = np.asarray(price, dtype=float)
        if not (len(X) == len(price) == len(ids)):
            raise ValueError(f"{len(X)} homes, {len(price)} prices and {len(ids)} ids")
        if not np.isfinite(price).all():
            raise ValueError("every indexed home needs a finite price")
        transformed = self._transformed(X)
        self.center_ = np.nanmedian(transformed, axis=0)
        self.spread_ = np.array([_spread(column) for column in transformed.T])
        self.raw_ = self._raw(X)
        self.scaled_ = self._scaled(transformed)
        self.price_ = price
        self.ids_ = np.asarray([str(i) for i in ids], dtype=object)
        self.fingerprints_ = fingerprints(X, self.feature_columns)
        # A query may match this many indexed rows (duplicates of one home), which are skipped.
        self.duplicates_ = int(pd.Series(self.fingerprints_).value_counts().max()) if len(
            X) else 0
        self.described_ = {c: objects(X, c) for c in self._described()}
        self.size_ = len(X)
        similarity = self.similarity
        if similarity.coordinates is not None:
            self.points_ = self._points(X)
            radius = EARTH_RADIUS_KM / similarity.km_per_unit
            self.tree_ = cKDTree(np.hstack([self.points_ * radius, self.scaled_]))
        else:
            assert similarity.locality is not None  # one of the two, checked by Similarity
            self.localities_ = np.asarray(similarity.locality(X), dtype=object)
            self.sub_localities_ = (np.asarray(similarity.sub_locality(X), dtype=object)
                                    if similarity.sub_locality is not None else None)
            groups = pd.Series(np.arange(len(X))).groupby(self.localities_).indices
            self.groups_ = {key: np.asarray(rows) for key, rows in groups.items() if key != ""}
            self.tree_ = cKDTree(self.scaled_)
        return self

    @property
    def max_k(self) -> int:
        """The most comparables any query can get (indexed homes, less a query's duplicates)."""
        return max(0, self.size_ - self.duplicates_)

    def _described(self) -> list[str]:
        columns = list(self.similarity.describe)
        if self.similarity.coordinates is not None:
            columns += [c for c in self.similarity.coordinates if c not in columns]
        return columns

    def _points(self, X: Columns) -> np.ndarray:
        latitude, longitude = self.similarity.coordinates or ("", "")
        lat, lon = floats(X, latitude), floats(X, longitude)
        if not (np.isfinite(lat).all() and np.isfinite(lon).all()):
            raise ValueError(f"every home needs its {latitude} and {longitude}")
        return unit_sphere(lat, lon)

    def _raw(self, X: Columns) -> np.ndarray:
        values = self.similarity.values(X)
        return np.column_stack([np.asarray(values[name], dtype=float)
                                for name in self.similarity.names])

    def _transformed(self, X: Columns) -> np.ndarray:
        raw = self._raw(X)
        for j, measure in enumerate(self.similarity.measures):
            if measure.log:
                with np.errstate(divide="ignore", invalid="ignore"):
                    raw[:, j] = np.where(raw[:, j] > 0, np.log(raw[:, j]), np.nan)
        return raw

    def _scaled(self, transformed: np.ndarray) -> np.ndarray:
        # A missing measure counts as the training median: it neither attracts nor repels.
        filled = np.where(np.isnan(transformed), self.center_, transformed)
        weights = np.sqrt([m.weight for m in self.similarity.measures])
        return (filled - self.center_) / self.spread_ * weights

    # -- querying ---------------------------------------------------------------------------
    def query(self, X: Columns, k: int) -> Found:
        """The k most similar indexed homes of each row of X, nearest first."""
        if not 1 <= k <= self.max_k:
            raise ValueError(f"k must be between 1 and {self.max_k} (the homes indexed, less "
                             f"the home itself), got {k}")
        scaled = self._scaled(self._transformed(X))
        keys = fingerprints(X, self.feature_columns)
        if self.similarity.coordinates is not None:
            rows, distance, km = self._nearest_by_place(X, scaled, keys, k)
            same = np.zeros(rows.shape, dtype=bool)
        else:
            rows, distance, same = self._nearest_by_locality(X, scaled, keys, k)
            km = np.full(rows.shape, np.nan)
        differences = np.abs(scaled[:, None, :] - self.scaled_[rows])
        return Found(rows=rows, distance=distance, km=km, same_locality=same,
                     differences=differences, home_values=self._raw(X))

    def _nearest_by_place(self, X: Columns, scaled: np.ndarray, keys: np.ndarray, k: int
                          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        points = self._points(X)
        radius = EARTH_RADIUS_KM / self.similarity.km_per_unit
        wanted = min(self.size_, k + self.duplicates_)
        distance, rows = self.tree_.query(np.hstack([points * radius, scaled]), k=wanted)
        distance = np.asarray(distance).reshape(len(points), wanted)
        rows = np.asarray(rows).reshape(len(points), wanted)
        keep = _first_k_not_self(rows, self.fingerprints_, keys, k)
        rows = np.take_along_axis(rows, keep, axis=1)
        distance = np.take_along_axis(distance, keep, axis=1)
        chord = np.linalg.norm(points[:, None, :] - self.points_[rows], axis=2)
        return rows, distance, chord_to_km(chord)

    def _nearest_by_locality(self, X: Columns, scaled: np.ndarray, keys: np.ndarray, k: int
                             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        similarity = self.similarity
        assert similarity.locality is not None
        localities = np.asarray(similarity.locality(X), dtype=object)
        subs = (np.asarray(similarity.sub_locality(X), dtype=object)
                if similarity.sub_locality is not None else None)
        rows = np.empty((len(scaled), k), dtype=np.intp)
        distance = np.empty((len(scaled), k))
        same = np.zeros((len(scaled), k), dtype=bool)
        for i, point in enumerate(scaled):
            group = self.groups_.get(localities[i], np.empty(0, dtype=np.intp))
            group = group[self.fingerprints_[group] != keys[i]]
            squared = ((self.scaled_[group] - point) ** 2).sum(axis=1)
            if subs is not None and self.sub_localities_ is not None:
                # An unknown society is not the same society (nothing says it is).
                other = (self.sub_localities_[group] != subs[i]) | (subs[i] == "")
                squared = squared + other * similarity.sub_locality_penalty ** 2
            order = np.argsort(squared, kind="stable")[:k]
            chosen, chosen_sq = list(group[order]), list(squared[order])
            if len(chosen) < k:  # too few in the locality: the most similar elsewhere
                wanted = min(self.size_, k + self.duplicates_ + len(group))
                _, found = self.tree_.query(point, k=wanted)
                taken = set(chosen)
                for row in np.atleast_1d(found):
                    if len(chosen) == k:
                        break
                    if (row in taken or self.fingerprints_[row] == keys[i]
                            or (localities[i] != "" and self.localities_[row] == localities[i])):
                        continue
                    chosen.append(row)
                    chosen_sq.append(float(((self.scaled_[row] - point) ** 2).sum())
                                     + similarity.other_locality_penalty ** 2)
            n_same = len(order)
            rows[i] = chosen
            distance[i] = np.sqrt(chosen_sq)
            same[i, :n_same] = True
        return rows, distance, same

    # -- what they say ----------------------------------------------------------------------
    def estimate(self, found: Found) -> Estimate:
        """The comps' weighted median price and their price range, per home."""
        prices = self.price_[found.rows]
        weights = 1.0 / (found.distance + _WEIGHT_FLOOR)
        return Estimate(price=weighted_median(prices, weights), low=prices.min(axis=1),
                        high=prices.max(axis=1))

    def records(self, found: Found, home: int) -> list[dict[str, Any]]:
        """The comparables of one home as plain records, nearest first."""
        labels = [m.label or m.name for m in self.similarity.measures]
        out = []
        for j, row in enumerate(found.rows[home]):
            differences = found.differences[home, j]
            order = np.argsort(-differences, kind="stable")[:DIFFERS_SHOWN]
            differs = [{"measure": labels[m], "home": _value(found.home_values[home, m]),
                        "comparable": _value(self.raw_[row, m])}
                       for m in order if differences[m] >= _DIFFERENCE_SHOWN_FROM]
            km = found.km[home, j]
            out.append({
                "id": self.ids_[row],
                "price": float(self.price_[row]),
                "similarity_distance": float(found.distance[home, j]),
                "distance_km": None if np.isnan(km) else float(km),
                "where": (f"{km:.1f} km" if not np.isnan(km) else
                          "same locality" if found.same_locality[home, j] else "other locality"),
                "differs_most": differs,
                "features": {column: _value(values[row])
                             for column, values in self.described_.items()},
            })
        return out


def _first_k_not_self(rows: np.ndarray, indexed: np.ndarray, keys: np.ndarray, k: int
                      ) -> np.ndarray:
    """Per query, the positions (in its neighbour list) of its first k neighbours that are
    not the query home itself."""
    is_self = indexed[rows] == keys[:, None]
    # Stable order of (is_self, position): every other neighbour first, in distance order.
    return np.argsort(is_self, axis=1, kind="stable")[:, :k]


def _spread(column: np.ndarray) -> float:
    """A robust spread (IQR / 1.349, the standard deviation of a normal), never zero."""
    finite = column[np.isfinite(column)]
    if len(finite) == 0:
        return 1.0
    q1, q3 = np.percentile(finite, [25, 75])
    spread = (q3 - q1) / 1.349
    if spread > 0:
        return float(spread)
    std = float(np.std(finite))
    return std if std > 0 else 1.0


def _value(value: Any) -> Any:
    if is_missing(value):
        return None
    if isinstance(value, (np.integer, np.floating)):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def comparables_metrics(actual: np.ndarray, estimate: Estimate,
                        model_price: np.ndarray | None = None) -> dict[str, float]:
    """How well the comps price homes whose true price is known: their estimate's errors and
    how often the true price (and the model's) falls inside the comps' range."""
    actual = np.asarray(actual, dtype=float)
    error = estimate.price - actual
    inside = (estimate.low <= actual) & (actual <= estimate.high)
    metrics = {"rmse": float(np.sqrt(np.mean(error ** 2))), "mae": float(np.mean(np.abs(error))),
               "mape": float(np.mean(np.abs(error) / np.maximum(np.abs(actual), 1e-12))),
               "range_coverage": float(np.mean(inside)),
               "range_width_ratio": float(np.median((estimate.high - estimate.low)
                                                    / np.maximum(estimate.price, 1e-12)))}
    if model_price is not None:
        model_price = np.asarray(model_price, dtype=float)
        metrics["model_in_range"] = float(np.mean((estimate.low <= model_price)
                                                  & (model_price <= estimate.high)))
    return metrics
