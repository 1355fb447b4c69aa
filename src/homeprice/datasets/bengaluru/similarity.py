"""Bengaluru's comparables: listings of the same location (the same society first) with a
similar area, bedroom and bathroom count.

The listings have no coordinates, so place is the location's name (matched as the model
matches it, by `level_key`); inside a location, a listing of another or unknown society costs
one spread. Area decides a flat's price most, so it weighs most, compared as a ratio.
"""

from __future__ import annotations

import numpy as np

from homeprice.datasets.bengaluru.parsing import level_key
from homeprice.features import Columns, floats, is_missing, objects
from homeprice.similarity import Measure, Similarity


def measure_values(X: Columns) -> dict[str, np.ndarray]:
    """Raw values of Bengaluru's measures."""
    return {"total_sqft": floats(X, "total_sqft"), "bedrooms": floats(X, "bedrooms"),
            "bath": floats(X, "bath")}


def _keys(X: Columns, column: str) -> np.ndarray:
    return np.asarray(["" if is_missing(v) else level_key(str(v)) for v in objects(X, column)],
                      dtype=object)


def location_keys(X: Columns) -> np.ndarray:
    """Locations as the model matches them."""
    return _keys(X, "location")


def society_keys(X: Columns) -> np.ndarray:
    """Societies as the model matches them."""
    return _keys(X, "society")


SIMILARITY = Similarity(
    measures=(Measure("total_sqft", weight=3.0, log=True, label="area (sqft)"),
              Measure("bedrooms", weight=1.0, label="bedrooms"),
              Measure("bath", weight=0.5, label="bathrooms")),
    values=measure_values,
    locality=location_keys,
    sub_locality=society_keys,
    sub_locality_penalty=1.0,
    describe=("location", "society", "area_type", "bedrooms", "total_sqft", "bath"),
)
