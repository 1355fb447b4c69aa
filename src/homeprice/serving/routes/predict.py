"""POST /v1/{dataset}/predict, /explain and /feedback."""

import time
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, FastAPI, Header, HTTPException, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.exc import SQLAlchemyError

from homeprice import registry
from homeprice.datasets import get_dataset
from homeprice.serving.context import ServingContext, error, get_context, json_response
from homeprice.serving.explain import explain
from homeprice.serving.fastpath import FastPredictor, to_columns
from homeprice.serving.logstore import DuplicateFeedback, PredictionRecord, UnknownPrediction
from homeprice.serving.modelstore import LoadedModel
from homeprice.serving.schemas import (
    REQUEST_MODELS,
    Explanation,
    Feedback,
    FeedbackRecorded,
    ModelInput,
    PricePrediction,
    PricePredictions,
)

# Batches above this size are predicted in a worker thread, so the event loop stays free.
_THREAD_THRESHOLD = 256


def _champion(ctx: ServingContext, dataset: str) -> LoadedModel:
    loaded = ctx.store.get(dataset, registry.CHAMPION)
    if loaded is None:
        raise HTTPException(503, f"no champion model of {dataset} is loaded yet")
    return loaded


def _predict(ctx: ServingContext, dataset: str, items: list[ModelInput], client_id: str | None
             ) -> list[dict[str, Any]]:
    """Price every item with the champion and queue the log rows (never written inline)."""
    started = time.perf_counter()
    loaded = _champion(ctx, dataset)
    rows = [item.features() for item in items]
    columns = to_columns(rows, get_dataset(dataset).feature_columns)
    price, lower, upper = loaded.predictor.predict(columns)
    request_id = uuid.uuid4().hex
    now = datetime.now(timezone.utc)
    latency_ms = (time.perf_counter() - started) * 1000 / len(items)
    answers, records = [], []
    for i, features in enumerate(rows):
        prediction_id = uuid.uuid4().hex
        answers.append({"price": float(price[i]), "lower": float(lower[i]),
                        "upper": float(upper[i]), "model_version": loaded.version,
                        "variant": loaded.alias, "prediction_id": prediction_id})
        records.append(PredictionRecord(
            prediction_id=prediction_id, request_id=request_id, ts=now, dataset=dataset,
            variant=loaded.alias, model_version=loaded.version, served=True,
            prediction=float(price[i]), lower=float(lower[i]), upper=float(upper[i]),
            features=features, client_id=client_id, latency_ms=latency_ms))
    ctx.log.enqueue(records)
    ctx.metrics.predictions.labels(dataset, loaded.alias).inc(len(items))
    return answers


def _make_predict(dataset: str, body_type: Any) -> Callable[..., Any]:
    async def predict(
        body: Annotated[body_type, Body()],  # type: ignore[valid-type]
        ctx: ServingContext = Depends(get_context),
        x_client_id: str | None = Header(None, max_length=200),
    ) -> Response:
        started = time.perf_counter()
        batch = hasattr(body, "instances")
        items = body.instances if batch else [body]
        limit = ctx.settings.serving.max_batch
        if len(items) > limit:
            raise HTTPException(413, f"{len(items)} instances is more than the limit of {limit} "
                                     "per request")
        if len(items) > _THREAD_THRESHOLD:
            answers = await run_in_threadpool(_predict, ctx, dataset, items, x_client_id)
        else:
            answers = _predict(ctx, dataset, items, x_client_id)
        ctx.metrics.latency.labels(dataset, "predict").observe(time.perf_counter() - started)
        ctx.metrics.requests.labels(dataset, "predict", answers[0]["variant"], "200").inc()
        return json_response({"predictions": answers} if batch else answers[0])

    predict.__doc__ = (f"Price one {dataset} home, or up to the configured limit as "
                       '{"instances": [...]}; each with a 90% interval and a prediction_id.')
    return predict


def _make_explain(dataset: str, single_type: type[ModelInput]) -> Callable[..., Any]:
    def explain_one(body: single_type = Body(...),  # type: ignore[valid-type]
                    ctx: ServingContext = Depends(get_context)) -> Explanation:
        loaded = _champion(ctx, dataset)
        fast = loaded.predictor if isinstance(loaded.predictor, FastPredictor) else FastPredictor(
            loaded.model)
        columns = to_columns([body.features()], get_dataset(dataset).feature_columns)
        try:
            result = explain(fast, columns)
        except Exception as error:  # noqa: BLE001 - unsupported model types answer clearly
            raise HTTPException(501, f"cannot explain this model: {error}") from None
        ctx.metrics.requests.labels(dataset, "explain", loaded.alias, "200").inc()
        return Explanation(model_version=loaded.version, **result)

    explain_one.__doc__ = (f"Per-field contributions to the champion's price of one {dataset} "
                           "home: base_value + sum(contributions) = price.")
    return explain_one


def _make_feedback(dataset: str) -> Callable[..., Any]:
    def feedback(body: Feedback, ctx: ServingContext = Depends(get_context)
                 ) -> FeedbackRecorded:
        try:
            ctx.log.add_feedback(body.prediction_id, body.actual_price)
        except UnknownPrediction:
            raise HTTPException(404, f"unknown prediction_id {body.prediction_id!r}") from None
        except DuplicateFeedback:
            raise HTTPException(409, f"prediction {body.prediction_id!r} already has "
                                     "feedback") from None
        except SQLAlchemyError:
            raise HTTPException(503, "the prediction log database is unreachable; "
                                     "send the feedback again later") from None
        ctx.metrics.requests.labels(dataset, "feedback", "", "200").inc()
        return FeedbackRecorded(prediction_id=body.prediction_id)

    feedback.__doc__ = f"Record the actual price of a {dataset} home priced earlier."
    return feedback


def add_prediction_routes(app: FastAPI, datasets: list[str]) -> None:
    """One typed route per dataset and endpoint, then a catch-all 404 for unknown datasets."""
    for dataset in datasets:
        single, body = REQUEST_MODELS[dataset]
        router = APIRouter(prefix=f"/v1/{dataset}", tags=[dataset])
        router.add_api_route("/predict", _make_predict(dataset, body), methods=["POST"],
                             response_model=PricePrediction | PricePredictions,
                             summary=f"Price {dataset} homes",
                             responses={413: error("too many instances"),
                                        503: error("no champion loaded yet")})
        router.add_api_route("/explain", _make_explain(dataset, single), methods=["POST"],
                             response_model=Explanation, summary=f"Explain a {dataset} price",
                             responses={501: error("model type cannot be explained"),
                                        503: error("no champion loaded yet")})
        router.add_api_route("/feedback", _make_feedback(dataset), methods=["POST"],
                             response_model=FeedbackRecorded,
                             summary=f"Actual price of a {dataset} home",
                             responses={404: error("unknown prediction_id"),
                                        409: error("feedback already recorded"),
                                        503: error("prediction log unreachable")})
        app.include_router(router)

    known = ", ".join(datasets)

    @app.post("/v1/{dataset}/{action}", include_in_schema=False)
    def unknown_dataset(dataset: str, action: str) -> None:
        raise HTTPException(404, f"unknown dataset {dataset!r} or action {action!r} "
                                 f"(datasets: {known}; actions: predict, explain, feedback)")
