"""California's API request: one census block group, with bounds from the loaded settings."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from homeprice.datasets.california.columns import OCEAN_PROXIMITY
from homeprice.datasets.california.settings import CaliforniaSettings
from homeprice.datasets.modelinput import ModelInput

OceanProximity = Literal["<1H OCEAN", "INLAND", "NEAR OCEAN", "NEAR BAY", "ISLAND"]
assert set(OCEAN_PROXIMITY) == set(OceanProximity.__args__)  # type: ignore[attr-defined]

EXAMPLE: dict[str, Any] = {
    "longitude": -122.23, "latitude": 37.88, "housing_median_age": 41, "total_rooms": 880,
    "total_bedrooms": 129, "population": 322, "households": 126, "median_income": 8.3252,
    "ocean_proximity": "NEAR BAY",
}


def request_model(rules: CaliforniaSettings) -> type[ModelInput]:
    """The request model under `rules`: a block group outside the configured California bounds
    is refused, exactly like cleaning drops it."""

    class CaliforniaHouse(ModelInput):
        """One census block group in California (1990 census units)."""

        longitude: float = Field(ge=rules.longitude[0], le=rules.longitude[1],
                                 examples=[EXAMPLE["longitude"]])
        latitude: float = Field(ge=rules.latitude[0], le=rules.latitude[1],
                                examples=[EXAMPLE["latitude"]])
        housing_median_age: float = Field(ge=0, le=200, examples=[41])
        total_rooms: float = Field(ge=1, le=1_000_000, examples=[880])
        total_bedrooms: float | None = Field(None, ge=0, le=1_000_000, examples=[129],
                                             description="may be omitted: imputed by the model")
        population: float = Field(ge=0, le=10_000_000, examples=[322])
        households: float = Field(ge=1, le=1_000_000, examples=[126])
        median_income: float = Field(gt=0, le=100, examples=[8.3252],
                                     description="tens of thousands of dollars")
        ocean_proximity: OceanProximity = Field(examples=["NEAR BAY"])

        @field_validator("ocean_proximity", mode="before")
        @classmethod
        def _upper(cls, value: Any) -> Any:
            return value.strip().upper() if isinstance(value, str) else value

    return CaliforniaHouse
