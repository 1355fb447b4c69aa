"""The magicbricks API request: one listing as the model reads it (parsed numbers, the
portal's categories), with bounds; the portal's texts are parsed when the listing is scraped."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from homeprice.datasets.magicbricks.parsing import (
    FURNISHING,
    PROPERTY_TYPES,
    TRANSACTIONS,
    category,
    locality_key,
)
from homeprice.datasets.modelinput import ModelInput

Furnishing = Literal["Furnished", "Semi-Furnished", "Unfurnished"]
Transaction = Literal["New Property", "Resale"]
assert set(FURNISHING) == set(Furnishing.__args__)  # type: ignore[attr-defined]
assert set(TRANSACTIONS) == set(Transaction.__args__)  # type: ignore[attr-defined]
# The largest area accepted, in square feet.
MAX_SQFT = 1_000_000

EXAMPLE: dict[str, Any] = {
    "locality": "Whitefield",
    "property_type": "Apartment",
    "bedrooms": 2,
    "area_sqft": 1100,
    "area_kind": "super",
    "bathrooms": 2,
    "furnishing": "Semi-Furnished",
    "transaction": "Resale",
    "ready_to_move": True,
    "floor": 3,
    "total_floors": 12,
}


class MagicbricksHome(ModelInput):
    """One listing: locality, size, area (carpet or super), rooms, floor and categories."""

    locality: str = Field(
        min_length=1, max_length=200, examples=["Whitefield"], json_schema_extra={"pattern": r"\S"}
    )
    property_type: str | None = Field(None, max_length=50, examples=list(PROPERTY_TYPES))
    bedrooms: int = Field(ge=1, le=20, description="BHK")
    area_sqft: float = Field(gt=0, le=MAX_SQFT, description="square feet")
    area_kind: Literal["carpet", "super"] = Field(
        "carpet", description="carpet area, or super (built-up) area as portals also quote"
    )
    bathrooms: float | None = Field(None, ge=0, le=20)
    balconies: float | None = Field(None, ge=0, le=20)
    furnishing: Furnishing | None = None
    transaction: Transaction | None = None
    ready_to_move: bool | None = None
    floor: int | None = Field(None, ge=-3, le=200, description="0 = ground floor")
    total_floors: int | None = Field(None, ge=1, le=200)

    @field_validator("locality", mode="before")
    @classmethod
    def _whitespace(cls, value: Any) -> Any:
        return (locality_key(value) or "") if isinstance(value, str) else value

    @field_validator("property_type", mode="before")
    @classmethod
    def _known_type(cls, value: Any) -> Any:
        # Known types in their canonical spelling; others are kept (the model sees "other").
        return (
            (category(value, PROPERTY_TYPES) or " ".join(value.split()))
            if isinstance(value, str)
            else value
        )

    def features(self) -> dict[str, Any]:
        """Parsed model inputs (Dataset.feature_columns)."""
        return {
            "locality": self.locality,
            "property_type": self.property_type,
            "bedrooms": float(self.bedrooms),
            "area_sqft": float(self.area_sqft),
            "area_kind": self.area_kind,
            "bathrooms": self.bathrooms,
            "balconies": self.balconies,
            "furnishing": self.furnishing,
            "transaction": self.transaction,
            "ready_to_move": None if self.ready_to_move is None else float(self.ready_to_move),
            "floor": None if self.floor is None else float(self.floor),
            "total_floors": None if self.total_floors is None else float(self.total_floors),
        }
