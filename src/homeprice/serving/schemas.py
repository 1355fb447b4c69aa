"""Request and response models of the HTTP API.

The request models belong to the datasets (`Dataset.request_model`, bounds from the loaded
settings); `request_models` pairs each with its single-or-batch body. The response and admin
models here are the same for every dataset.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any, Literal, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    create_model,
    field_validator,
)

from homeprice.config import Settings
from homeprice.datasets import DATASETS
from homeprice.datasets.modelinput import ModelInput

__all__ = ["ModelInput", "request_models"]  # ModelInput: re-exported for the routes


def _batch_or_single(value: Any) -> str:
    return "batch" if isinstance(value, dict) and "instances" in value else "single"


def _pascal(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace("-", "_").split("_"))


# Cached: the same request model always gets the same body types (one schema per app).
@lru_cache(maxsize=64)
def request_body(dataset: str, single: type[ModelInput]) -> Any:
    """The body of /predict for `dataset`: one home, or several as {"instances": [...]}."""
    batch = create_model(f"{_pascal(dataset)}Batch",
                         __config__=ConfigDict(extra="forbid"),
                         __doc__=f"Several {dataset} homes.",
                         instances=(list[single], Field(min_length=1)))  # type: ignore[valid-type]
    return Annotated[Union[Annotated[single, Tag("single")], Annotated[batch, Tag("batch")]],
                     Discriminator(_batch_or_single)]


# ModelInput's field validator refusing JSON true/false and numeric texts for number fields.
_STRICT_NUMBERS = "_strict_numbers"


@lru_cache(maxsize=64)
def strict_model(single: type[ModelInput]) -> type[ModelInput]:
    """A strict copy of a request model, for the predict shortcut: it accepts a subset of what
    `single` accepts (pydantic's strict mode never converts where lax mode would refuse) and
    gives the same fields where it accepts, several times faster on a batch.

    Strict mode refuses booleans and texts for number fields, which is what ModelInput's
    per-field Python validator is for, so the copy takes that validator off every field (a
    Python call per field per home: 40% of a 1,000-home batch's validation). Strict mode also
    refuses what the lax model accepts (an integral float for an int field): the shortcut then
    validates with `single` itself, and anything neither accepts goes to the route, whose 422
    messages are unchanged.
    """
    namespace: dict[str, Any] = {"model_config": ConfigDict(strict=True),
                                 "__doc__": single.__doc__, "__module__": single.__module__}
    # Only when ModelInput still has that validator (strict mode does its work); under any
    # other name the validator stays, and the copy is still exact, only slower. A validator of
    # the same name replaces the inherited one, fields and all; pydantic keeps an inherited
    # validator whatever else the name is given, so it is replaced by one of no real field.
    if _STRICT_NUMBERS in ModelInput.__pydantic_decorators__.field_validators:
        namespace[_STRICT_NUMBERS] = field_validator(
            _NO_FIELD, mode="before", check_fields=False)(classmethod(_unchanged))
    return type(single.__name__, (single,), namespace)


# The one field the strict copy's replacement of _strict_numbers validates: no model has it.
_NO_FIELD = "__no_field__"


def _unchanged(cls: type, value: Any) -> Any:
    return value


def request_models(settings: Settings) -> dict[str, tuple[type[ModelInput], Any]]:
    """Dataset name -> (request model of one home, /predict body), under `settings`."""
    models = {}
    for name, dataset in DATASETS.items():
        single = dataset.request_model(settings)
        models[name] = (single, request_body(name, single))
    return models


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


class Difference(BaseModel):
    """A measure on which a comparable differs from the home (most first)."""

    measure: str
    home: float | None
    comparable: float | None


class Comparable(BaseModel):
    """One training home similar to the priced one."""

    id: str = Field(description="its place in the model's training split (part:row)")
    price: float = Field(description="its actual price, in the dataset's unit")
    distance_km: float | None = Field(description="great-circle km (datasets with coordinates)")
    where: str = Field(description='"1.2 km", "same locality" or "other locality"')
    similarity_distance: float = Field(description="combined distance, in spreads of a "
                                                   "unit-weight measure (smaller: more similar)")
    differs_most: list[Difference]
    features: dict[str, Any] = Field(description="what it is (the dataset's chosen inputs)")


class HomeComparables(BaseModel):
    """A home's comparables, their estimate, and the model's price beside it."""

    price: float = Field(description="the champion model's price")
    lower: float
    upper: float
    comps_estimate: float = Field(description="similarity-weighted median of the comps' prices")
    comps_low: float = Field(description="the lowest comp price")
    comps_high: float = Field(description="the highest comp price")
    agreement: Literal["within", "above", "below"] = Field(
        description="where the model's price lies against the comps' range")
    note: str
    model_version: str
    comparables: list[Comparable] = Field(description="most similar first")


class ComparablesBatch(BaseModel):
    """Several homes' comparables, in request order."""

    results: list[HomeComparables]


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


def _not_bool_or_text(value: Any) -> Any:
    # Strict number: JSON true/false or "123" as a price is a client bug, not a price.
    if isinstance(value, (bool, str)):
        raise ValueError("Input should be a valid number, not " + (
            "true or false" if isinstance(value, bool) else "a text"))
    return value


class Feedback(BaseModel):
    """The actual price of a home that was priced earlier (any dataset's range)."""

    model_config = ConfigDict(extra="forbid")
    prediction_id: str = Field(min_length=1, max_length=64)
    actual_price: Annotated[float, BeforeValidator(_not_bool_or_text)] = Field(
        gt=0, allow_inf_nan=False)


@lru_cache(maxsize=64)
def feedback_model(dataset: str, low: float, high: float) -> type[Feedback]:
    """The feedback body of `dataset`: its actual_price within the plausible range."""
    def in_range(value: float) -> float:
        if not low <= value <= high:
            raise ValueError(f"must be between {low:g} and {high:g}, the plausible range of "
                             f"{dataset} prices (datasets.{dataset}.actual_price_range)")
        return value

    return create_model(  # type: ignore[call-overload, no-any-return]
        f"{_pascal(dataset)}Feedback", __base__=Feedback,
        __doc__=f"The actual price of a {dataset} home priced earlier.",
        actual_price=(Annotated[float, BeforeValidator(_not_bool_or_text),
                                AfterValidator(in_range)],
                      # The bounds are published here and enforced by `in_range` (its error
                      # names the setting that sets them).
                      Field(allow_inf_nan=False, json_schema_extra={"minimum": low,
                                                                    "maximum": high},
                            description="in the dataset's price unit, within its plausible "
                                        f"range ({low:g} to {high:g})")))


class FeedbackRecorded(BaseModel):
    """Feedback was stored."""

    status: Literal["recorded"] = "recorded"
    prediction_id: str


class AdminReason(BaseModel):
    """Why an admin action is taken, and optionally the aliases the caller saw (compare-and-set:
    the move is refused with 409 when either has moved since)."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=1000)
    expected_champion: str | None = Field(default=None, pattern=r"^\d+$")
    expected_challenger: str | None = Field(default=None, pattern=r"^\d+$")


class AdminPromote(AdminReason):
    """Make a version the champion."""

    version: str = Field(pattern=r"^\d+$")


class TrafficChange(BaseModel):
    """A new traffic mode for a dataset (share: of clients answered by the challenger in split;
    omitted: keep the current share)."""

    model_config = ConfigDict(extra="forbid")
    mode: Literal["off", "split", "shadow", "auto"] = Field(
        description="auto: shadow while a challenger is loaded, off otherwise")
    share: float | None = Field(None, ge=0, le=1, allow_inf_nan=False)


class TrafficState(BaseModel):
    """A dataset's traffic mode now."""

    dataset: str
    mode: Literal["off", "split", "shadow", "auto"]
    share: float
    effective: Literal["off", "split", "shadow"] = Field(
        description="the mode requests are routed by now (auto resolved; off while no "
                    "challenger is loaded)")
    challenger_loaded: bool = Field(description="split and shadow route to the champion alone "
                                                "while no challenger is loaded")
