"""How answers are rendered: orjson responses, and the documented shape of error answers."""

from __future__ import annotations

import orjson
from fastapi import Response


def json_response(payload: object, status_code: int = 200) -> Response:
    """A JSON response serialised with orjson (the hot path skips response-model validation)."""
    return Response(orjson.dumps(payload), status_code=status_code, media_type="application/json")


def error(description: str) -> dict:
    """An OpenAPI response entry for an error answered as {"detail": "..."}."""
    return {"description": description,
            "content": {"application/json": {"schema": {
                "type": "object", "properties": {"detail": {"type": "string"}},
                "required": ["detail"]}}}}
