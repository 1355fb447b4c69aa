"""POST /v1/{dataset}/predict, /explain and /feedback."""

import logging
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
from homeprice.predictionlog.store import DuplicateFeedback, PredictionRecord, UnknownPrediction
from homeprice.serving.modelstore import LoadedModel
from homeprice.serving.routing import CHALLENGER, SHADOW
from homeprice.serving.schemas import (
    Explanation,
    Feedback,
    FeedbackRecorded,
    ModelInput,
    PricePrediction,
    PricePredictions,
    request_models,
)

log = logging.getLogger(__name__)

# Batches above this size are predicted in a worker thread, so the event loop stays free.
_THREAD_THRESHOLD = 256


def _champion(ctx: ServingContext, dataset: str) -> LoadedModel:
    loaded = ctx.store.get(dataset, registry.CHAMPION)
    if loaded is None:
        raise HTTPException(503, f"no champion model of {dataset} is loaded yet")
    return loaded


def _records(loaded: LoadedModel, variant: str, served: bool, request_id: str,
             now: datetime, dataset: str, rows: list[dict[str, Any]],
             prediction: tuple[Any, Any, Any], prediction_ids: list[str],
             client_id: str | None, latency_ms: float,
             parents: list[str] | None = None) -> list[PredictionRecord]:
    """The log rows of one model's predictions for the items of one request."""
    price, lower, upper = prediction
    return [PredictionRecord(
        prediction_id=prediction_ids[i], request_id=request_id, ts=now, dataset=dataset,
        variant=variant, model_version=loaded.version, served=served,
        prediction=float(price[i]), lower=float(lower[i]), upper=float(upper[i]),
        features=features, client_id=client_id, latency_ms=latency_ms,
        parent_prediction_id=None if parents is None else parents[i])
        for i, features in enumerate(rows)]


def _shadow_job(ctx: ServingContext, challenger: LoadedModel, dataset: str, request_id: str,
                now: datetime, rows: list[dict[str, Any]], columns: dict[str, list],
                parents: list[str], client_id: str | None) -> Callable[[], None]:
    """Shadow scoring of one request by the challenger, to run off the request path."""
    def job() -> None:
        started = time.perf_counter()
        try:
            prediction = challenger.predictor.predict(columns)
            latency_ms = (time.perf_counter() - started) * 1000 / len(rows)
            records = _records(challenger, SHADOW, False, request_id, now, dataset, rows,
                               prediction, [uuid.uuid4().hex for _ in rows], client_id,
                               latency_ms, parents)
        except Exception as failure:  # noqa: BLE001 - a failing challenger is counted, no more
            ctx.metrics.challenger_failures.labels(dataset, "shadow").inc()
            log.warning("shadow scoring of %s by challenger v%s failed for request %s: %s",
                        dataset, challenger.version, request_id, failure)
            return
        ctx.log.enqueue(records)
        ctx.metrics.shadow_predictions.labels(dataset).inc(len(rows))
    return job


def _predict(ctx: ServingContext, dataset: str, items: list[ModelInput], client_id: str | None
             ) -> list[dict[str, Any]]:
    """Price every item with the routed model and queue the log rows (never written inline).

    The whole request goes to one variant, so a client sees one model; in shadow mode the
    challenger's predictions are scheduled in the background and never awaited.
    """
    started = time.perf_counter()
    prediction_ids = [uuid.uuid4().hex for _ in items]
    # Without X-Client-Id, the first prediction id is the key: a fresh draw per request.
    route = ctx.router.route(dataset, client_id or prediction_ids[0])
    champion = _champion(ctx, dataset)
    challenger = ctx.store.get(dataset, CHALLENGER)  # one reference: a reload cannot tear it
    rows = [item.features() for item in items]
    columns = to_columns(rows, get_dataset(dataset).feature_columns)
    loaded = champion
    if route.answer == CHALLENGER and challenger is not None:
        try:
            prediction = challenger.predictor.predict(columns)
            loaded = challenger
        except Exception as failure:  # noqa: BLE001 - the client still gets the champion's price
            ctx.metrics.challenger_failures.labels(dataset, "split").inc()
            log.warning("challenger v%s of %s failed; the champion answers: %s",
                        challenger.version, dataset, failure)
    if loaded is champion:
        prediction = champion.predictor.predict(columns)
    request_id = uuid.uuid4().hex
    now = datetime.now(timezone.utc)
    latency_ms = (time.perf_counter() - started) * 1000 / len(items)
    price, lower, upper = prediction
    answers = [{"price": float(price[i]), "lower": float(lower[i]), "upper": float(upper[i]),
                "model_version": loaded.version, "variant": loaded.alias,
                "prediction_id": prediction_ids[i]} for i in range(len(items))]
    ctx.log.enqueue(_records(loaded, loaded.alias, True, request_id, now, dataset, rows,
                             prediction, prediction_ids, client_id, latency_ms))
    ctx.metrics.predictions.labels(dataset, loaded.alias).inc(len(items))
    if route.shadow and challenger is not None:
        job = _shadow_job(ctx, challenger, dataset, request_id, now, rows, columns,
                          prediction_ids, client_id)
        if not ctx.shadow.submit(job):
            ctx.metrics.shadow_skipped.labels(dataset).inc(len(items))
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
        columns = to_columns([body.features()], get_dataset(dataset).feature_columns)
        try:
            # A model served through its pipeline is compiled here; one that cannot be is a
            # 501 like any other model explain does not support.
            fast = loaded.predictor if isinstance(loaded.predictor, FastPredictor) else (
                FastPredictor(loaded.model))
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
        single, body = request_models(app.state.context.settings)[dataset]
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
