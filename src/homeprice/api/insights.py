"""GET /v1/insights/{dataset}/...: read-only views for people (the web UI, dashboards).

Part of the composed API (`homeprice.api`), not of `serving/`: the views reuse monitoring's
live A/B evaluation and drift results, and serving never imports monitoring.

Each endpoint reuses what the CLI already computes (registry listings and audit trail, the live
A/B evaluation, the saved drift and data-quality reports), so the UI stays a pure HTTP client
and never opens the registry, the lake or the prediction log itself.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from fastapi.responses import FileResponse

from homeprice import artifacts, registry
from homeprice.api.sharedresults import SharedResults
from homeprice.errors import NotFoundError
from homeprice.monitoring.drift import latest_path
from homeprice.monitoring.live import live_view
from homeprice.monitoring.replay import DEFAULT_SINCE, replay
from homeprice.serving.dependencies import (
    Context,
    ReadToken,
    RegistryClient,
    ServedDataset,
    ServingContext,
)
from homeprice.serving.responses import error, json_response

router = APIRouter(prefix="/v1/insights", tags=["insights"], dependencies=[ReadToken],
                   responses={401: error("serving.read_token is set and was not given"),
                              404: error("unknown dataset or nothing recorded yet")})
_BUSY = {503: error("too many of these views are being computed: retry after Retry-After")}


def shared_results(ctx: ServingContext) -> SharedResults:
    """The app's shared results of costly views (a join, registry calls, a log scan)."""
    return SharedResults(ctx.settings.serving.insights_cache_seconds,
                         ctx.settings.serving.insights_max_concurrent,
                         on_compute=lambda view: ctx.metrics.insight_computations.labels(
                             view).inc(),
                         on_busy=lambda view: ctx.metrics.insight_busy.labels(view).inc())


async def get_shared(request: Request) -> SharedResults:
    """The shared results of this app (see `install`)."""
    return request.app.state.insight_results


Shared = Annotated[SharedResults, Depends(get_shared)]


def install(app: FastAPI) -> None:
    """Add the insights routes to `app`, with the shared results they compute through."""
    app.state.insight_results = shared_results(app.state.context)
    app.include_router(router)


