"""The base of every dataset's API request model: a strict pydantic model of one home that
knows its parsed model inputs."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class ModelInput(BaseModel):
    """A request that knows its model inputs."""

    # Unknown fields are refused: a misspelt optional field would otherwise be silently imputed.
    model_config = ConfigDict(extra="forbid")

    def features(self) -> dict[str, Any]:
        """The parsed model inputs (Dataset.feature_columns) of this request."""
        return self.model_dump()
