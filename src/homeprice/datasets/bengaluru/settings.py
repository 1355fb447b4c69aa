"""Bengaluru's settings (`datasets.bengaluru`): cleaning rules, log target and gate."""

from __future__ import annotations

from pydantic import Field

from homeprice.config import DatasetSettings


class BengaluruSettings(DatasetSettings):
    """Cleaning rules of the Bengaluru listings, and their training and promotion defaults."""

    # Listings with less floor area per bedroom than this are impossible and dropped.
    min_sqft_per_bedroom: float = Field(250, gt=0)
    # Listings with more bathrooms than bedrooms + this are data-entry errors and dropped.
    max_extra_baths: int = Field(2, ge=0)
    # Fit on log price: errors are multiplicative in listings.
    log_target: bool = True
    gate: dict[str, float] = {"max_mape": 0.30, "min_r2": 0.50}