def _read_json(path: Path) -> dict[str, Any] | None:
    """A saved report, or None when it was never written (or is half-written garbage)."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


@router.get("/{dataset}/models", responses=_BUSY)
async def models(dataset: ServedDataset, client: RegistryClient, shared: Shared,
                 ctx: Context) -> Response:
    """Registered versions (newest first, with aliases, metrics, gate outcome and lifecycle
    stage; the challenger's with this server's effective traffic mode) and the audit trail of
    alias moves (newest first)."""

    def read() -> dict[str, Any]:
        return {"versions": registry.list_versions(client, dataset,
                                                   ctx.router.effective(dataset)),
                "history": [asdict(e) for e in reversed(registry.history(client, dataset))]}

    # Not cached: an admin change must show at once; concurrent callers still share one read.
    return json_response(await shared.get("models", dataset, read, cache=False))


@router.get("/{dataset}/ab", responses=_BUSY)
async def ab(dataset: ServedDataset, ctx: Context, shared: Shared) -> Response:
    """Live error per variant with anytime-valid confidence intervals, what `ab evaluate`
    would decide now (not applied), and the last decision it applied."""

    def read() -> dict[str, Any]:
        # Rows still queued in this server would be missing from the evaluation.
        ctx.log.flush(timeout=5)
        return live_view(dataset, ctx.settings, ctx.log)

    # orjson writes NaN (no labels yet) as null, which the standard encoder refuses.
    return json_response(await shared.get("ab", dataset, read))


@router.get("/{dataset}/replay", responses=_BUSY)
async def replay_view(dataset: ServedDataset, ctx: Context, shared: Shared,
                      model: str = Query(registry.CHALLENGER, min_length=1, max_length=64,
                                         description="an alias (challenger) or a version"),
                      since: str = Query(DEFAULT_SINCE, min_length=2, max_length=16,
                                         description="window of logged requests, e.g. 7d")
                      ) -> Response:
    """`homeprice replay`: `model` scored offline on the labelled champion-served requests of
    the last `since`, with the table and decision of `ab evaluate` (offline evidence: never
    applied)."""

    def read() -> dict[str, Any]:
        ctx.log.flush(timeout=5)
        return replay(dataset, ctx.settings, model, since, log=ctx.log).to_dict()

    # Scoring a model over days of requests is costly: cached and capped like the A/B view.
    return json_response(await shared.get("replay", (dataset, model, since), read))


def traffic_buckets(rows: pd.DataFrame, since: datetime, bucket_seconds: int
                    ) -> list[dict[str, Any]]:
    """Requests, homes priced and request latency (p50, p95) per time bucket; empty buckets
    are kept so a quiet minute shows as zero instead of being skipped."""
    per_request = rows.groupby("request_id").agg(
        ts=("ts", "first"), items=("ts", "size"), latency_ms=("latency_ms", "first"))
    # The log keeps each item's share of its request's latency.
    per_request["latency_ms"] *= per_request["items"]
    per_request["bucket"] = per_request["ts"].dt.floor(f"{bucket_seconds}s")
    grouped = per_request.groupby("bucket").agg(
        requests=("items", "size"), predictions=("items", "sum"),
        latency_p50_ms=("latency_ms", "median"),
        latency_p95_ms=("latency_ms", lambda s: s.quantile(0.95)))
    start = pd.Timestamp(since).floor(f"{bucket_seconds}s")
    index = pd.date_range(start, pd.Timestamp.now(tz="UTC"), freq=f"{bucket_seconds}s")
    grouped = grouped.reindex(index.union(grouped.index))
    grouped[["requests", "predictions"]] = grouped[["requests", "predictions"]].fillna(0)
    grouped = grouped.astype(float).astype(object).where(grouped.notna(), None)
    return [{"start": ts.isoformat(), **row} for ts, row in grouped.iterrows()]


@router.get("/{dataset}/traffic", responses=_BUSY)
async def traffic(dataset: ServedDataset, ctx: Context, shared: Shared,
                  minutes: int = Query(60, ge=1, le=7 * 24 * 60),
                  bucket_seconds: int = Query(60, ge=10, le=3600)) -> Response:
    """Request rate and latency over the last `minutes`, from the prediction log (so it covers
    every server process and survives restarts)."""
    since = datetime.now(UTC) - timedelta(minutes=minutes)

    def read() -> dict[str, Any]:
        ctx.log.flush(timeout=5)
        rows = ctx.log.requests_since(dataset, since)
        return {"dataset": dataset, "since": since.isoformat(), "bucket_seconds": bucket_seconds,
                "buckets": traffic_buckets(rows, since, bucket_seconds)}

    # Shared per window and bucket size: within the TTL every caller sees the same buckets.
    return json_response(await shared.get("traffic", (dataset, minutes, bucket_seconds), read))


@router.get("/{dataset}/drift")
async def drift(dataset: ServedDataset, ctx: Context) -> Response:
    """The latest drift check (`homeprice monitor drift`): share of drifted inputs and the
    per-column scores."""
    result = _read_json(latest_path(ctx.settings, dataset))
    if result is None:
        raise NotFoundError(f"no drift check of {dataset} yet: run `homeprice monitor "
                            f"drift --dataset {dataset}`")
    return json_response(result)


@router.get("/{dataset}/drift/report", response_class=FileResponse, responses={
    200: {"description": "the HTML report", "content": {"text/html": {}}}})
async def drift_report(dataset: ServedDataset, ctx: Context) -> Response:
    """The latest drift check's HTML report (Evidently)."""
    result = _read_json(latest_path(ctx.settings, dataset)) or {}
    html = Path(result.get("html") or "")
    if not html.is_file():
        raise NotFoundError(f"no drift report of {dataset} on this server")
    return FileResponse(html, media_type="text/html", filename=html.name)


@router.get("/{dataset}/quality")
async def quality(dataset: ServedDataset, ctx: Context) -> Response:
    """The latest data-quality report (missing, duplicates, outliers, violations) and the
    latest cleaning report (rows dropped by reason)."""
    reports = ctx.settings.reports_dir
    body = {"quality": _read_json(artifacts.report_path(reports, dataset,
                                                        artifacts.QUALITY_LATEST)),
            "cleaning": _read_json(artifacts.report_path(reports, dataset,
                                                         artifacts.CLEAN_LATEST))}
    if body["quality"] is None and body["cleaning"] is None:
        raise NotFoundError(f"no quality report of {dataset} yet: run `homeprice data "
                            f"validate --dataset {dataset}`")
    return json_response(body)


@router.get("/{dataset}/locations", responses={503: error("no champion loaded yet")})
async def locations(dataset: ServedDataset, ctx: Context) -> Response:
    """Locations the champion learned from (most listings first): any other is priced as a
    rare location."""
    loaded = ctx.pricing.champion(dataset)
    counts = getattr(loaded.model[0], "location_counts_", None)
    if counts is None:
        raise NotFoundError(f"{dataset} models have no named locations")
    # Pipelines fitted before levels were folded count by spelling already (no names map).
    names = getattr(loaded.model[0], "location_names_", {})
    known = sorted(((names.get(key, key), int(n)) for key, n in counts.items()
                    if key != "__missing__"),
                   key=lambda item: (-item[1], item[0]))
    return json_response({"dataset": dataset, "model_version": loaded.version,
                          "locations": [{"location": name, "listings": n} for name, n in known]})
