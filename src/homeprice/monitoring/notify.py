"""Notifications: a JSON POST to HOMEPRICE_WEBHOOK_URL, retried with backoff, never fatal."""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx

from homeprice.config import Settings

log = logging.getLogger(__name__)


def notify(settings: Settings, event: dict[str, Any], attempts: int = 4,
           first_delay: float = 0.5) -> bool:
    """POST `event`; True when delivered. Failures are logged, never raised."""
    url = settings.webhook_url
    if not url:
        return False
    delay = first_delay
    for attempt in range(1, attempts + 1):
        try:
            response = httpx.post(url, json=event, timeout=10)
            if response.status_code < 300:
                return True
            problem = f"HTTP {response.status_code}"
        except httpx.HTTPError as error:
            problem = str(error) or type(error).__name__
        log.warning("webhook %s attempt %d/%d failed: %s", url, attempt, attempts, problem)
        if attempt < attempts:
            time.sleep(delay)
            delay *= 2
    log.error("webhook %s: giving up on %s event", url, event.get("event", "an"))
    return False
