"""One scraper run: walk the results pages of a site config politely, commit each page to the
lake's scraper state, then merge the new listings into a new raw table of the dataset.

The walk resumes where the last run stopped (a crash, the page cap, a refusal), and each start
URL's walk ends at its last page or at a page mostly known already (portals list the newest
first). The raw table a run writes holds every listing kept so far (the dataset's previous
raw table plus the new rows), so the pipeline, which trains on the latest raw table, trains on
all of them.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pandas as pd

from homeprice.config import Settings
from homeprice.data.lake import Lake
from homeprice.errors import LakeError
from homeprice.scraping.extraction import ExtractionError, extract, page_text
from homeprice.scraping.fetching import PageFetcher, PageUnavailable, ScrapeStopped
from homeprice.scraping.listing import ID_FIELD, PROPERTY_FIELDS
from homeprice.scraping.politeness import HostRateLimiter
from homeprice.scraping.rows import sort_rows
from homeprice.scraping.siteconfig import SiteConfig
from homeprice.scraping.state import Cursor, ScrapeState, StateStore

log = logging.getLogger(__name__)

# Columns of the raw table: the allowlisted property fields and when the listing was scraped.
RAW_COLUMNS = (*PROPERTY_FIELDS, "scraped_at")
QUARANTINE_COLUMNS = (*PROPERTY_FIELDS, "reason", "page_url", "scraped_at")


@dataclass
class ScrapeResult:
    """What a run did: pages, requests, listings new and known, what it wrote, why it stopped."""

    site: str
    dataset: str
    pages: int = 0
    requests: int = 0
    listings_new: int = 0
    listings_known: int = 0
    quarantined: int = 0
    seconds: float = 0.0
    resumed: bool = False
    # The raw table written (None when there was nothing new) and whether it is new bytes.
    raw_sha256: str | None = None
    raw_rows: int = 0
    raw_new: bool = False
    quarantine_path: str | None = None
    # Why the walk ended early: the site refused us, retries ran out, the page cap...
    stopped: str | None = None
    # True when the site stopped us (403, CAPTCHA, robots.txt forbids everything): a failure.
    refused: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def listings_per_second(self) -> float:
        """New and known listings read per second of the run."""
        read = self.listings_new + self.listings_known + self.quarantined
        return read / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return asdict(self) | {"listings_per_second": round(self.listings_per_second, 3)}


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("homeprice")
    except PackageNotFoundError:
        return "0"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _csv_sha256(frame: pd.DataFrame) -> str:
    """The raw table's identity: sha256 of its CSV form (a source file's is of its bytes)."""
    return hashlib.sha256(frame.to_csv(index=False).encode()).hexdigest()


class _Walk:
    """The page walk of one run (its state, fetcher and counters)."""

    def __init__(
        self,
        site: SiteConfig,
        store: StateStore,
        state: ScrapeState,
        fetcher: PageFetcher,
        result: ScrapeResult,
        max_pages: int,
    ) -> None:
        self.site = site
        self.store = store
        self.state = state
        self.fetcher = fetcher
        self.result = result
        self.max_pages = max_pages

    def run(self) -> None:
        cursor = self.state.cursor or Cursor(0, self.site.start_urls[0], 0)
        while cursor is not None:
            if self.result.pages >= self.max_pages:
                self.result.stopped = (
                    f"page cap of {self.max_pages} reached; the next run continues at {cursor.url}"
                )
                self.state.cursor = cursor
                return
            cursor = self._page(cursor)
        self.state.cursor = None

    def _next_start(self, cursor: Cursor) -> Cursor | None:
        start = cursor.start + 1
        if start >= len(self.site.start_urls):
            return None
        return Cursor(start, self.site.start_urls[start], 0)

    def _page(self, cursor: Cursor) -> Cursor | None:
        """Fetch, extract and commit one page; the cursor after it (None: walk over)."""
        url = cursor.url
        if not self.fetcher.allowed(url):
            robots = self.fetcher.robots(url)
            self.result.notes.append(f"{url}: disallowed by robots.txt ({robots.reason}); skipped")
            if robots.rules is None and not robots.allow_all:
                # robots.txt could not be read (5xx, no answer): RFC 9309 says stay away.
                self.result.refused = True
                self.result.stopped = f"robots.txt of {robots.origin}: {robots.reason}"
            self._skip(cursor)
            return self._next_start(cursor)
        try:
            page = self.fetcher.get(url)
        except PageUnavailable as error:
            if error.status == 404 and cursor.page_index > 0:
                # Past the last results page.
                return self._skip_to(self._next_start(cursor))
            if error.status is not None and 400 <= error.status < 500:
                self.result.notes.append(f"{error}; skipped")
                return self._skip_to(self._next_start(cursor))
            raise
        try:
            extracted = extract(page.url, page.text, self.site, cursor.page_index)
        except ExtractionError as error:
            raise ScrapeStopped(f"{url}: {error}; the site config may need updating") from None
        if not extracted.listings:
            lowered = page_text(page.text).lower()
            if marker := next(
                (m for m in self.site.politeness.captcha_markers if m.lower() in lowered), None
            ):
                raise ScrapeStopped(
                    f"{url}: a CAPTCHA or bot check ({marker!r}); stopping (not evading)"
                )
            return self._skip_to(self._next_start(cursor))
        return self._commit(cursor, page.url, extracted.listings, extracted.next_url)

    def _skip(self, cursor: Cursor) -> None:
        self.state.cursor = self._next_start(cursor)

    def _skip_to(self, cursor: Cursor | None) -> Cursor | None:
        """Move the stored cursor without a page (a start URL that ended)."""
        self.state.cursor = cursor
        self.store.save(self.state)
        return cursor

    def _commit(
        self, cursor: Cursor, url: str, listings: list[dict[str, str | None]], next_url: str | None
    ) -> Cursor | None:
        rows = sort_rows(listings, self.site)
        now = _now()
        kept, quarantined, new_ids, known = [], [], [], 0
        for row in rows.kept:
            listing_id = str(row[ID_FIELD])
            if self.state.known(listing_id) or listing_id in new_ids:
                known += 1
                continue
            kept.append(row | {"scraped_at": now})
            new_ids.append(listing_id)
        for row in rows.quarantined:
            listing_id = row.get(ID_FIELD)
            if listing_id and (self.state.known(listing_id) or listing_id in new_ids):
                known += 1
                continue
            quarantined.append(row | {"page_url": url, "scraped_at": now})
            if listing_id:
                new_ids.append(listing_id)
        # Of the listings that have an id: one without cannot be recognised as known.
        share_known = known / max(1, len(rows.ids()))
        ended = next_url is None or share_known >= self.site.stop_when_known
        following = (
            self._next_start(cursor)
            if ended
            else Cursor(cursor.start, next_url, cursor.page_index + 1)
        )
        self.store.commit_page(self.state, url, kept, quarantined, new_ids, following)
        self.result.pages += 1
        self.result.listings_new += len(kept)
        self.result.quarantined += len(quarantined)
        self.result.listings_known += known
        log.info("%s: %d new, %d known, %d quarantined", url, len(kept), known, len(quarantined))
        if share_known >= self.site.stop_when_known:
            self.result.notes.append(
                f"{url}: {share_known:.0%} of its listings known; "
                "the rest of this walk is known too"
            )
        return following


def _merge(
    lake: Lake, store: StateStore, state: ScrapeState, site: SiteConfig, result: ScrapeResult
) -> None:
    """Write the pending run's rows into a new raw table (and its quarantine), then forget it."""
    pending = state.pending
    if pending is None:
        return
    pages = store.pages(pending)
    kept = [row for page in pages for row in page["kept"]]
    quarantined = [row for page in pages for row in page["quarantined"]]
    if kept:
        new = pd.DataFrame(kept, columns=list(RAW_COLUMNS)).astype("string")
        manifest = lake.raw_manifest(site.dataset)
        frames = [new]
        if manifest.get("latest"):
            previous = lake.read_raw(site.dataset, manifest["latest"])
            frames.insert(0, previous.reindex(columns=list(RAW_COLUMNS)).astype("string"))
        table = (
            pd.concat(frames, ignore_index=True)
            .drop_duplicates(subset=[ID_FIELD], keep="first")
            .reset_index(drop=True)
        )
        sha256 = _csv_sha256(table)
        result.raw_new = sha256 not in manifest.get("entries", {})
        lake.write_raw(site.dataset, sha256, table, f"scrape:{site.name}")
        result.raw_sha256, result.raw_rows = sha256, len(table)
    if quarantined:
        frame = pd.DataFrame(quarantined, columns=list(QUARANTINE_COLUMNS)).astype("string")
        result.quarantine_path = lake.write_table(
            frame, "quarantine", site.dataset, f"{pending.run}.parquet"
        )
    store.merged(state)


