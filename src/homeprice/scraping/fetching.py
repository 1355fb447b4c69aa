"""Fetching pages politely: robots.txt first, one request per interval per host, bounded
bodies, retries with backoff, and a stop (never an evasion) when the site refuses us."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt

from homeprice.scraping.politeness import (
    RETRY_ERRORS,
    RETRY_STATUSES,
    BackoffOrRetryAfter,
    HostRateLimiter,
    RetryableStatus,
    log_retry,
    retry_after_seconds,
)
from homeprice.scraping.robots import MAX_ROBOTS_BYTES, RobotsPolicy, from_answer
from homeprice.scraping.siteconfig import Politeness

log = logging.getLogger(__name__)

# Statuses by which a site says "not you": we stop rather than try to get around them.
REFUSED_STATUSES = frozenset({401, 403, 407, 451})
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5


class ScrapeStopped(Exception):
    """The run must stop: the site refused us, showed a CAPTCHA, or asked us to go away."""


class PageUnavailable(Exception):
    """A page could not be had (gone, off-site redirect, retries exhausted); `status` if any."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Page:
    """A fetched page."""

    url: str
    status: int
    text: str


def origin_of(url: str) -> str:
    """scheme://host[:port] of a URL."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class PageFetcher:
    """GETs pages within the rules: robots.txt, the per-host interval, retries, size bounds."""

    def __init__(
        self,
        politeness: Politeness,
        user_agent: str,
        limiter: HostRateLimiter | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.politeness = politeness
        self.limiter = limiter or HostRateLimiter(1.0 / politeness.rate_per_second)
        self._robots: dict[str, RobotsPolicy] = {}
        self.requests = 0
        self._client = httpx.Client(
            headers={"User-Agent": user_agent, "Accept": "text/html,application/xhtml+xml"},
            timeout=httpx.Timeout(politeness.timeout_seconds),
            # One connection per host at a time is all a polite crawler needs.
            limits=httpx.Limits(max_connections=4, max_keepalive_connections=2),
            follow_redirects=False,
            max_redirects=MAX_REDIRECTS,
            transport=transport,
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def __enter__(self) -> PageFetcher:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- robots.txt ------------------------------------------------------------------------
    def robots(self, url: str) -> RobotsPolicy:
        """The robots.txt policy of `url`'s origin (fetched once; its crawl-delay applied)."""
        origin = origin_of(url)
        if origin not in self._robots:
            policy = self._fetch_robots(origin)
            log.info("robots.txt of %s: %s", origin, policy.reason)
            if (delay := policy.delay()) is not None:
                self.limiter.slow_down(urlsplit(origin).hostname or "", delay)
            self._robots[origin] = policy
        return self._robots[origin]

    def _fetch_robots(self, origin: str) -> RobotsPolicy:
        url = f"{origin}/robots.txt"
        try:
            # RFC 9309 2.3.1.2: follow at least five redirects for robots.txt.
            status, body = self._send(url, MAX_ROBOTS_BYTES, follow=True, cut=True)
        except (httpx.HTTPError, PageUnavailable) as error:
            return from_answer(origin, None, error=type(error).__name__)
        return from_answer(origin, status, body)

    def allowed(self, url: str) -> bool:
        """Whether robots.txt lets us fetch `url`."""
        return self.robots(url).can_fetch(url)

    # -- pages -----------------------------------------------------------------------------
    def get(self, url: str) -> Page:
        """A page, following same-site redirects that robots.txt allows; ScrapeStopped when the
        site refuses us, PageUnavailable when the page cannot be had."""
        for _ in range(MAX_REDIRECTS + 1):
            if not self.allowed(url):
                raise PageUnavailable(f"{url}: disallowed by robots.txt")
            status, body, location = self._get_with_retries(url)
            if status in _REDIRECTS and location:
                target = urljoin(url, location)
                if origin_of(target) != origin_of(url):
                    raise PageUnavailable(
                        f"{url}: redirected off-site to {target}; not followed", status
                    )
                url = target
                continue
            if status in REFUSED_STATUSES:
                raise ScrapeStopped(
                    f"{url}: HTTP {status}: the site refuses us; stopping (not retrying or evading)"
                )
            if not 200 <= status < 300:
                raise PageUnavailable(f"{url}: HTTP {status}", status)
            return Page(url=url, status=status, text=body.decode("utf-8", errors="replace"))
        raise PageUnavailable(f"{url}: more than {MAX_REDIRECTS} redirects")

    def _get_with_retries(self, url: str) -> tuple[int, bytes, str | None]:
        politeness = self.politeness
        retrying = Retrying(
            stop=stop_after_attempt(politeness.max_attempts),
            wait=BackoffOrRetryAfter(
                politeness.backoff_base_seconds,
                politeness.backoff_max_seconds,
                politeness.jitter_seconds,
            ),
            retry=retry_if_exception_type((RetryableStatus, *RETRY_ERRORS)),
            before_sleep=log_retry,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    return self._attempt(url)
        except RetryableStatus as error:
            raise PageUnavailable(
                f"{url}: HTTP {error.status} after {politeness.max_attempts} attempts", error.status
            ) from None
        except RETRY_ERRORS as error:
            raise PageUnavailable(
                f"{url}: {type(error).__name__} after {politeness.max_attempts} attempts"
            ) from None
        raise AssertionError("unreachable: tenacity returns or raises")  # pragma: no cover

    def _attempt(self, url: str) -> tuple[int, bytes, str | None]:
        status, body, headers = self._exchange(url, self.politeness.max_page_bytes)
        if status in RETRY_STATUSES:
            asked = retry_after_seconds(headers.get("retry-after"))
            if asked is not None and asked > self.politeness.max_retry_after_seconds:
                raise ScrapeStopped(
                    f"{url}: HTTP {status} asks us to come back in {asked:.0f} s "
                    f"(more than {self.politeness.max_retry_after_seconds:.0f} s);"
                    " stopping"
                )
            raise RetryableStatus(url, status, asked)
        return status, body, headers.get("location")

    def _send(
        self, url: str, max_bytes: int, follow: bool = False, cut: bool = False
    ) -> tuple[int, bytes]:
        status, body, _ = self._exchange(url, max_bytes, follow=follow, cut=cut)
        return status, body

    def _exchange(
        self, url: str, max_bytes: int, follow: bool = False, cut: bool = False
    ) -> tuple[int, bytes, httpx.Headers]:
        """One request in the host's slot; the body read up to `max_bytes` (beyond: cut, or
        PageUnavailable)."""
        host = urlsplit(url).hostname or ""
        with self.limiter.slot(host):
            self.requests += 1
            with self._client.stream("GET", url, follow_redirects=follow) as response:
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        if cut:
                            chunks.append(chunk[: max_bytes - (size - len(chunk))])
                            break
                        raise PageUnavailable(
                            f"{url}: larger than {max_bytes:,} bytes; refused", response.status_code
                        )
                    chunks.append(chunk)
                return response.status_code, b"".join(chunks), response.headers
