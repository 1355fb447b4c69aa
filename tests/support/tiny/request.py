"""The tiny dataset's API request: one home, area bounded by the loaded settings."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from homeprice.datasets.modelinput import ModelInput
from tests.support.tiny.settings import TinySettings

EXAMPLE: dict[str, Any] = {"area": 85.0, "rooms": 3, "age": 20}


def request_model(rules: TinySettings) -> type[ModelInput]:
    """The request model under `rules` (area up to the configured maximum)."""

    class TinyHome(ModelInput):
        """One tiny home."""

        area: float = Field(gt=0, le=rules.max_area, description="square metres")
        rooms: int = Field(ge=1, le=20)
        age: float | None = Field(None, ge=0, le=300, description="may be omitted")

    return TinyHome
