"""Scraped listings' comparables: listings of the same locality with a similar carpet area,
bedroom and bathroom count.

Areas are compared on a carpet footing (a super area is about 78% carpet, as the features
say), as a ratio; place is the locality's name, case and whitespace folded.
"""

from __future__ import annotations

import numpy as np

from homeprice.datasets.magicbricks.features import CARPET_PER_SUPER
from homeprice.features import Columns, floats, objects
from homeprice.similarity import Measure, Similarity, folded_keys


def measure_values(X: Columns) -> dict[str, np.ndarray]:
    """Raw values of the listings' measures."""
    area = floats(X, "area_sqft")
    carpet = np.where(objects(X, "area_kind") == "super", area * CARPET_PER_SUPER, area)
    return {"carpet_sqft": carpet, "bedrooms": floats(X, "bedrooms"),
            "bathrooms": floats(X, "bathrooms")}


def locality_keys(X: Columns) -> np.ndarray:
    """Localities as matching keys."""
    return folded_keys(objects(X, "locality"))


SIMILARITY = Similarity(
    measures=(Measure("carpet_sqft", weight=3.0, log=True, label="carpet area (sqft)"),
              Measure("bedrooms", weight=1.0, label="bedrooms"),
              Measure("bathrooms", weight=0.5, label="bathrooms")),
    values=measure_values,
    locality=locality_keys,
    describe=("locality", "property_type", "bedrooms", "area_sqft", "area_kind", "bathrooms"),
)
