"""California's settings (`datasets.california`): cleaning bounds, log target and gate."""

from __future__ import annotations

from homeprice.config import DatasetSettings


class CaliforniaSettings(DatasetSettings):
    """Cleaning rules of the California census data, and its training and promotion defaults."""

    # Block groups outside these bounds are not in California: dropped when cleaning, and
    # refused by the API.
    latitude: tuple[float, float] = (32.0, 42.5)
    longitude: tuple[float, float] = (-124.8, -114.0)
    log_target: bool = False
    gate: dict[str, float] = {"max_rmse": 55_000, "min_r2": 0.75}
    # Feedback labels in dollars: the census data spans $14,999 to its $500,001 cap; a sale an
    # order of magnitude outside that is a unit slip (thousands typed as dollars) or garbage.
    actual_price_range: tuple[float, float] = (1_000.0, 5_000_000.0)
