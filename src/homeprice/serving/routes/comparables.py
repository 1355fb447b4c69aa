"""POST /v1/{dataset}/comparables: parse, call the comparables service, render."""

# No `from __future__ import annotations`: the handlers' annotations name closure variables
# (each dataset's request model), which FastAPI could not resolve from strings.
import time
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Query, Response
from fastapi.concurrency import run_in_threadpool

from homeprice.config import Settings
from homeprice.serving.dependencies import Context
from homeprice.serving.responses import error, json_response
from homeprice.serving.schemas import ComparablesBatch, HomeComparables, request_models

DEFAULT_K = 5
# Above this many homes the search runs in a worker thread, so the event loop stays free.
_THREAD_THRESHOLD = 32


def _make_comparables(dataset: str, body_type: Any, max_k: int, max_batch: int
                      ) -> Callable[..., Any]:
    async def comparables(
        body: Annotated[body_type, Body()],  # type: ignore[valid-type]
        ctx: Context,
        k: Annotated[int, Query(ge=1, le=max_k, description="comparables per home")
                     ] = DEFAULT_K,
    ) -> Response:
        started = time.perf_counter()
        batch = hasattr(body, "instances")
        items = body.instances if batch else [body]
        if len(items) > max_batch:
            raise HTTPException(413, f"{len(items)} instances is more than the limit of "
                                     f"{max_batch} per comparables request")
        rows = [item.features() for item in items]
        service = ctx.comparables
        if len(items) > _THREAD_THRESHOLD:
            loaded, answers = await run_in_threadpool(service.find, dataset, rows, k)
        else:
            loaded, answers = service.find(dataset, rows, k)
        ctx.metrics.latency.labels(dataset, "comparables").observe(time.perf_counter() - started)
        ctx.metrics.requests.labels(dataset, "comparables", loaded.alias, "200").inc()
        return json_response({"results": answers} if batch else answers[0])

    comparables.__doc__ = (f"The k most similar training homes of one {dataset} home (or of "
                           'several, as {"instances": [...]}), their actual prices, the '
                           "comps' weighted-median estimate and range beside the champion's "
                           "price, and whether the two agree.")
    return comparables


def comparables_router(settings: Settings) -> APIRouter:
    """One typed comparables route per served dataset (before the catch-all 404)."""
    models = request_models(settings)
    serving = settings.serving
    router = APIRouter()
    for dataset in serving.datasets:
        _, body = models[dataset]
        router.add_api_route(
            f"/v1/{dataset}/comparables",
            _make_comparables(dataset, body, serving.comparables_max_k,
                              serving.comparables_max_batch),
            methods=["POST"], response_model=HomeComparables | ComparablesBatch,
            tags=[dataset], summary=f"Comparable {dataset} homes",
            # 422 (a bad field, or k out of bounds) is FastAPI's own validation-error answer,
            # documented by FastAPI as for predict: its detail is a list, not a string.
            responses={400: error("the body cannot be read (not UTF-8 or not parseable)"),
                       413: error("too many instances"),
                       500: error("the model answered a non-finite price"),
                       501: error("the champion was registered before comparables existed"),
                       503: error("no champion loaded yet")})
    return router
