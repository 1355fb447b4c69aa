"""Bengaluru's API request: one listing, in the source format ("2 BHK", "2100 - 2850",
"34.46Sq. Meter") or already parsed, read through the same parsers as training."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, WithJsonSchema, field_validator, model_validator

from homeprice.datasets.bengaluru.parsing import (
    AREA_TYPES,
    MAX_TEXT_LENGTH,
    normalise_text,
    parse_availability,
    parse_size,
    parse_sqft,
)
from homeprice.datasets.bengaluru.textformats import (
    AVAILABILITY_PATTERN,
    MAX_SQFT,
    SIZE_PATTERN,
    SQFT_PATTERN,
    is_area_text,
    is_availability_text,
    is_size_text,
)
from homeprice.datasets.modelinput import ModelInput

AreaType = Literal["Super built-up Area", "Built-up Area", "Plot Area", "Carpet Area"]
assert set(AREA_TYPES) == set(AreaType.__args__)  # type: ignore[attr-defined]
# Parsed text fields are bounded before any parser runs (pydantic checks the length first).
ParsedText = Annotated[str, StringConstraints(max_length=MAX_TEXT_LENGTH)]
# Patterns are published with json_schema_extra rather than enforced by pydantic: the field
# validators enforce the same patterns with an error that says what is expected.
# The schema states the whole rule of total_sqft (a bounded positive number, or a text of the
# published form); the validators below enforce exactly that, with errors naming the field.
_SQFT_SCHEMA = {"anyOf": [
    {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_SQFT},
    {"type": "string", "maxLength": MAX_TEXT_LENGTH, "pattern": SQFT_PATTERN}]}
# A text with something besides whitespace (blank texts are missing values). Whitespace as
# the server splits it (Python's str.split) and as JSON Schema's \s means it (ECMA): Python
# also splits on the separators U+001C-U+001F and U+0085, so a location of only "\x1f" is
# blank here and must not match the published pattern either (schemathesis found it).
_VISIBLE = r"[^\s\x1c-\x1f\x85]"

EXAMPLE: dict[str, Any] = {
    "area_type": "Super built-up Area", "location": "Whitefield", "size": "2 BHK",
    "total_sqft": "1100 - 1200", "bath": 2,
}


class BengaluruHome(ModelInput):
    """One Bengaluru listing, in the source format or already parsed. Size (or bedrooms) is
    optional: plots are listed by area only, and a listing without one is priced from its
    area and location, with an interval calibrated on such listings alone."""

    area_type: AreaType = Field(examples=["Super built-up Area"])
    availability: ParsedText = Field(
        "Ready To Move", examples=["Ready To Move", "19-Dec"],
        json_schema_extra={"pattern": AVAILABILITY_PATTERN},
        description='"Ready To Move", "Immediate Possession" or YY-Mon')
    location: str = Field(min_length=1, max_length=200, examples=["Whitefield"],
                          json_schema_extra={"pattern": _VISIBLE})
    size: ParsedText | None = Field(None, examples=["2 BHK"],
                                    json_schema_extra={"pattern": SIZE_PATTERN},
                                    description='e.g. "2 BHK", "4 Bedroom" (1 to 20 rooms)')
    bedrooms: int | None = Field(None, ge=1, le=20,
                                 description="instead of size; leave both out for a plot")
    society: str | None = Field(None, max_length=200)
    # Bounded by `_bounded` (a constraint inside the union would word its error by union
    # member: "total_sqft.constrained-str: ...").
    total_sqft: Annotated[float | str, WithJsonSchema(_SQFT_SCHEMA)] = Field(
        examples=[1200, "2100 - 2850", "34.46Sq. Meter"],
        description="square feet (above 0, at most 10,000,000), a range, or a value with a "
                    f"unit (at most {MAX_TEXT_LENGTH} characters)")
    bath: float | None = Field(None, ge=1, le=40)
    balcony: float | None = Field(None, ge=0, le=20)

    @field_validator("area_type", "location", "society", mode="before")
    @classmethod
    def _whitespace(cls, value: Any) -> Any:
        return normalise_text(value) if isinstance(value, str) else value

    @field_validator("availability")
    @classmethod
    def _availability(cls, value: str) -> str:
        if not is_availability_text(value) or parse_availability(value)[0] is None:
            raise ValueError('must be "Ready To Move", "Immediate Possession" or YY-Mon, '
                             'e.g. "19-Dec"')
        return value

    @field_validator("size")
    @classmethod
    def _size(cls, value: str | None) -> str | None:
        if value is not None and not (is_size_text(value) and 1 <= parse_size(value) <= 20):
            raise ValueError("must be like \"2 BHK\", \"4 Bedroom\" or \"1 RK\" with 1 to 20 "
                             "rooms")
        return value

    @field_validator("total_sqft", mode="before")
    @classmethod
    def _bounded(cls, value: Any) -> Any:
        if isinstance(value, bool):
            # JSON true/false is not an area (the strict number type refuses it too, but its
            # error would name a union member).
            raise ValueError("must be a number or a text, not true or false")
        if isinstance(value, str) and len(value) > MAX_TEXT_LENGTH:
            raise ValueError(f"String should have at most {MAX_TEXT_LENGTH} characters")
        return value

    @field_validator("total_sqft")
    @classmethod
    def _sqft(cls, value: float | str) -> float:
        problem = ("must be a positive area of at most 10,000,000 square feet: 1200, a range "
                   "like 2100 - 2850, or a value with a unit like 34.46Sq. Meter")
        if isinstance(value, str) and not is_area_text(value):
            raise ValueError(problem)
        area = parse_sqft(value)
        if math.isnan(area) or area > MAX_SQFT:
            raise ValueError(problem)
        return area

    @model_validator(mode="after")
    def _bedrooms(self) -> BengaluruHome:
        if self.bedrooms is None and self.size is not None:
            self.bedrooms = int(parse_size(self.size))
        return self

    def features(self) -> dict[str, Any]:
        """Parsed model inputs, through the same parsers as training."""
        ready, _ = parse_availability(self.availability)
        return {"area_type": self.area_type, "ready_to_move": float(bool(ready)),
                "location": self.location, "society": self.society,
                "bedrooms": None if self.bedrooms is None else float(self.bedrooms),
                "total_sqft": float(self.total_sqft),
                "bath": self.bath, "balcony": self.balcony}
