"""Request and response models of the HTTP API, one request model per dataset.

Bounds and choices mirror the datasets' schemas, and Bengaluru fields accept the source
formats ("2 BHK", "2100 - 2850", "34.46Sq. Meter") through the same parsers used in training.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from homeprice.config import CaliforniaSettings
from homeprice.datasets.bengaluru import (
    AREA_TYPES,
    normalise_text,
    parse_availability,
    parse_size,
    parse_sqft,
)

_CA = CaliforniaSettings()
OceanProximity = Literal["<1H OCEAN", "INLAND", "NEAR OCEAN", "NEAR BAY", "ISLAND"]
AreaType = Literal["Super built-up Area", "Built-up Area", "Plot Area", "Carpet Area"]
assert set(AREA_TYPES) == set(AreaType.__args__)  # type: ignore[attr-defined]


class ModelInput(BaseModel):
    """A request that knows its model inputs."""

    model_config = ConfigDict(extra="forbid")

    def features(self) -> dict[str, Any]:
        """The parsed model inputs (Dataset.feature_columns) of this request."""
        return self.model_dump()


class CaliforniaHouse(ModelInput):
    """One census block group in California (1990 census units)."""

    longitude: float = Field(ge=_CA.longitude[0], le=_CA.longitude[1], examples=[-122.23])
    latitude: float = Field(ge=_CA.latitude[0], le=_CA.latitude[1], examples=[37.88])
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


class BengaluruHome(ModelInput):
    """One Bengaluru listing, in the source format or already parsed."""

    area_type: AreaType = Field(examples=["Super built-up Area"])
    availability: str = Field("Ready To Move", examples=["Ready To Move", "19-Dec"],
                              description='"Ready To Move", "Immediate Possession" or YY-Mon')
    location: str = Field(min_length=1, max_length=200, examples=["Whitefield"])
    size: str | None = Field(None, examples=["2 BHK"], description='e.g. "2 BHK", "4 Bedroom"')
    bedrooms: int | None = Field(None, ge=1, le=20, description="instead of size")
    society: str | None = Field(None, max_length=200)
    total_sqft: float | str = Field(examples=[1200, "2100 - 2850", "34.46Sq. Meter"],
                                    description="square feet, a range, or a value with a unit")
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
    def _bedrooms(self) -> "BengaluruHome":
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


def _batch_or_single(value: Any) -> str:
    return "batch" if isinstance(value, dict) and "instances" in value else "single"


class CaliforniaBatch(BaseModel):
    """Several California block groups."""

    model_config = ConfigDict(extra="forbid")
    instances: list[CaliforniaHouse] = Field(min_length=1)


class BengaluruBatch(BaseModel):
    """Several Bengaluru listings."""

    model_config = ConfigDict(extra="forbid")
    instances: list[BengaluruHome] = Field(min_length=1)


CaliforniaBody = Annotated[
    Union[Annotated[CaliforniaHouse, Tag("single")], Annotated[CaliforniaBatch, Tag("batch")]],
    Discriminator(_batch_or_single)]
BengaluruBody = Annotated[
    Union[Annotated[BengaluruHome, Tag("single")], Annotated[BengaluruBatch, Tag("batch")]],
    Discriminator(_batch_or_single)]

REQUEST_MODELS: dict[str, tuple[type[ModelInput], Any]] = {
    "california": (CaliforniaHouse, CaliforniaBody),
    "bengaluru": (BengaluruHome, BengaluruBody),
}


class PricePrediction(BaseModel):
    """One priced home."""

    price: float = Field(description="point prediction in the dataset's unit")
    lower: float = Field(description="lower end of the 90% prediction interval")
    upper: float = Field(description="upper end of the 90% prediction interval")
    model_version: str
    variant: Literal["champion", "challenger"]
    prediction_id: str


class PricePredictions(BaseModel):
    """Several priced homes, in request order."""

    predictions: list[PricePrediction]


class Contribution(BaseModel):
    """How much one request field moved the price."""

    field: str
    contribution: float


class Explanation(BaseModel):
    """Per-field contributions that add up to the price: base + sum(contributions) = price."""

    price: float
    base_value: float
    contributions: list[Contribution]
    feature_contributions: dict[str, float]
    model_version: str
    method: str


class Feedback(BaseModel):
    """The actual price of a home that was priced earlier."""

    model_config = ConfigDict(extra="forbid")
    prediction_id: str = Field(min_length=1, max_length=64)
    actual_price: float = Field(gt=0, allow_inf_nan=False)


class FeedbackRecorded(BaseModel):
    """Feedback was stored."""

    status: Literal["recorded"] = "recorded"
    prediction_id: str


class AdminPromote(BaseModel):
    """Make a version the champion."""

    model_config = ConfigDict(extra="forbid")
    version: str = Field(pattern=r"^\d+$")
    reason: str = Field(min_length=1, max_length=1000)


class AdminReason(BaseModel):
    """Why an admin action is taken."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=1000)


class TrafficChange(BaseModel):
    """A new traffic mode for a dataset (share: of clients answered by the challenger in split;
    omitted: keep the current share)."""

    model_config = ConfigDict(extra="forbid")
    mode: Literal["off", "split", "shadow"]
    share: float | None = Field(None, ge=0, le=1, allow_inf_nan=False)


class TrafficState(BaseModel):
    """A dataset's traffic mode now."""

    dataset: str
    mode: Literal["off", "split", "shadow"]
    share: float
    challenger_loaded: bool = Field(description="split and shadow route to the champion alone "
                                                "while no challenger is loaded")
