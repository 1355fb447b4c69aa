"""The tiny dataset's settings (`datasets.tiny`): one cleaning rule and a lenient gate."""

from __future__ import annotations

from pydantic import Field

from homeprice.config import DatasetSettings


class TinySettings(DatasetSettings):
    """Cleaning rule and defaults of the tiny dataset."""

    # Homes larger than this (square metres) are dropped when cleaning and refused by the API.
    max_area: float = Field(400.0, gt=0)
    gate: dict[str, float] = {"min_r2": 0.5}
