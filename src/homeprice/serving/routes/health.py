"""GET /healthz, /readyz, /metrics and /v1/models."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST

from homeprice import registry
from homeprice.serving.dependencies import Context
from homeprice.serving.redaction import redact
from homeprice.serving.responses import json_response

router = APIRouter()


@router.get("/healthz", tags=["health"])
async def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz", tags=["health"], responses={503: {"description": "not ready yet"}})
async def readyz(ctx: Context) -> Response:
    """Ready when every dataset has a champion loaded (`waiting` says why one has not); the
    prediction log's health is in the body (and in /metrics), never in the status:
    predictions do not need the database."""
    # From the writes actually attempted, not a ping: a database that answers SELECT 1 may
    # still refuse every insert (a full disk, a read-only file, a missing table), and a ping
    # to a database that is down would make this probe wait for the connect timeout.
    health = ctx.log.health()
    ready = ctx.store.ready
    body = {"status": "ready" if ready else "not ready", "models_loaded": ready,
            "waiting": ctx.store.waiting(), "log": health.as_dict()}
    return json_response(body, status_code=200 if ready else 503)


@router.get("/metrics", tags=["health"], response_class=PlainTextResponse)
async def metrics(ctx: Context) -> Response:
    """Prometheus metrics of the whole server (every worker process), with the latest drift
    check's results."""
    # Off the event loop: with several workers this reads every worker's metric files.
    body = await run_in_threadpool(ctx.metrics.exposition)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


@router.get("/v1/models", tags=["models"])
async def models(ctx: Context) -> dict[str, Any]:
    """What is loaded per dataset (versions, aliases, metrics, loaded_at, fast path) and its
    traffic mode and share."""
    traffic = ctx.router.snapshot()
    return {dataset: {"registered_model": registry.model_name(dataset), **_public(entry),
                      "traffic": traffic[dataset]}
            for dataset, entry in ctx.store.snapshot().items()}


def _public(entry: dict[str, Any]) -> dict[str, Any]:
    """A dataset's model entry as clients may see it: registry versions, run ids and metrics,
    but load errors without the local paths and file URIs they often quote."""
    return {alias: ({**state, "error": redact(str(state["error"]))} if "error" in state
                    else state)
            for alias, state in entry.items()}
