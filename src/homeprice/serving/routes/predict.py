"""POST /v1/{dataset}/predict, /explain and /feedback: parse, call the pricing service, render."""

# No `from __future__ import annotations`: the handlers' annotations name closure variables
# (each dataset's request model), which FastAPI could not resolve from strings.
import time
from collections.abc import Callable
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body, Header, HTTPException, Response
from fastapi.concurrency import run_in_threadpool

from homeprice.config import Settings
from homeprice.datasets import get_dataset
from homeprice.errors import NotFoundError
from homeprice.serving.dependencies import Context, FeedbackToken, ServingContext
from homeprice.serving.pricing import Priced, PricingService
from homeprice.serving.responses import error
from homeprice.serving.schemas import (
    Explanation,
    Feedback,
    FeedbackRecorded,
    ModelInput,
    PricePrediction,
    PricePredictions,
    feedback_model,
    request_models,
)

# FastAPI answers a body it cannot decode with 400 before validation runs.
_MALFORMED = error("the body cannot be read (not UTF-8 or not parseable)")
# Batches above this size are priced in a worker thread, so the event loop stays free.
_THREAD_THRESHOLD = 256


def _price(pricing: PricingService, dataset: str, items: list[ModelInput],
           client_id: str | None) -> Priced:
    # Parsing the items' features belongs with the pricing: a big batch does both off the loop.
    return pricing.price(dataset, [item.features() for item in items], client_id)


async def price_items(pricing: PricingService, dataset: str, items: list[ModelInput],
                      client_id: str | None) -> Priced:
    """Price validated items: inline, or in a worker thread for a big batch (shared with the
    shortcut in serving/shortcut.py)."""
    if len(items) > _THREAD_THRESHOLD:
        return await run_in_threadpool(_price, pricing, dataset, items, client_id)
    return _price(pricing, dataset, items, client_id)


def answered(ctx: ServingContext, dataset: str, priced: Priced, started: float, batch: bool
             ) -> bytes:
    """Count an answered predict request and render its JSON body (shared with the shortcut
    in serving/shortcut.py, so both answer and count alike)."""
    ctx.metrics.latency_of(dataset, "predict").observe(time.perf_counter() - started)
    ctx.metrics.requests_of(dataset, "predict", priced.variant, "200").inc()
    answers = priced.answers
    return orjson.dumps({"predictions": answers} if batch else answers[0])


def _make_predict(dataset: str, body_type: Any) -> Callable[..., Any]:
    async def predict(
        body: Annotated[body_type, Body()],  # type: ignore[valid-type]
        ctx: Context,
        x_client_id: Annotated[str | None, Header(max_length=200)] = None,
    ) -> Response:
        started = time.perf_counter()
        batch = hasattr(body, "instances")
        items = body.instances if batch else [body]
        limit = ctx.settings.serving.max_batch
        if len(items) > limit:
            raise HTTPException(413, f"{len(items)} instances is more than the limit of {limit} "
                                     "per request")
        priced = await price_items(ctx.pricing, dataset, items, x_client_id)
        return Response(answered(ctx, dataset, priced, started, batch),
                        media_type="application/json")

    predict.__doc__ = (f"Price one {dataset} home, or up to the configured limit as "
                       '{"instances": [...]}; each with a 90% interval and a prediction_id.')
    return predict


def _make_explain(dataset: str, single_type: type[ModelInput]) -> Callable[..., Any]:
    # Sync on purpose: explaining is CPU work, so FastAPI runs it in a worker thread.
    def explain_one(body: Annotated[single_type, Body()],  # type: ignore[valid-type]
                    ctx: Context) -> Explanation:
        loaded, result = ctx.pricing.explain(dataset, body.features())
        ctx.metrics.requests.labels(dataset, "explain", loaded.alias, "200").inc()
        return Explanation(model_version=loaded.version, **result)

    explain_one.__doc__ = (f"Per-field contributions to the champion's price of one {dataset} "
                           "home: base_value + sum(contributions) = price.")
    return explain_one


def _make_feedback(dataset: str, body_type: type[Feedback]) -> Callable[..., Any]:
    # Async: waiting for a prediction's log row sleeps on the event loop, no thread is held.
    async def feedback(body: Annotated[body_type, Body()],  # type: ignore[valid-type]
                       ctx: Context) -> FeedbackRecorded:
        await ctx.pricing.record_feedback(dataset, body.prediction_id, body.actual_price,
                                          ctx.settings.serving.feedback_wait_seconds)
        ctx.metrics.requests.labels(dataset, "feedback", "", "200").inc()
        return FeedbackRecorded(prediction_id=body.prediction_id)

    feedback.__doc__ = f"Record the actual price of a {dataset} home priced earlier."
    return feedback


def prediction_router(settings: Settings) -> APIRouter:
    """One typed route per served dataset and endpoint, then a catch-all 404 for unknown ones.

    Each dataset's request model is built from the loaded settings (its bounds follow the
    dataset's configuration).
    """
    datasets = list(settings.serving.datasets)
    models = request_models(settings)
    router = APIRouter()
    for dataset in datasets:
        single, body = models[dataset]
        prefix, tags = f"/v1/{dataset}", [dataset]
        router.add_api_route(f"{prefix}/predict", _make_predict(dataset, body), methods=["POST"],
                             response_model=PricePrediction | PricePredictions, tags=tags,
                             summary=f"Price {dataset} homes",
                             responses={400: _MALFORMED, 413: error("too many instances"),
                                        500: error("the model answered a non-finite price"),
                                        503: error("no champion loaded yet")})
        router.add_api_route(f"{prefix}/explain", _make_explain(dataset, single),
                             methods=["POST"], response_model=Explanation, tags=tags,
                             summary=f"Explain a {dataset} price",
                             responses={400: _MALFORMED,
                                        500: error("the model answered a non-finite price"),
                                        501: error("model type cannot be explained"),
                                        503: error("no champion loaded yet")})
        low, high = get_dataset(dataset).rules(settings).actual_price_range
        router.add_api_route(f"{prefix}/feedback",
                             _make_feedback(dataset, feedback_model(dataset, low, high)),
                             methods=["POST"], dependencies=[FeedbackToken],
                             response_model=FeedbackRecorded, tags=tags,
                             summary=f"Actual price of a {dataset} home",
                             responses={400: _MALFORMED,
                                        401: error("missing or wrong bearer token "
                                                   "(HOMEPRICE_FEEDBACK_TOKEN)"),
                                        403: error("feedback disabled: no "
                                                   "HOMEPRICE_FEEDBACK_TOKEN on the server"),
                                        404: error("unknown prediction_id, or one of "
                                                   "another dataset"),
                                        409: error("feedback already recorded"),
                                        429: error("too many failed attempts from this "
                                                   "address: try again later"),
                                        503: error("prediction log unreachable or behind: "
                                                   "send it again later")})

    known = ", ".join(datasets)

    # Last, so every typed route above matches first.
    @router.post("/v1/{dataset}/{action}", include_in_schema=False)
    async def unknown_dataset(dataset: str, action: str) -> None:
        raise NotFoundError(f"unknown dataset {dataset!r} or action {action!r} "
                            f"(datasets: {known}; actions: predict, explain, feedback, "
                            "comparables)")

    return router