def scrape(
    site: SiteConfig,
    settings: Settings,
    max_pages: int | None = None,
    transport: httpx.BaseTransport | None = None,
    limiter: HostRateLimiter | None = None,
) -> ScrapeResult:
    """Run the scraper of `site` once: walk, commit per page, merge into the raw zone.

    `max_pages` lowers the site's page cap for this run. A run the site stops (403, CAPTCHA,
    Retry-After beyond the limit, retries exhausted) keeps what it committed, merges it, and
    says why in `stopped`; the next run resumes the walk there.
    """
    cap = min(max_pages or site.max_pages, site.max_pages)
    lake = Lake(settings.lake_root)
    store = StateStore(lake, site.dataset, site.name)
    result = ScrapeResult(site=site.name, dataset=site.dataset)
    started = time.monotonic()
    with store.lock():
        state = store.load()
        result.resumed = state.cursor is not None or state.pending is not None
        store.begin(state)
        fetcher = PageFetcher(
            site.politeness, site.user_agent(_version()), limiter=limiter, transport=transport
        )
        with fetcher:
            try:
                _Walk(site, store, state, fetcher, result, cap).run()
            except ScrapeStopped as error:
                result.stopped, result.refused = str(error), True
            except PageUnavailable as error:
                result.stopped = f"{error}; the next run resumes at this page"
            finally:
                result.requests = fetcher.requests
            store.save(state)
        try:
            _merge(lake, store, state, site, result)
        except (OSError, ValueError) as error:
            raise LakeError(
                f"scrape of {site.name}: could not write to the lake {lake.url}: {error}"
            ) from None
    result.seconds = time.monotonic() - started
    return result
