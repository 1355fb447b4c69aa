"""The fixture portal on 127.0.0.1 and the helpers the scraper tests share."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from homeprice.config import Settings
from homeprice.data.lake import Lake
from homeprice.scraping.run import ScrapeResult, scrape
from homeprice.scraping.siteconfig import SiteConfig
from tests.scraping.portal import Hit, Portal, PortalServer, site_config


@pytest.fixture
def portal() -> Portal:
    """Six results pages of ten real Bengaluru listings (change it before serving)."""
    return Portal()


@pytest.fixture
def server(portal: Portal) -> Iterator[PortalServer]:
    """The portal, served on 127.0.0.1."""
    running = PortalServer(portal)
    yield running
    running.close()


def run_scrape(
    server: PortalServer, settings: Settings, max_pages: int | None = None, **overrides: Any
) -> ScrapeResult:
    """One scraper run against the fixture portal."""
    site = SiteConfig.model_validate(site_config(server.url, **overrides))
    return scrape(site, settings, max_pages=max_pages)


def raw_ids(settings: Settings, sha256: str | None = None) -> list[str]:
    """Listing ids of the latest (or given) raw magicbricks table, in order."""
    lake = Lake(settings.lake_root)
    sha256 = sha256 or lake.raw_manifest("magicbricks")["latest"]
    return list(lake.read_raw("magicbricks", sha256)["listing_id"])


def gaps(hits: list[Hit]) -> list[float]:
    """Seconds between consecutive requests' arrivals."""
    return [b.at - a.at for a, b in zip(hits, hits[1:], strict=False)]
