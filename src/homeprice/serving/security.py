"""Security headers per kind of answer, and the bearer-token gates (admin, feedback): a token is
checked from the headers alone (before any body is read), failures are logged without the
token, counted, and a client address that keeps failing is locked out for a while."""

from __future__ import annotations

import hmac
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import SecretStr

from homeprice.config import ServingSettings
from homeprice.errors import UserInputError

log = logging.getLogger(__name__)

_COMMON = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    # Predictions, admin answers and errors are per request: no shared cache may keep them.
    "cache-control": "no-store",
}
# JSON and plain text: a browser tricked into rendering one may run, load or embed nothing.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# Evidently's report is one self-contained file: its React/Plotly bundle and data are inline
# <script> blocks, its styles are inline or injected at run time, its icon font and plot
# images are data:/blob: URLs. Nothing may be fetched or sent anywhere (connect-src 'none',
# no remote origin), so even a script injected into its data could not exfiltrate.
REPORT_CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
              "img-src data: blob:; font-src data:; connect-src 'none'; "
              "frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
# FastAPI's /docs (Swagger UI) and /redoc load their bundles from jsDelivr and start them
# with an inline script, then fetch /openapi.json from this origin.
DOCS_CSP = ("default-src 'none'; script-src 'unsafe-inline' https://cdn.jsdelivr.net; "
            "style-src 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
            "font-src https://fonts.gstatic.com; img-src 'self' data: https:; "
            "connect-src 'self'; worker-src blob:; frame-ancestors 'none'; base-uri 'none'; "
            "form-action 'none'")
_DOCS_PATHS = ("/docs", "/docs/oauth2-redirect", "/redoc")


def _raw(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]


_API_HEADERS = _raw(_COMMON | {"content-security-policy": API_CSP})
_REPORT_HEADERS = _raw(_COMMON | {"content-security-policy": REPORT_CSP})
# The docs pages may be revalidated (they only change with a deployment).
_DOCS_HEADERS = _raw(_COMMON | {"content-security-policy": DOCS_CSP, "cache-control": "no-cache"})


def security_headers(path: str) -> list[tuple[bytes, bytes]]:
    """The security headers of an answer to `path` (added where the app set none)."""
    if path.startswith("/v1/insights/") and path.endswith("/drift/report"):
        return _REPORT_HEADERS
    if path in _DOCS_PATHS:
        return _DOCS_HEADERS
    return _API_HEADERS


def check_token(variable: str, token: SecretStr | None, minimum: int) -> None:
    """Refuse to start with a bearer token (named by its environment `variable`) shorter than
    `minimum` characters; an unset token is allowed (its endpoints are then disabled)."""
    if token is None or not token.get_secret_value():
        return
    length = len(token.get_secret_value())
    if length < minimum:
        raise UserInputError(f"{variable} is {length} characters long; at least "
                             f"{minimum} are required (serving.admin_token_min_length): "
                             "generate one with `python -c 'import secrets; "
                             "print(secrets.token_urlsafe(32))'`")


def check_admin_token(token: SecretStr | None, minimum: int) -> None:
    """Refuse to start with an admin token shorter than `minimum` characters."""
    check_token("HOMEPRICE_ADMIN_TOKEN", token, minimum)


@dataclass(frozen=True)
class Refusal:
    """An answer to send instead of calling the app."""

    status: int
    detail: str
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class GatedDuty:
    """What a token gate guards: named in its log lines and answers."""

    # "admin" or "feedback": the log lines say "<name> authentication failed".
    name: str
    # The environment variable that sets the token, named when it is unset.
    variable: str
    # The answer's detail when the token is unset (the endpoints fail closed).
    disabled: str


ADMIN = GatedDuty("admin", "HOMEPRICE_ADMIN_TOKEN",
                  "admin endpoints are disabled: set HOMEPRICE_ADMIN_TOKEN")
FEEDBACK = GatedDuty("feedback", "HOMEPRICE_FEEDBACK_TOKEN",
                     "feedback is disabled: set HOMEPRICE_FEEDBACK_TOKEN (labels come from a "
                     "trusted back office, which sends it as a bearer token)")


class TokenGate:
    """Checks one duty's bearer token of a request from its headers and rate-limits failures
    per client address (in this process; several workers each keep their own count). Each
    gate keeps its own counts: a lockout from feedback does not lock admin out, nor back."""

    # Bounds the memory an attacker spraying from many addresses can take.
    MAX_TRACKED = 10_000

    def __init__(self, token: SecretStr | None, serving: ServingSettings,
                 on_failure: Callable[[str], None] = lambda reason: None,
                 clock: Callable[[], float] = time.monotonic, duty: GatedDuty = ADMIN) -> None:
        value = token.get_secret_value() if token is not None else ""
        self._expected = value.encode() if value else None
        self._duty = duty
        self._max_failures = serving.admin_max_failures
        self._window = serving.admin_failure_window_seconds
        self._lockout = serving.admin_lockout_seconds
        self._on_failure = on_failure
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._locked_until: dict[str, float] = {}

    def check(self, client: str, authorization: str | None, method: str, path: str
              ) -> Refusal | None:
        """None when the request may proceed, else the answer refusing it."""
        if self._expected is None:
            return Refusal(403, self._duty.disabled)
        now = self._clock()
        until = self._locked_until.get(client)
        if until is not None:
            if now < until:
                self._failed(client, "locked_out", method, path)
                return Refusal(429, f"too many failed {self._duty.name} attempts from this "
                                    "address; try again later",
                               (("retry-after", str(max(1, round(until - now)))),))
            del self._locked_until[client]
        scheme, _, given = (authorization or "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(),
                                                              self._expected):
            self._failures.pop(client, None)
            return None
        reason = "missing" if not authorization else "wrong"
        self._failed(client, reason, method, path)
        self._remember(client, now)
        return Refusal(401, "missing or wrong bearer token", (("www-authenticate", "Bearer"),))

    def _failed(self, client: str, reason: str, method: str, path: str) -> None:
        # Never the supplied header: a near-miss token in a log is a leaked token.
        log.warning("%s authentication failed (%s) from %s: %s %s", self._duty.name, reason,
                    client, method, path)
        self._on_failure(reason)

    def _remember(self, client: str, now: float) -> None:
        if len(self._failures) >= self.MAX_TRACKED:
            self._forget_old(now)
        recent = self._failures.setdefault(client, deque())
        recent.append(now)
        while recent and recent[0] <= now - self._window:
            recent.popleft()
        if len(recent) >= self._max_failures:
            self._locked_until[client] = now + self._lockout
            self._failures.pop(client, None)
            log.warning("%s locked out for %s after %d failures within %g s (for %g s)",
                        self._duty.name, client, self._max_failures, self._window,
                        self._lockout)

    def _forget_old(self, now: float) -> None:
        self._failures = {c: times for c, times in self._failures.items()
                          if times and times[-1] > now - self._window}
        self._locked_until = {c: t for c, t in self._locked_until.items() if t > now}
        if len(self._failures) >= self.MAX_TRACKED:
            self._failures.clear()
