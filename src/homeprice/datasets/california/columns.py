"""California's source columns and categories, shared by its schema, features and request."""

from __future__ import annotations

import numpy as np

OCEAN_PROXIMITY = ("<1H OCEAN", "INLAND", "NEAR OCEAN", "NEAR BAY", "ISLAND")
# The source caps house values here; capped rows are kept (and counted) when cleaning.
TARGET_CAP = 500_001.0
NUMERIC_COLUMNS = (
    "longitude",
    "latitude",
    "housing_median_age",
    "total_rooms",
    "total_bedrooms",
    "population",
    "households",
    "median_income",
)
# Income bands of Géron's stratified split (median income is in tens of thousands of dollars).
INCOME_BANDS = (0.0, 1.5, 3.0, 4.5, 6.0, np.inf)
