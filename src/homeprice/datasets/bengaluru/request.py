"""Bengaluru's API request: one listing, in the source format ("2 BHK", "2100 - 2850",
"34.46Sq. Meter") or already parsed, read through the same parsers as training."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, field_validator, model_validator

from homeprice.datasets.bengaluru.parsing import (
    AREA_TYPES,
    MAX_TEXT_LENGTH,
    normalise_text,
    parse_availability,
    parse_size,
    parse_sqft,
)
from homeprice.datasets.modelinput import ModelInput

AreaType = Literal["Super built-up Area", "Built-up Area", "Plot Area", "Carpet Area"]
assert set(AREA_TYPES) == set(AreaType.__args__)  # type: ignore[attr-defined]
# Parsed text fields are bounded before any parser runs (pydantic checks the length first).
ParsedText = Annotated[str, StringConstraints(max_length=MAX_TEXT_LENGTH)]

EXAMPLE: dict[str, Any] = {
    "area_type": "Super built-up Area", "location": "Whitefield", "size": "2 BHK",
    "total_sqft": "1100 - 1200", "bath": 2,
}


class BengaluruHome(ModelInput):
    """One Bengaluru listing, in the source format or already parsed."""

    area_type: AreaType = Field(examples=["Super built-up Area"])
    availability: ParsedText = Field(
        "Ready To Move", examples=["Ready To Move", "19-Dec"],
        description='"Ready To Move", "Immediate Possession" or YY-Mon')
    location: str = Field(min_length=1, max_length=200, examples=["Whitefield"])
    size: ParsedText | None = Field(None, examples=["2 BHK"],
                                    description='e.g. "2 BHK", "4 Bedroom"')
    bedrooms: int | None = Field(None, ge=1, le=20, description="instead of size")
    society: str | None = Field(None, max_length=200)
    # Bounded by `_bounded` (a constraint inside the union would word its error by union
    # member: "total_sqft.constrained-str: ...").
    total_sqft: float | str = Field(examples=[1200, "2100 - 2850", "34.46Sq. Meter"],
                                    description="square feet, a range, or a value with a unit "
                                                f"(at most {MAX_TEXT_LENGTH} characters)")
    bath: float | None = Field(None, ge=1, le=40)
    balcony: float | None = Field(None, ge=0, le=20)

    @field_validator("area_type", "location", "society", mode="before")
    @classmethod
    def _whitespace(cls, value: Any) -> Any:
        return normalise_text(value) if isinstance(value, str) else value

    @field_validator("availability")
    @classmethod
    def _availability(cls, value: str) -> str:
        if parse_availability(value)[0] is None:
            raise ValueError('must be "Ready To Move", "Immediate Possession" or YY-Mon, '
                             'e.g. "19-Dec"')
        return value

    @field_validator("total_sqft", mode="before")
    @classmethod
    def _bounded(cls, value: Any) -> Any:
        if isinstance(value, str) and len(value) > MAX_TEXT_LENGTH:
            raise ValueError(f"String should have at most {MAX_TEXT_LENGTH} characters")
        return value

    @field_validator("total_sqft")
    @classmethod
    def _sqft(cls, value: float | str) -> float:
        area = parse_sqft(value)
        if math.isnan(area):
            raise ValueError("must be a positive area: 1200, a range like 2100 - 2850, or a "
                             "value with a unit like 34.46Sq. Meter")
        if area > 10_000_000:
            raise ValueError("must be at most 10,000,000 square feet")
        return area

    @model_validator(mode="after")
    def _bedrooms(self) -> BengaluruHome:
        if self.bedrooms is None:
            if self.size is None:
                raise ValueError("give either size (e.g. \"2 BHK\") or bedrooms")
            rooms = parse_size(self.size)
            if math.isnan(rooms) or not 1 <= rooms <= 20:
                raise ValueError("size must be like \"2 BHK\", \"4 Bedroom\" or \"1 RK\" "
                                 "with 1 to 20 rooms")
            self.bedrooms = int(rooms)
        return self

    def features(self) -> dict[str, Any]:
        """Parsed model inputs, through the same parsers as training."""
        ready, _ = parse_availability(self.availability)
        return {"area_type": self.area_type, "ready_to_move": float(bool(ready)),
                "location": self.location, "society": self.society,
                "bedrooms": float(self.bedrooms or 0), "total_sqft": float(self.total_sqft),
                "bath": self.bath, "balcony": self.balcony}
