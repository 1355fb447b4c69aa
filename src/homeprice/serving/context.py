"""What every request handler needs: settings, loaded models, traffic router, prediction log,
metrics."""

from __future__ import annotations

from dataclasses import dataclass

import orjson
from fastapi import HTTPException, Request, Response

from homeprice.config import Settings
from homeprice.predictionlog.store import PredictionLog
from homeprice.serving.metrics import ServingMetrics
from homeprice.serving.modelstore import ModelStore
from homeprice.serving.routing import ShadowPool, TrafficRouter


@dataclass
class ServingContext:
    """Shared state of one app, built by the app factory."""

    settings: Settings
    store: ModelStore
    log: PredictionLog
    metrics: ServingMetrics
    router: TrafficRouter
    # Shadow scoring runs here, never on the request path; drained before the log at shutdown.
    shadow: ShadowPool


async def get_context(request: Request) -> ServingContext:
    """FastAPI dependency: the app's serving context (async: no thread hop per request)."""
    return request.app.state.context


def json_response(payload: object, status_code: int = 200) -> Response:
    """A JSON response serialised with orjson (the hot path skips response-model validation)."""
    return Response(orjson.dumps(payload), status_code=status_code, media_type="application/json")


def error(description: str) -> dict:
    """An OpenAPI response entry for an error answered as {"detail": "..."}."""
    return {"description": description,
            "content": {"application/json": {"schema": {
                "type": "object", "properties": {"detail": {"type": "string"}},
                "required": ["detail"]}}}}


def require_dataset(ctx: ServingContext, dataset: str) -> None:
    """404 naming the served datasets when `dataset` is not one of them."""
    if dataset not in ctx.store.datasets:
        raise HTTPException(404, f"unknown dataset {dataset!r} "
                                 f"(served: {', '.join(ctx.store.datasets)})")
