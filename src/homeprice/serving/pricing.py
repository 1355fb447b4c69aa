"""The pricing service: route a validated batch to a model, price it, queue its log rows and
shadow-score it; explain a price; record an actual price. Free of the web framework.

Like the core `invocations()` of MLflow's scoring server: the routes parse a request, call one
method here and render its result; failures are typed errors (homeprice.errors) that carry
their HTTP status, so this module never names a status code or imports FastAPI.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy.exc import SQLAlchemyError

from homeprice import registry
from homeprice.datasets import get_dataset
from homeprice.errors import (
    ConflictError,
    HomepriceError,
    NotFoundError,
    UnavailableError,
    UnsupportedError,
)
from homeprice.predictionlog import (
    DuplicateFeedback,
    PredictionLog,
    RequestRecords,
    UnknownPrediction,
)
from homeprice.serving.explain import explain
from homeprice.serving.fastpath import FastPredictor, Prediction, to_columns
from homeprice.serving.metrics import ServingMetrics
from homeprice.serving.modelstore import LoadedModel, ModelStore
from homeprice.serving.routing import CHALLENGER, SHADOW, ShadowPool, TrafficRouter

log = logging.getLogger(__name__)


# Not frozen: a frozen dataclass is built through object.__setattr__, several times slower,
# and two of these are made per request. Neither is changed after it is built.
@dataclass(slots=True)
class RequestInfo:
    """What every log row of one request shares, served or shadow."""

    request_id: str
    at: datetime
    dataset: str
    client_id: str | None
    # The items' parsed features, in request order (logged with each row).
    rows: list[dict[str, Any]]
    # The effective traffic mode it was routed under (Route.mode), logged with each row:
    # split-mode A/B statistics count rows of the split period only.
    mode: str | None = None


@dataclass(slots=True)
class Priced:
    """The answers to one request (in item order) and the served log rows queued for them
    (None with serving.log_predictions off)."""

    answers: list[dict[str, Any]]
    records: RequestRecords | None
    # The alias that answered the whole request (one request, one model).
    variant: str


def log_records(request: RequestInfo, loaded: LoadedModel, prediction: Prediction,
                prediction_ids: Sequence[str], latency_ms: float, *,
                shadow_of: Sequence[str] | None = None) -> RequestRecords:
    """The log rows of one model's predictions for the items of one request, by column; with
    `shadow_of` (the served prediction ids, item by item) they are shadow rows, never returned."""
    # tolist(): Python floats for the whole column at once, not a float() per element.
    price, lower, upper = (part.tolist() for part in prediction)
    served = shadow_of is None
    return RequestRecords(
        request_id=request.request_id, ts=request.at, dataset=request.dataset,
        variant=loaded.alias if served else SHADOW, model_version=loaded.version,
        served=served, client_id=request.client_id, latency_ms=latency_ms, mode=request.mode,
        prediction_ids=list(prediction_ids), prices=price, lowers=lower, uppers=upper,
        features=request.rows, parent_prediction_ids=None if shadow_of is None else list(shadow_of))


def new_ids(n: int) -> list[str]:
    """`n` new ids as 32 hex digits (the format of uuid4().hex), each a version-7 UUID (RFC
    9562): the current Unix time in milliseconds, then 74 random bits, all drawn with one
    os.urandom call (uuid4() per row took an eighth of a 1,000-home batch's time).

    Time-ordered on purpose: the prediction log's primary key and request_id index take new
    ids at their right edge instead of at random pages. With uuid4 keys every commit dirtied a
    page per row in each index; a 50-row commit into a 150,000-row SQLite log cost 2.6 ms of
    CPU against 0.7 ms with these (and PostgreSQL's indexes stay compact the same way).
    """
    stamp = f"{time.time_ns() // 1_000_000:012x}"
    raw = bytearray(os.urandom(10 * n))  # the 10 bytes of each UUID after its time stamp
    # The version (7) and variant (10xx) bits, as uuid4 sets its own.
    raw[0::10] = bytes(b & 0x0F | 0x70 for b in raw[0::10])
    raw[2::10] = bytes(b & 0x3F | 0x80 for b in raw[2::10])
    text = raw.hex()
    return [stamp + text[i:i + 20] for i in range(0, 20 * n, 20)]


class NonFiniteOutputError(HomepriceError):
    """A model answered NaN or infinity: a broken model, never a price (HTTP 500)."""


def finite(loaded: LoadedModel, prediction: Prediction) -> Prediction:
    """`prediction` if every price and interval end is finite; NonFiniteOutputError otherwise.

    JSON has no NaN: answered as-is it would reach the client as null with a 200, and the log
    and live error statistics would take it as a price.
    """
    if all(np.isfinite(part).all() for part in prediction):
        return prediction
    raise NonFiniteOutputError(f"model v{loaded.version} ({loaded.alias}) of {loaded.dataset} "
                               "answered a non-finite price; nothing was priced")


class PricingService:
    """Prices, explanations and feedback for the datasets one app serves."""

    def __init__(self, datasets: Iterable[str], store: ModelStore, router: TrafficRouter,
                 prediction_log: PredictionLog, metrics: ServingMetrics,
                 shadow: ShadowPool, *, log_predictions: bool = True) -> None:
        self._store = store
        self._router = router
        self._log = prediction_log
        # serving.log_predictions: off, no row is built or queued (served or shadow).
        self._log_predictions = log_predictions
        self._metrics = metrics
        self._shadow = shadow
        # Looked up once: the request path only indexes a dict.
        self._columns = {d: tuple(get_dataset(d).feature_columns) for d in datasets}

    def champion(self, dataset: str) -> LoadedModel:
        """The loaded champion of `dataset` (UnavailableError until one is loaded)."""
        loaded = self._store.get(dataset, registry.CHAMPION)
        if loaded is None:
            raise UnavailableError(f"no champion model of {dataset} is loaded yet")
        return loaded

    def price(self, dataset: str, rows: list[dict[str, Any]], client_id: str | None
              ) -> Priced:
        """Price every row with the routed model and queue the log rows (never written inline).

        The whole request goes to one variant, so a client sees one model; in shadow mode the
        challenger's predictions are scheduled in the background and never awaited.
        """
        started = time.perf_counter()
        # One draw for the request id and every prediction id (the request's is the last).
        *prediction_ids, request_id = new_ids(len(rows) + 1)
        # Without X-Client-Id, the first prediction id is the key: a fresh draw per request.
        route = self._router.route(dataset, client_id or prediction_ids[0])
        champion = self.champion(dataset)
        challenger = self._store.get(dataset, CHALLENGER)  # one reference: a reload cannot tear it
        columns = to_columns(rows, self._columns[dataset])
        loaded = champion
        if route.answer == CHALLENGER and challenger is not None:
            try:
                prediction = finite(challenger, challenger.predictor.predict(columns))
                loaded = challenger
            except Exception as failure:  # noqa: BLE001 - the client still gets the champion's
                if isinstance(failure, NonFiniteOutputError):
                    self._metrics.nonfinite_outputs.labels(dataset, challenger.alias).inc()
                self._metrics.challenger_failures.labels(dataset, "split").inc()
                log.warning("challenger v%s of %s failed; the champion answers: %s",
                            challenger.version, dataset, failure)
        if loaded is champion:
            try:
                prediction = finite(champion, champion.predictor.predict(columns))
            except NonFiniteOutputError:
                self._metrics.nonfinite_outputs.labels(dataset, champion.alias).inc()
                raise
        request = RequestInfo(request_id=request_id, at=datetime.now(UTC),
                              dataset=dataset, client_id=client_id, rows=rows,
                              mode=route.mode)
        latency_ms = (time.perf_counter() - started) * 1000 / len(rows)
        version, variant = loaded.version, loaded.alias
        answers = [{"price": p, "lower": low, "upper": high, "model_version": version,
                    "variant": variant, "prediction_id": pid}
                   for p, low, high, pid in zip(*(part.tolist() for part in prediction),
                                                prediction_ids, strict=True)]
        records = None
        if self._log_predictions:
            records = log_records(request, loaded, prediction, prediction_ids, latency_ms)
            self._log.enqueue(records)
        self._metrics.predictions_of(dataset, variant).inc(len(rows))
        if route.shadow and challenger is not None:
            job = self._shadow_job(challenger, request, columns, prediction_ids)
            if not self._shadow.submit(job, rows=len(rows)):
                self._metrics.shadow_skipped.labels(dataset).inc(len(rows))
        return Priced(answers=answers, records=records, variant=variant)

    def _shadow_job(self, challenger: LoadedModel, request: RequestInfo,
                    columns: Mapping[str, list], parents: Sequence[str]) -> Callable[[], None]:
        """Shadow scoring of one request by the challenger, to run off the request path."""
        def job() -> None:
            started = time.perf_counter()
            try:
                prediction = finite(challenger, challenger.predictor.predict(columns))
                latency_ms = (time.perf_counter() - started) * 1000 / len(request.rows)
                records = log_records(request, challenger, prediction,
                                      new_ids(len(request.rows)), latency_ms,
                                      shadow_of=parents)
            except Exception as failure:  # noqa: BLE001 - a failing challenger is counted
                if isinstance(failure, NonFiniteOutputError):
                    self._metrics.nonfinite_outputs.labels(request.dataset, SHADOW).inc()
                self._metrics.challenger_failures.labels(request.dataset, "shadow").inc()
                log.warning("shadow scoring of %s by challenger v%s failed for request %s: %s",
                            request.dataset, challenger.version, request.request_id, failure)
                return
            if self._log_predictions:
                self._log.enqueue(records)
            self._metrics.shadow_predictions_of(request.dataset).inc(len(records))
        return job

    def explain(self, dataset: str, row: dict[str, Any]) -> tuple[LoadedModel, dict[str, Any]]:
        """The champion, and the per-field contributions to its price of one row."""
        loaded = self.champion(dataset)
        columns = to_columns([row], self._columns[dataset])
        try:
            # A model served through its pipeline is compiled here; one that cannot be is
            # unsupported like any other model type explain has no method for.
            fast = loaded.predictor if isinstance(loaded.predictor, FastPredictor) else (
                FastPredictor(loaded.model))
            result = explain(fast, columns)
        except Exception as error:  # noqa: BLE001 - unsupported model types answer clearly
            raise UnsupportedError(f"cannot explain this model: {error}") from None
        if not np.isfinite(result["price"]) or not np.isfinite(result["base_value"]):
            self._metrics.nonfinite_outputs.labels(dataset, loaded.alias).inc()
            raise NonFiniteOutputError(f"model v{loaded.version} ({loaded.alias}) of {dataset} "
                                       "answered a non-finite price; nothing was explained")
        return loaded, result

    async def record_feedback(self, dataset: str, prediction_id: str, actual_price: float,
                              wait: float) -> None:
        """Record the actual price of a `dataset` home priced earlier.

        Feedback may beat its prediction's log row to the database (the writer batches, and
        with several workers another process may hold it): it then waits up to `wait` seconds
        for the row, asleep on the event loop rather than holding a worker thread. Still no
        row: UnavailableError while this log has rows queued (the client retries),
        NotFoundError otherwise. An id of another dataset's prediction is NotFoundError too:
        it names no home of this dataset.
        """
        try:
            deadline = time.monotonic() + wait
            delay = 0.02
            while True:
                # Read the backlog before the row: a row written in between is then found.
                # Spilled records count too: their rows arrive when the spill is replayed.
                behind = self._log.queue_depth > 0 or self._log.spill_records > 0
                made_for = await asyncio.to_thread(self._log.dataset_of, prediction_id)
                left = deadline - time.monotonic()
                if made_for is not None or left <= 0:
                    break
                await asyncio.sleep(min(delay, left))
                delay = min(delay * 2, 0.5)
            if made_for is None and behind:
                raise UnavailableError(
                    f"prediction {prediction_id!r} is not in the log yet (the log is behind); "
                    "send the feedback again in a few seconds")
            if made_for is None:
                raise NotFoundError(f"unknown prediction_id {prediction_id!r}")
            if made_for != dataset:
                raise NotFoundError(f"prediction_id {prediction_id!r} is not a {dataset} "
                                    f"prediction (it was made by /v1/{made_for}/predict)")
            # The row is written, so add_feedback does not wait on the writer's queue.
            await asyncio.to_thread(self._log.add_feedback, prediction_id, actual_price)
        except UnknownPrediction:
            raise NotFoundError(f"unknown prediction_id {prediction_id!r}") from None
        except DuplicateFeedback:
            raise ConflictError(f"prediction {prediction_id!r} already has feedback") from None
        except SQLAlchemyError:
            raise UnavailableError("the prediction log database is unreachable; "
                                   "send the feedback again later") from None
