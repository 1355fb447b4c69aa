"""robots.txt by the book (RFC 9309), parsed with Protego.

Protego rather than urllib.robotparser: the standard library applies the first matching rule
instead of the most specific one (so `Allow: /a/b` after `Disallow: /a` is ignored) and has no
timeout. What an answer means (RFC 9309 2.3.1): 2xx, the rules it holds; 4xx, no rules
(everything allowed); 5xx or no answer at all, everything disallowed.
"""

from __future__ import annotations

from dataclasses import dataclass

from protego import Protego

# RFC 9309 2.5: crawlers must parse at least 500 KiB; beyond that a file may be cut.
MAX_ROBOTS_BYTES = 500 * 1024
# The product token our User-Agent starts with; robots.txt groups name it.
AGENT_TOKEN = "homeprice"


@dataclass(frozen=True)
class RobotsPolicy:
    """What one origin's robots.txt allows us."""

    origin: str
    # How the file was read: "rules", "HTTP 404: everything allowed", "HTTP 500: ..."
    reason: str
    rules: Protego | None = None
    allow_all: bool = False

    def can_fetch(self, url: str) -> bool:
        """Whether robots.txt lets us fetch `url`."""
        if self.rules is None:
            return self.allow_all
        return bool(self.rules.can_fetch(url, AGENT_TOKEN))

    def delay(self) -> float | None:
        """The seconds between requests it asks for (Crawl-delay or Request-rate), if any."""
        if self.rules is None:
            return None
        delays = []
        if (crawl_delay := self.rules.crawl_delay(AGENT_TOKEN)) is not None:
            delays.append(float(crawl_delay))
        if (rate := self.rules.request_rate(AGENT_TOKEN)) is not None and rate.requests:
            delays.append(rate.seconds / rate.requests)
        return max(delays) if delays else None


def from_answer(
    origin: str, status: int | None, body: bytes = b"", error: str | None = None
) -> RobotsPolicy:
    """The policy an answer to GET /robots.txt gives (status None: no answer, `error` says why)."""
    if status is None:
        return RobotsPolicy(origin, f"unreachable ({error}): nothing allowed")
    if 200 <= status < 300:
        text = body[:MAX_ROBOTS_BYTES].decode("utf-8", errors="replace")
        return RobotsPolicy(origin, "rules", rules=Protego.parse(text))
    if 400 <= status < 500:
        return RobotsPolicy(
            origin, f"HTTP {status}: no robots.txt, everything allowed", allow_all=True
        )
    return RobotsPolicy(origin, f"HTTP {status}: nothing allowed")
