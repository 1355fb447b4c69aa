"""Politeness rules: one request per interval per host, and retries that back off.

The interval is counted from the end of the previous request to the start of the next, so the
gap the host sees between two requests is never shorter, whatever the network latency. Retries
(tenacity) cover what httpx's transport retries do not: 429 and 5xx answers, timeouts and
dropped connections, with exponential backoff plus jitter, or the server's Retry-After when
that asks for longer.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx
from tenacity import RetryCallState, wait_exponential_jitter
from tenacity.wait import wait_base

log = logging.getLogger(__name__)

# Statuses worth another attempt later: throttled, or the server failing for now.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# Errors of the connection itself that another attempt may not meet.
RETRY_ERRORS = (httpx.TimeoutException, httpx.TransportError)


class RetryableStatus(Exception):
    """The server answered a status worth retrying (429, 5xx), maybe with a Retry-After."""

    def __init__(self, url: str, status: int, retry_after: float | None) -> None:
        super().__init__(f"{url}: HTTP {status}")
        self.url = url
        self.status = status
        self.retry_after = retry_after


def retry_after_seconds(header: str | None, now: datetime | None = None) -> float | None:
    """Seconds a Retry-After header asks for: delta-seconds or an HTTP date (RFC 9110 10.2.3);
    None when absent or unreadable."""
    if header is None:
        return None
    text = header.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class HostRateLimiter:
    """At most one request per interval to each host, from the end of one to the start of the
    next; a host's interval can only be lengthened (by its robots.txt), never shortened."""

    def __init__(
        self,
        interval: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = interval
        self._clock = clock
        self._sleep = sleep
        self._intervals: dict[str, float] = {}
        self._last_end: dict[str, float] = {}
        self._lock = threading.Lock()

    def slow_down(self, host: str, seconds: float) -> None:
        """Make the interval for `host` at least `seconds` (a crawl-delay)."""
        self._intervals[host] = max(self.interval_for(host), seconds)

    def interval_for(self, host: str) -> float:
        """Seconds between the end of one request to `host` and the start of the next."""
        return self._intervals.get(host, self.interval)

    @contextmanager
    def slot(self, host: str) -> Iterator[None]:
        """Wait for `host`'s turn, then hold it for one request (ends when the block does)."""
        with self._lock:
            last = self._last_end.get(host)
            if last is not None:
                wait = last + self.interval_for(host) - self._clock()
                if wait > 0:
                    self._sleep(wait)
            try:
                yield
            finally:
                self._last_end[host] = self._clock()


class BackoffOrRetryAfter(wait_base):
    """Exponential backoff with jitter, or the server's Retry-After when it asks for longer."""

    def __init__(self, base: float, maximum: float, jitter: float) -> None:
        self._backoff = wait_exponential_jitter(initial=base, max=maximum, jitter=jitter)

    def __call__(self, retry_state: RetryCallState) -> float:
        backoff = self._backoff(retry_state)
        error = retry_state.outcome.exception() if retry_state.outcome else None
        asked = getattr(error, "retry_after", None) or 0.0
        return max(backoff, asked)


def log_retry(retry_state: RetryCallState) -> None:
    """One warning per retry: what failed and how long we wait."""
    error = retry_state.outcome.exception() if retry_state.outcome else None
    wait = retry_state.next_action.sleep if retry_state.next_action else 0.0
    log.warning("%s; attempt %d failed, next in %.1f s", error, retry_state.attempt_number, wait)
