"""The FastAPI app factory: it takes settings, so tests and servers build the same app
against any home, database or registry; it wires the shared state, registers one router per
resource, and maps homeprice's typed errors to HTTP answers in one handler."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI, Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp

from homeprice.config import Settings
from homeprice.errors import BusyError, HomepriceError
from homeprice.predictionlog import PredictionLog
from homeprice.serving.comparables import ComparablesService
from homeprice.serving.dependencies import ServingContext
from homeprice.serving.edge import EdgeGuard
from homeprice.serving.limits import BodyLimits
from homeprice.serving.metrics import ServingMetrics
from homeprice.serving.modelstore import ModelStore
from homeprice.serving.pricing import PricingService
from homeprice.serving.redaction import redact
from homeprice.serving.responses import json_response
from homeprice.serving.routes import admin, health
from homeprice.serving.routes.comparables import comparables_router
from homeprice.serving.routes.predict import prediction_router
from homeprice.serving.routing import CHALLENGER, ShadowPool, TrafficRouter
from homeprice.serving.schemas import request_models
from homeprice.serving.security import FEEDBACK, TokenGate, check_admin_token, check_token
from homeprice.serving.shortcut import PredictShortcut
from homeprice.serving.trafficstore import TrafficStore

log = logging.getLogger(__name__)


def _describe(error: dict) -> str:
    # Drop FastAPI's "body" and pydantic's union tags so the path reads like the JSON sent.
    parts = [str(p) for p in error.get("loc", ()) if p not in ("body", "single", "batch")]
    return f"{'.'.join(parts) or 'body'}: {error.get('msg', 'invalid')}"


_ENDPOINTS = ("predict", "explain", "feedback", "comparables")


def _count_error(request: Request, status: int) -> None:
    """Count a refused /v1/{dataset}/{endpoint} request, so an error rate can be computed
    from /metrics (labels are bounded: unknown datasets and actions are pooled)."""
    parts = request.url.path.strip("/").split("/")
    if len(parts) != 3 or parts[0] != "v1":
        return
    ctx: ServingContext = request.app.state.context
    dataset = parts[1] if parts[1] in ctx.store.datasets else "unknown"
    endpoint = parts[2] if parts[2] in _ENDPOINTS else "unknown"
    ctx.metrics.requests.labels(dataset, endpoint, "", str(status)).inc()


async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    _count_error(request, exc.status_code)
    if isinstance(exc.detail, str):
        exc.detail = redact(exc.detail)
    return await http_exception_handler(request, exc)


async def _homeprice_error(request: Request, exc: HomepriceError) -> Response:
    """Every typed error answers with its own status and {"detail": message}."""
    status = exc.http_status
    if status == 500:
        # No status of its own: a failure nobody expected, so its traceback goes to the server
        # log (the client gets one line). 501 and 503 are expected states, not logged each time.
        log.error("%s %s failed: %s", request.method, request.url.path, exc, exc_info=exc)
    _count_error(request, status)
    # Messages may quote a file, URI or database URL of this server: the client gets neither.
    response = json_response({"detail": redact(str(exc))}, status)
    if isinstance(exc, BusyError):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
    _count_error(request, 422)
    errors = exc.errors()
    detail = [{"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")}
              for e in errors]
    return json_response({"detail": detail,
                          "message": "; ".join(_describe(e) for e in errors)}, 422)


async def _poll(store: ModelStore, router: TrafficRouter, interval: float) -> None:
    """Every `interval` seconds, off the event loop: take the traffic settings other workers
    changed, then hot-reload the models whose aliases moved."""
    while True:
        await asyncio.sleep(interval)
        try:
            await asyncio.to_thread(router.sync)
        except Exception:  # noqa: BLE001 - the poller must survive a broken shared folder
            log.exception("traffic sync failed")
        try:
            await asyncio.to_thread(store.refresh)
        except Exception:  # noqa: BLE001 - the poller must survive registry outages
            log.exception("model refresh failed")


async def _sample(metrics: ServingMetrics, interval: float = 1.0) -> None:
    """Multiprocess mode: copy queue depths and row counts into the shared metric files, so a
    scrape answered by another worker sees this one's values at most `interval` old."""
    while True:
        metrics.sample()
        await asyncio.sleep(interval)


async def _cancel(task: asyncio.Task) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


