"""The scraper's state in the lake: listing ids seen, where the walk through the results pages
stands, and the pages of the run not yet merged into the raw zone.

Layout under `scrape/<dataset>/<site>/`:
  state.json             {"seen": [ids], "cursor": {...} | null, "pending": {...} | null}
  runs/<run>/page-N.json one committed page: its URL, new rows kept, rows quarantined

A page commits in two atomic writes: its page file, then state.json naming it (cursor moved
on, its ids added to the pending run). A crash between the two leaves a page file that state
does not name; the resumed run fetches that page again and overwrites the file, so nothing is
counted twice. Rows reach the raw zone only when a run is merged (`Lake.write_raw`), and the
merge is keyed by listing id, so merging the same pages twice adds nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from homeprice.data.lake import Lake
from homeprice.scraping.rows import Row


@dataclass
class Cursor:
    """Where the walk stands: the start URL's index, the next page's URL and index."""

    start: int
    url: str
    page_index: int

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"start": self.start, "url": self.url, "page_index": self.page_index}


@dataclass
class Pending:
    """A run whose committed pages are not merged into the raw zone yet."""

    run: str
    started_at: str
    pages: int = 0
    ids: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "run": self.run,
            "started_at": self.started_at,
            "pages": self.pages,
            "ids": self.ids,
        }


@dataclass
class ScrapeState:
    """Everything a scraper of one site remembers between runs."""

    seen: set[str] = field(default_factory=set)
    cursor: Cursor | None = None
    pending: Pending | None = None

    def known(self, listing_id: str) -> bool:
        """Whether the listing was seen in an earlier run or in the pending one."""
        return listing_id in self.seen or (
            self.pending is not None and listing_id in self._pending_ids()
        )

    def _pending_ids(self) -> set[str]:
        assert self.pending is not None
        cache = self.__dict__.get("_ids_cache")
        if cache is None or cache[0] != len(self.pending.ids):
            cache = (len(self.pending.ids), set(self.pending.ids))
            self.__dict__["_ids_cache"] = cache
        return cache[1]


class StateStore:
    """Reads and commits one site's scraper state in the lake."""

    def __init__(self, lake: Lake, dataset: str, site: str) -> None:
        self.lake = lake
        self.parts = ("scrape", dataset, site)

    def lock(self) -> Any:
        """Held for a whole run: two scrapers of one site would fetch every page twice."""
        return self.lake.exclusive(*self.parts, "run")

    def load(self) -> ScrapeState:
        """The state ({} state when the site was never scraped)."""
        data = self.lake.read_document(*self.parts, "state.json")
        cursor = Cursor(**data["cursor"]) if data.get("cursor") else None
        pending = Pending(**data["pending"]) if data.get("pending") else None
        return ScrapeState(seen=set(data.get("seen", [])), cursor=cursor, pending=pending)

    def save(self, state: ScrapeState) -> None:
        """Replace state.json atomically."""
        self.lake.write_document(
            {
                "seen": sorted(state.seen),
                "cursor": state.cursor.to_dict() if state.cursor else None,
                "pending": state.pending.to_dict() if state.pending else None,
                "updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            },
            *self.parts,
            "state.json",
        )

    def begin(self, state: ScrapeState) -> Pending:
        """The pending run to add pages to: the crashed one if any, else a new one."""
        if state.pending is None:
            state.pending = Pending(
                run=uuid.uuid4().hex[:12],
                started_at=datetime.now(UTC).isoformat(timespec="seconds"),
            )
        return state.pending

    def commit_page(
        self,
        state: ScrapeState,
        url: str,
        kept: list[Row],
        quarantined: list[Row],
        new_ids: list[str],
        cursor: Cursor | None,
    ) -> None:
        """Store one page's rows, then move the cursor and record its ids (in that order)."""
        pending = state.pending
        assert pending is not None
        number = pending.pages + 1
        self.lake.write_document(
            {"url": url, "kept": kept, "quarantined": quarantined},
            *self.parts,
            "runs",
            pending.run,
            f"page-{number:05d}.json",
        )
        pending.pages = number
        pending.ids.extend(new_ids)
        state.cursor = cursor
        self.save(state)

    def pages(self, pending: Pending) -> list[dict[str, Any]]:
        """The committed pages of a pending run, in order."""
        return [
            self.lake.read_document(*self.parts, "runs", pending.run, f"page-{n:05d}.json")
            for n in range(1, pending.pages + 1)
        ]

    def merged(self, state: ScrapeState) -> None:
        """The pending run is in the raw zone: its ids become seen and its pages go."""
        pending = state.pending
        if pending is None:
            return
        state.seen.update(pending.ids)
        state.pending = None
        self.save(state)
        self.lake.remove(*self.parts, "runs", pending.run)
