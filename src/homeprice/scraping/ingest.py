"""The scheduled ingest: every configured site scraped once, each result saying whether the
lake got new raw data (what an orchestrator announces so that training follows)."""

from __future__ import annotations

from pathlib import Path

from homeprice.config import Settings
from homeprice.errors import HomepriceError, UserInputError
from homeprice.scraping.run import ScrapeResult, scrape
from homeprice.scraping.siteconfig import load_site_config


class ScrapeRefused(HomepriceError):
    """The site stopped the run (403, CAPTCHA, robots.txt forbids everything): asking again
    soon would be rude, so a scheduler must not retry it."""


def configured_sites(settings: Settings) -> list[Path]:
    """The site configs to scrape (`scraping.sites`), each checked now: a missing or bad file
    fails here, before any site is fetched."""
    if not settings.scraping.sites:
        raise UserInputError(
            "no site configs to scrape: set scraping.sites "
            "(HOMEPRICE_SCRAPING__SITES='[\"config/sites/mine.yaml\"]')"
        )
    for path in settings.scraping.sites:
        load_site_config(path)
    return list(settings.scraping.sites)


def scrape_site(path: Path | str, settings: Settings) -> ScrapeResult:
    """One run of one site config; ScrapeRefused when the site stopped it (what it had
    committed is in the lake all the same)."""
    result = scrape(load_site_config(path), settings, max_pages=settings.scraping.max_pages)
    if result.refused:
        raise ScrapeRefused(f"{result.site}: {result.stopped}")
    return result
