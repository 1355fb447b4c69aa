"""POST /v1/admin/{dataset}/promote|rollback|reload|traffic, behind a bearer token."""

from __future__ import annotations

import hmac
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Depends, Header, HTTPException
from fastapi.concurrency import run_in_threadpool

from homeprice import registry, tracking
from homeprice.errors import HomepriceError
from homeprice.serving.context import ServingContext, error, get_context, require_dataset
from homeprice.serving.routing import CHALLENGER
from homeprice.serving.schemas import AdminPromote, AdminReason, TrafficChange, TrafficState

router = APIRouter(prefix="/v1/admin", tags=["admin"], responses={
    401: error("missing or wrong bearer token"), 403: error("admin endpoints disabled"),
    404: error("unknown dataset")})
_CHANGE_ERRORS = {400: error("no such version or bad request"),
                  409: error("conflicts with the registry state")}


def require_admin(ctx: ServingContext = Depends(get_context),
                  authorization: str | None = Header(None)) -> None:
    """403 when admin is disabled (no HOMEPRICE_ADMIN_TOKEN), 401 on a missing/wrong token."""
    token = ctx.settings.admin_token
    if token is None or not token.get_secret_value():
        raise HTTPException(403, "admin endpoints are disabled: set HOMEPRICE_ADMIN_TOKEN")
    scheme, _, given = (authorization or "").partition(" ")
    expected = token.get_secret_value().encode()
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected):
        raise HTTPException(401, "missing or wrong bearer token",
                            headers={"WWW-Authenticate": "Bearer"})


async def _move(ctx: ServingContext, dataset: str, action: Any) -> dict[str, Any]:
    """Run a registry change, then reload so this server answers with it at once."""
    def work() -> dict[str, Any]:
        client = tracking.configure(ctx.settings)
        try:
            entry = action(client)
        except HomepriceError as error:
            raise HTTPException(409 if "already" in str(error) or "no previous" in str(error)
                                else 400, str(error)) from None
        return asdict(entry)

    entry = await run_in_threadpool(work)
    changes = await run_in_threadpool(ctx.store.refresh)
    return {"audit": entry, "reload": changes, "loaded": ctx.store.snapshot()[dataset]}


@router.post("/{dataset}/promote", dependencies=[Depends(require_admin)],
             responses=_CHANGE_ERRORS)
async def promote(dataset: str, body: AdminPromote, ctx: ServingContext = Depends(get_context)
                  ) -> dict[str, Any]:
    """Make a version the champion (audit trail entry with the reason)."""
    require_dataset(ctx, dataset)
    return await _move(ctx, dataset, lambda c: registry.promote(
        c, dataset, body.version, body.reason, who="api"))


@router.post("/{dataset}/rollback", dependencies=[Depends(require_admin)],
             responses=_CHANGE_ERRORS)
async def rollback(dataset: str, body: AdminReason, ctx: ServingContext = Depends(get_context)
                   ) -> dict[str, Any]:
    """Give the champion alias back to the previous champion."""
    require_dataset(ctx, dataset)
    return await _move(ctx, dataset, lambda c: registry.rollback(c, dataset, body.reason,
                                                                 who="api"))


@router.post("/{dataset}/reload", dependencies=[Depends(require_admin)])
async def reload(dataset: str, ctx: ServingContext = Depends(get_context)) -> dict[str, Any]:
    """Look up the aliases now and hot-reload what changed."""
    require_dataset(ctx, dataset)
    changes = await run_in_threadpool(ctx.store.refresh)
    return {"reload": changes, "loaded": ctx.store.snapshot()[dataset]}


@router.post("/{dataset}/traffic", dependencies=[Depends(require_admin)],
             response_model=TrafficState)
async def traffic(dataset: str, body: TrafficChange, ctx: ServingContext = Depends(get_context)
                  ) -> TrafficState:
    """Switch between champion only (off), a sticky split and shadow scoring, at once."""
    require_dataset(ctx, dataset)
    setting = ctx.router.set(dataset, body.mode, body.share)
    # With several workers the change is shared through the run folder and every worker takes
    # it on its next reload poll; a restarted server starts from the configuration.
    return TrafficState(dataset=dataset, mode=setting.mode, share=setting.share,
                        challenger_loaded=ctx.store.get(dataset, CHALLENGER) is not None)
