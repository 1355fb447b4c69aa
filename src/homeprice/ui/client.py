"""The UI's HTTP client of the homeprice API: every page talks to the models through it.

Failures become two exceptions a page can show as one plain sentence: `ApiUnreachable` (no
answer at the URL) and `ApiError` (an answer that is not a success, with the API's reason and,
for 422, the message per field).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx


class ApiUnreachable(Exception):
    """Nothing answers at the API URL."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"The homeprice API is unreachable at {url} ({reason}). Start it with "
                         "`homeprice serve`, or start the UI with `homeprice ui --api-url URL`.")
        self.url = url


@dataclass
class ApiError(Exception):
    """The API answered with an error status."""

    status: int
    message: str
    # 422 only: request field (the last part of the error location) -> message.
    fields: dict[str, str] = field(default_factory=dict)
    # 422 only: the raw error entries ({"loc": [...], "msg": ..., "type": ...}).
    errors: list[dict[str, Any]] = field(default_factory=list)

    def __str__(self) -> str:
        return f"HTTP {self.status}: {self.message}"


def _error_from(response: httpx.Response) -> ApiError:
    """An ApiError from an error response (JSON detail, or the body text)."""
    try:
        body = response.json()
    except ValueError:
        return ApiError(response.status_code, response.text.strip() or response.reason_phrase)
    detail = body.get("detail") if isinstance(body, dict) else body
    if isinstance(detail, list):
        fields = {}
        for entry in detail:
            loc = [str(p) for p in entry.get("loc", ()) if p not in ("body", "single", "batch")]
            fields.setdefault(loc[-1] if loc else "body", str(entry.get("msg", "invalid")))
        message = body.get("message") or "; ".join(f"{k}: {v}" for k, v in fields.items())
        return ApiError(response.status_code, message, fields, detail)
    return ApiError(response.status_code, str(detail))


class ApiClient:
    """Calls of the homeprice API the UI makes, one method each."""

    def __init__(self, base_url: str, timeout: float = 30.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport)

    def _call(self, method: str, path: str, *, json: Any = None, token: str | None = None,
              params: dict[str, Any] | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token is not None else None
        try:
            response = self._http.request(method, path, json=json, params=params,
                                          headers=headers)
        except httpx.TransportError as error:
            raise ApiUnreachable(self.base_url, str(error) or type(error).__name__) from None
        if response.status_code >= 400:
            raise _error_from(response)
        return response

    def _get(self, path: str, **params: Any) -> Any:
        return self._call("GET", path, params=params or None).json()

    # -- service -----------------------------------------------------------------------------
    def openapi(self) -> dict[str, Any]:
        """The API's OpenAPI document (request models with their bounds and choices)."""
        return self._get("/openapi.json")

    def models(self) -> dict[str, Any]:
        """What is loaded per dataset, and its traffic mode."""
        return self._get("/v1/models")

    def metrics_text(self) -> str:
        """The Prometheus exposition text of /metrics."""
        return self._call("GET", "/metrics").text

    # -- predictions -------------------------------------------------------------------------
    def predict(self, dataset: str, home: dict[str, Any]) -> dict[str, Any]:
        """Price one home."""
        return self._call("POST", f"/v1/{dataset}/predict", json=home).json()

    def predict_many(self, dataset: str, homes: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Price several homes in one request (all or none: a bad home fails the request)."""
        return self._call("POST", f"/v1/{dataset}/predict",
                          json={"instances": homes}).json()["predictions"]

    def explain(self, dataset: str, home: dict[str, Any]) -> dict[str, Any]:
        """Per-field contributions to the champion's price of one home."""
        return self._call("POST", f"/v1/{dataset}/explain", json=home).json()

    def comparables(self, dataset: str, home: dict[str, Any], k: int = 5) -> dict[str, Any]:
        """The k most similar training homes of one home, their estimate and range."""
        return self._call("POST", f"/v1/{dataset}/comparables?k={int(k)}", json=home).json()

    # -- insights ----------------------------------------------------------------------------
    def insight(self, dataset: str, name: str, **params: Any) -> Any:
        """GET /v1/insights/{dataset}/{name}: models, ab, replay, traffic, drift, quality,
        locations."""
        return self._get(f"/v1/insights/{dataset}/{name}", **params)

    def replay(self, dataset: str, model: str = "challenger", since: str = "7d"
               ) -> dict[str, Any]:
        """`model` scored offline on logged, labelled requests of the last `since`: the table
        and decision of `ab evaluate`, never applied."""
        return self._get(f"/v1/insights/{dataset}/replay", model=model, since=since)

    def drift_report_html(self, dataset: str) -> bytes:
        """The latest drift check's HTML report."""
        return self._call("GET", f"/v1/insights/{dataset}/drift/report").content

    # -- admin -------------------------------------------------------------------------------
    def promote(self, dataset: str, version: str, reason: str, token: str) -> dict[str, Any]:
        """Make `version` the champion (bearer `token`)."""
        return self._call("POST", f"/v1/admin/{dataset}/promote", token=token,
                          json={"version": version, "reason": reason}).json()

    def rollback(self, dataset: str, reason: str, token: str) -> dict[str, Any]:
        """Give the champion alias back to the previous champion (bearer `token`)."""
        return self._call("POST", f"/v1/admin/{dataset}/rollback", token=token,
                          json={"reason": reason}).json()
