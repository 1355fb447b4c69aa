"""Magic Bricks listings' settings (`datasets.magicbricks`): cleaning rules, log target, gate."""

from __future__ import annotations

from pydantic import Field

from homeprice.config import DatasetSettings


class MagicbricksSettings(DatasetSettings):
    """Cleaning rules of scraped listings, and their training and promotion defaults."""

    # Listings with less floor area per bedroom than this are impossible and dropped.
    min_sqft_per_bedroom: float = Field(150, gt=0)
    # Listings with more bathrooms than bedrooms + this are data-entry errors and dropped.
    max_extra_baths: int = Field(2, ge=0)
    # Asking prices outside this range (lakh rupees) are placeholders or unit slips: dropped.
    price_range: tuple[float, float] = (1.0, 50_000.0)
    # Fit on log price: errors are multiplicative in listings.
    log_target: bool = True
    gate: dict[str, float] = {"max_mape": 0.35, "min_r2": 0.50}
    # Feedback labels in lakh rupees, as the listings' prices.
    actual_price_range: tuple[float, float] = (1.0, 50_000.0)
