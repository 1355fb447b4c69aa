"""What request handlers depend on, as typed aliases: the app's serving context, a dataset it
serves (404 otherwise), its registry client, the admin and feedback bearer tokens and the
optional read token.

    async def handler(dataset: ServedDataset, ctx: Context, client: RegistryClient): ...
"""

from __future__ import annotations

import hmac
import threading
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from mlflow.tracking import MlflowClient
from pydantic import SecretStr

from homeprice import tracking
from homeprice.config import Settings
from homeprice.errors import NotFoundError
from homeprice.predictionlog import PredictionLog
from homeprice.serving.comparables import ComparablesService
from homeprice.serving.metrics import ServingMetrics
from homeprice.serving.modelstore import ModelStore
from homeprice.serving.pricing import PricingService
from homeprice.serving.routing import ShadowPool, TrafficRouter
from homeprice.serving.security import FEEDBACK


@dataclass
class ServingContext:
    """Shared state of one app, built by the app factory."""

    settings: Settings
    store: ModelStore
    log: PredictionLog
    metrics: ServingMetrics
    router: TrafficRouter
    # Shadow scoring runs here, never on the request path; drained before the log at shutdown.
    shadow: ShadowPool
    pricing: PricingService
    comparables: ComparablesService
    # Read once by the factory: Settings.tracking_uri follows $MLFLOW_TRACKING_URI, which
    # mlflow.set_tracking_uri() (anyone's, anywhere in the process) rewrites.
    tracking_uri: str
    _registry: MlflowClient | None = field(default=None, init=False, repr=False)
    _registry_lock: threading.Lock = field(default_factory=threading.Lock, init=False,
                                           repr=False)

    @property
    def registry(self) -> MlflowClient:
        """The app's MLflow client, built on first use and then held.

        Its URIs are explicit: MLflow's global tracking URI is process-wide state that other
        code (and tests pointing at other homes) may move, so no request resets it. Built
        lazily because connecting creates and migrates a new SQLite store (seconds), which an
        app built only for its OpenAPI schema, or one that never administers, need not pay.
        """
        with self._registry_lock:
            if self._registry is None:
                self._registry = tracking.registry_client(self.tracking_uri)
            return self._registry


# Async unless said otherwise: a sync dependency costs a thread hop per request.
async def get_context(request: Request) -> ServingContext:
    """The app's serving context."""
    return request.app.state.context


Context = Annotated[ServingContext, Depends(get_context)]


async def served_dataset(dataset: str, ctx: Context) -> str:
    """The `dataset` path parameter, when this server serves it (NotFoundError otherwise)."""
    if dataset not in ctx.store.datasets:
        raise NotFoundError(f"unknown dataset {dataset!r} "
                            f"(served: {', '.join(ctx.store.datasets)})")
    return dataset


ServedDataset = Annotated[str, Depends(served_dataset)]


# Sync on purpose (run in a worker thread): the first call builds the client, which may block.
def registry_client(ctx: Context) -> MlflowClient:
    """The app's MLflow client (tracking and registry of the configured store)."""
    return ctx.registry


RegistryClient = Annotated[MlflowClient, Depends(registry_client)]


async def require_admin(ctx: Context, authorization: Annotated[str | None, Header()] = None
                        ) -> None:
    """403 when admin is disabled (no HOMEPRICE_ADMIN_TOKEN), 401 on a missing/wrong token."""
    token = ctx.settings.admin_token
    if token is None or not token.get_secret_value():
        raise HTTPException(403, "admin endpoints are disabled: set HOMEPRICE_ADMIN_TOKEN")
    scheme, _, given = (authorization or "").partition(" ")
    expected = token.get_secret_value().encode()
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected):
        raise HTTPException(401, "missing or wrong bearer token",
                            headers={"WWW-Authenticate": "Bearer"})


# For `dependencies=[AdminToken]` on a router: it gates, and hands the handler nothing. The
# app's edge guard (serving/edge.py) checks the same token before the body is read, and counts
# and rate-limits failures; this check keeps every admin route safe on its own.
AdminToken = Depends(require_admin)


def _bearer_matches(authorization: str | None, *tokens: SecretStr | None) -> bool:
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    supplied = given.strip().encode()
    return any(token is not None and token.get_secret_value()
               and hmac.compare_digest(supplied, token.get_secret_value().encode())
               for token in tokens)


async def require_reader(ctx: Context, authorization: Annotated[str | None, Header()] = None
                         ) -> None:
    """When serving.read_token is set: 401 unless the read token (or the admin token) is
    given as a bearer token. Unset: anyone may read."""
    token = ctx.settings.serving.read_token
    if token is None or not token.get_secret_value():
        return
    if not _bearer_matches(authorization, token, ctx.settings.admin_token):
        raise HTTPException(401, "missing or wrong bearer token (serving.read_token)",
                            headers={"WWW-Authenticate": "Bearer"})


ReadToken = Depends(require_reader)

# Declares the feedback token as an HTTP bearer security scheme in the OpenAPI document (so
# clients and API fuzzers know to send it); the checks are ours (401 with WWW-Authenticate).
_feedback_scheme = HTTPBearer(scheme_name="FeedbackToken", auto_error=False,
                              description="HOMEPRICE_FEEDBACK_TOKEN, held by the back office "
                                          "that records sale prices")


async def require_feedback(ctx: Context, credentials: Annotated[
        HTTPAuthorizationCredentials | None, Depends(_feedback_scheme)] = None) -> None:
    """403 when feedback is disabled (no HOMEPRICE_FEEDBACK_TOKEN), 401 on a missing/wrong token
    (the admin token is not accepted: labelling and promoting are separate duties)."""
    token = ctx.settings.feedback_token
    if token is None or not token.get_secret_value():
        raise HTTPException(403, FEEDBACK.disabled)
    given = f"Bearer {credentials.credentials}" if credentials is not None else None
    if not _bearer_matches(given, token):
        raise HTTPException(401, "missing or wrong bearer token",
                            headers={"WWW-Authenticate": "Bearer"})


# On the feedback routes: the edge guard checks the same token before the body is read, and
# counts and rate-limits failures; this check keeps each feedback route safe on its own.
FeedbackToken = Depends(require_feedback)