class GuardedApp(FastAPI):
    """FastAPI with the edge guard outside all its layers, so every answer (a 500 from an
    unexpected error too) carries the security headers, and no layer sees a refused body."""

    # Body limits, the admin gate, the feedback gate and the metrics that count refusals.
    edge: tuple[BodyLimits, TokenGate, TokenGate, ServingMetrics] | None = None
    # Answers plainly valid single-home predict requests at the edge (serving/shortcut.py).
    shortcut: PredictShortcut | None = None

    def build_middleware_stack(self) -> ASGIApp:
        inner = super().build_middleware_stack()
        if self.edge is None:
            return inner
        limits, admin_gate, feedback_gate, metrics = self.edge
        return EdgeGuard(inner, limits, admin_gate,
                         on_refused=lambda reason: metrics.requests_refused.labels(reason).inc(),
                         feedback=feedback_gate, shortcut=self.shortcut)


def create_app(settings: Settings, *, load_models: bool = True) -> FastAPI:
    """A serving app for `settings`; it loads the champions and challengers at start-up."""
    check_admin_token(settings.admin_token, settings.serving.admin_token_min_length)
    check_token(FEEDBACK.variable, settings.feedback_token,
                settings.serving.admin_token_min_length)
    metrics = ServingMetrics(settings.reports_dir, settings.serving.datasets)
    store = ModelStore(settings, metrics)
    serving = settings.serving
    spill_dir = ((serving.log_spill_dir or settings.home / "log-spill")
                 if serving.log_spill_max_bytes else None)
    prediction_log = PredictionLog(settings.log_url, batch_size=serving.log_batch_size,
                                   max_queue=serving.log_queue_size, spill_dir=spill_dir,
                                   spill_max_bytes=serving.log_spill_max_bytes)
    run_dir = settings.serving.run_dir
    router = TrafficRouter(settings.serving.traffic, store.datasets,
                           lambda dataset: store.get(dataset, CHALLENGER) is not None,
                           store=TrafficStore(run_dir) if run_dir else None,
                           on_change=metrics.record_traffic)
    shadow = ShadowPool(max_rows=serving.shadow_max_rows)
    metrics.watch(metrics.shadow_backlog, lambda: shadow.pending)
    metrics.watch_log(prediction_log)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(prediction_log.start)
        # A worker started (or restarted) after a run-time change routes like the others.
        await asyncio.to_thread(router.sync)
        if load_models:
            for change in await asyncio.to_thread(store.refresh):
                log.info("%s", change)
        tasks = [asyncio.create_task(_poll(store, router,
                                           settings.serving.reload_interval_seconds))]
        if metrics.multiprocess:
            tasks.append(asyncio.create_task(_sample(metrics)))
        try:
            yield
        finally:
            for task in tasks:
                await _cancel(task)
            # Finish shadow scoring first (its rows go to the log), then drain the prediction
            # log before exit: zero lost rows on SIGTERM/SIGINT.
            await asyncio.to_thread(shadow.close)
            await asyncio.to_thread(prediction_log.close, serving.log_shutdown_grace_seconds)
            metrics.sample()
            metrics.close()

    app = GuardedApp(title="homeprice", version="1", lifespan=lifespan,
                     description="House-price predictions with 90% intervals, explanations, "
                                 "feedback and model administration.")
    admin_gate = TokenGate(settings.admin_token, settings.serving,
                           on_failure=lambda reason: metrics.admin_auth_failures.labels(reason)
                           .inc())
    feedback_gate = TokenGate(settings.feedback_token, settings.serving, duty=FEEDBACK,
                              on_failure=lambda reason: metrics.feedback_auth_failures
                              .labels(reason).inc())
    app.edge = (BodyLimits.from_settings(settings.serving), admin_gate, feedback_gate, metrics)
    datasets = list(settings.serving.datasets)
    pricing = PricingService(datasets, store, router, prediction_log, metrics, shadow,
                             log_predictions=serving.log_predictions)
    app.state.context = ServingContext(settings=settings, store=store, log=prediction_log,
                                       metrics=metrics, router=router, shadow=shadow,
                                       pricing=pricing,
                                       comparables=ComparablesService(datasets, store),
                                       tracking_uri=settings.tracking_uri)
    app.shortcut = PredictShortcut(
        app.state.context, {d: models for d, models in request_models(settings).items()
                            if d in datasets}, _homeprice_error)
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(HomepriceError, _homeprice_error)  # type: ignore[arg-type]
    app.include_router(health.router)
    app.include_router(admin.router)
    app.include_router(comparables_router(settings))
    # Last: it ends with the catch-all 404 of POST /v1/{dataset}/{action}.
    app.include_router(prediction_router(settings))
    return app
