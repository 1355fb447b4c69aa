"""POST /v1/admin/{dataset}/promote|rollback|retire|reload|traffic, behind a bearer token."""

from __future__ import annotations

from dataclasses import asdict
from functools import partial
from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from homeprice import registry
from homeprice.registry import AuditEntry
from homeprice.serving.dependencies import (
    AdminToken,
    Context,
    RegistryClient,
    ServedDataset,
    ServingContext,
)
from homeprice.serving.responses import error
from homeprice.serving.routing import CHALLENGER
from homeprice.serving.schemas import AdminPromote, AdminReason, TrafficChange, TrafficState

router = APIRouter(prefix="/v1/admin", tags=["admin"], dependencies=[AdminToken], responses={
    401: error("missing or wrong bearer token"), 403: error("admin endpoints disabled"),
    404: error("unknown dataset")})
# Raised by the registry as typed errors (UserInputError, ConflictError) and answered by the
# app's one handler of homeprice errors.
_CHANGE_ERRORS = {400: error("no such version or bad request"),
                  409: error("conflicts with the registry state")}


async def _reloaded(ctx: ServingContext, dataset: str, entry: AuditEntry) -> dict[str, Any]:
    """Reload after a registry change, so this server answers with it at once."""
    changes = await run_in_threadpool(ctx.store.refresh)
    return {"audit": asdict(entry), "reload": changes, "loaded": ctx.store.snapshot()[dataset]}


@router.post("/{dataset}/promote", responses=_CHANGE_ERRORS)
async def promote(dataset: ServedDataset, body: AdminPromote, ctx: Context,
                  client: RegistryClient) -> dict[str, Any]:
    """Make a version the champion (audit trail entry with the reason)."""
    entry = await run_in_threadpool(partial(
        registry.promote, client, dataset, body.version, body.reason, who="api",
        expected_champion=body.expected_champion, expected_challenger=body.expected_challenger))
    return await _reloaded(ctx, dataset, entry)


@router.post("/{dataset}/rollback", responses=_CHANGE_ERRORS)
async def rollback(dataset: ServedDataset, body: AdminReason, ctx: Context,
                   client: RegistryClient) -> dict[str, Any]:
    """Give the champion alias back to the previous champion."""
    entry = await run_in_threadpool(partial(
        registry.rollback, client, dataset, body.reason, who="api",
        expected_champion=body.expected_champion, expected_challenger=body.expected_challenger))
    return await _reloaded(ctx, dataset, entry)


@router.post("/{dataset}/retire", responses=_CHANGE_ERRORS)
async def retire(dataset: ServedDataset, body: AdminReason, ctx: Context,
                 client: RegistryClient) -> dict[str, Any]:
    """Clear the challenger alias (the version stays registered); servers stop scoring it."""
    entry = await run_in_threadpool(partial(
        registry.retire, client, dataset, body.reason, who="api",
        expected_champion=body.expected_champion, expected_challenger=body.expected_challenger))
    return await _reloaded(ctx, dataset, entry)


@router.post("/{dataset}/reload")
async def reload(dataset: ServedDataset, ctx: Context) -> dict[str, Any]:
    """Look up the aliases now and hot-reload what changed."""
    changes = await run_in_threadpool(ctx.store.refresh)
    return {"reload": changes, "loaded": ctx.store.snapshot()[dataset]}


@router.post("/{dataset}/traffic", response_model=TrafficState)
async def traffic(dataset: ServedDataset, body: TrafficChange, ctx: Context) -> TrafficState:
    """Switch between champion only (off), a sticky split, shadow scoring and auto (shadow
    while a challenger is loaded), at once."""
    setting = ctx.router.set(dataset, body.mode, body.share)
    # With several workers the change is shared through the run folder and every worker takes
    # it on its next reload poll; a restarted server starts from the configuration.
    loaded = ctx.store.get(dataset, CHALLENGER) is not None
    return TrafficState(dataset=dataset, mode=setting.mode, share=setting.share,
                        effective=setting.effective(loaded), challenger_loaded=loaded)
