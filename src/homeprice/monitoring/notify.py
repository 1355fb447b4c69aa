"""Notifications: a JSON POST to HOMEPRICE_WEBHOOK_URL, retried with backoff, never fatal."""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import urlsplit

import httpx

from homeprice.config import Settings
from homeprice.masking import mask_text, mask_webhook_url, redacted_logs

log = logging.getLogger(__name__)


def _url_secrets(url: str) -> list[str]:
    """The parts of a webhook URL that may carry its token, as they could appear in messages."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return [url]
    pieces = [url, parts.path, parts.query, parts.fragment, parts.username, parts.password]
    # The path's segments too: a message may quote a re-encoded or truncated URL.
    pieces += [segment for segment in parts.path.split("/") if len(segment) >= 8]
    return [piece for piece in pieces if piece and piece not in ("/",)]


def notify(settings: Settings, event: dict[str, Any], attempts: int = 4,
           first_delay: float = 0.5) -> bool:
    """POST `event`; True when delivered. Failures are logged (URL masked), never raised."""
    url = settings.webhook_url
    if not url:
        return False
    # The URL's path and query are the webhook's credential: logs name only its host.
    shown = mask_webhook_url(url)
    secrets = _url_secrets(url)
    delay = first_delay
    for attempt in range(1, attempts + 1):
        try:
            # httpx logs each request's full URL, token included.
            with redacted_logs("httpx", secrets):
                response = httpx.post(url, json=event, timeout=10)
            if response.status_code < 300:
                return True
            problem = f"HTTP {response.status_code}"
        except (httpx.HTTPError, httpx.InvalidURL) as error:
            # httpx quotes the request URL in some messages (invalid URL, redirects).
            problem = mask_text(str(error) or type(error).__name__, secrets)
        log.warning("webhook %s attempt %d/%d failed: %s", shown, attempt, attempts, problem)
        if attempt < attempts:
            time.sleep(delay)
            delay *= 2
    log.error("webhook %s: giving up on %s event", shown, event.get("event", "an"))
    return False
