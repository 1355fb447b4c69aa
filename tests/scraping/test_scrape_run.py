"""A scraper run against the fixture portal: exactly the allowed listings, once each, nothing
personal stored, malformed rows quarantined with their reason, incremental runs."""

from __future__ import annotations

import pandas as pd
import pytest

from homeprice.config import Settings
from homeprice.data.lake import Lake
from homeprice.scraping.listing import PROPERTY_FIELDS
from homeprice.scraping.run import RAW_COLUMNS
from tests.support.portal import (
    DISALLOWED_PATH,
    RESULTS_PATH,
    Portal,
    PortalServer,
    raw_ids,
    run_scrape,
)

pytestmark = pytest.mark.network_local


def test_collects_exactly_the_allowed_listings_once(
    portal: Portal, server: PortalServer, settings: Settings
) -> None:
    result = run_scrape(server, settings)
    ids = raw_ids(settings)
    assert len(ids) == len(set(ids))
    assert set(ids) == portal.expected_kept_ids()
    assert result.listings_new == len(ids) and result.raw_rows == len(ids) and result.raw_new
    assert result.pages == 6 and result.stopped is None and not result.refused
    # robots.txt first, then the results pages in order, never the disallowed path.
    paths = [hit.path for hit in portal.hits]
    assert paths[0] == "/robots.txt"
    assert paths[1:] == [f"{RESULTS_PATH}?page={n}" for n in range(1, 8)]
    assert not any(path.startswith(DISALLOWED_PATH) for path in paths)
    assert any("disallowed by robots.txt" in note for note in result.notes)
    # Every request names homeprice and whom to contact.
    assert {hit.user_agent for hit in portal.hits} == {
        "homeprice/0.1.0 (+https://github.com/homeprice/homeprice)"
    }


def test_malformed_listings_are_quarantined_with_their_reason(
    portal: Portal, server: PortalServer, settings: Settings
) -> None:
    result = run_scrape(server, settings)
    quarantine = pd.read_parquet(result.quarantine_path)
    assert result.quarantined == len(quarantine) == 4
    assert set(quarantine["listing_id"].dropna()) == portal.expected_quarantined_ids()
    assert sorted(quarantine["reason"]) == sorted(
        [
            "no listing_id",
            "locality holds a phone number (redacted)",
            "price 'Price on Request' does not match "
            r"(?:₹\s*)?[0-9][0-9.,]*\s*(?:Lac|Lakh|Cr|Crore)s?",
            "missing bhk",
        ]
    )
    # The redacted locality keeps the place and loses the number.
    locality = quarantine.loc[quarantine["reason"].str.startswith("locality"), "locality"]
    assert locality.iloc[0].endswith(", call [redacted]")


def test_nothing_personal_reaches_the_lake(
    portal: Portal, server: PortalServer, settings: Settings, home
) -> None:
    result = run_scrape(server, settings)
    raw = Lake(settings.lake_root).read_raw("magicbricks", result.raw_sha256)
    assert tuple(raw.columns) == RAW_COLUMNS
    assert set(raw.columns) - {"scraped_at"} <= set(PROPERTY_FIELDS)
    # No agent name, phone or e-mail anywhere in the lake: tables, state, manifests.
    stored = b"".join(path.read_bytes() for path in (home / "lake").rglob("*") if path.is_file())
    lowered = stored.lower()
    for value in portal.personal_values():
        assert value.lower().encode() not in lowered, value
    assert b"@realty-example.in" not in lowered and b"agent" not in lowered


def test_a_second_run_stops_at_known_listings_and_adds_only_new_ones(
    portal: Portal, server: PortalServer, settings: Settings
) -> None:
    first = run_scrape(server, settings)
    portal.hits.clear()
    new_ids = portal.prepend(4)
    second = run_scrape(server, settings)
    # Page 1 now holds 4 new listings, 5 known and 1 without an id (it cannot be known, so it
    # is quarantined again): mostly known, so the walk ends there.
    assert [hit.path for hit in portal.results_requests()] == [f"{RESULTS_PATH}?page=1"]
    assert second.listings_new == 4 and second.listings_known == 5 and second.quarantined == 1
    ids = raw_ids(settings)
    assert len(ids) == len(set(ids))
    assert set(ids) == set(raw_ids(settings, first.raw_sha256)) | set(new_ids)
    assert second.raw_sha256 != first.raw_sha256 and second.raw_new
    # Nothing new at all: no new raw table.
    third = run_scrape(server, settings)
    assert third.listings_new == 0 and third.raw_sha256 is None


def test_the_page_cap_stops_a_run_and_the_next_continues_the_walk(
    portal: Portal, server: PortalServer, settings: Settings
) -> None:
    capped = run_scrape(server, settings, max_pages=2)
    assert capped.pages == 2 and "page cap of 2" in (capped.stopped or "")
    assert not capped.refused
    assert len(raw_ids(settings)) == 18  # pages 1 and 2, one malformed listing each
    portal.hits.clear()
    rest = run_scrape(server, settings)
    assert rest.resumed
    assert [hit.path for hit in portal.results_requests()][0] == f"{RESULTS_PATH}?page=3"
    ids = raw_ids(settings)
    assert len(ids) == len(set(ids)) and set(ids) == portal.expected_kept_ids()


def test_a_403_stops_the_run_without_retrying_and_keeps_what_it_had(
    portal: Portal, server: PortalServer, settings: Settings
) -> None:
    portal.forbidden_page = 3
    result = run_scrape(server, settings)
    assert result.refused and "HTTP 403" in (result.stopped or "")
    assert [hit.path for hit in portal.results_requests()] == [
        f"{RESULTS_PATH}?page={n}" for n in (1, 2, 3)
    ]
    assert len(raw_ids(settings)) == 18


def test_a_captcha_page_stops_the_run(
    portal: Portal, server: PortalServer, settings: Settings
) -> None:
    portal.captcha_page = 2
    result = run_scrape(server, settings)
    assert result.refused and "CAPTCHA" in (result.stopped or "")
    assert len(portal.results_requests()) == 2
    assert len(raw_ids(settings)) == 9


def test_robots_txt_answering_500_means_no_listing_page_is_fetched(
    portal: Portal, server: PortalServer, settings: Settings
) -> None:
    portal.robots_status = 500
    result = run_scrape(server, settings)
    assert [hit.path for hit in portal.hits] == ["/robots.txt"]
    assert result.refused and "HTTP 500: nothing allowed" in (result.stopped or "")
    assert result.raw_sha256 is None and result.pages == 0
    assert Lake(settings.lake_root).raw_manifest("magicbricks") == {}


def test_robots_txt_answering_404_allows_everything(
    portal: Portal, server: PortalServer, settings: Settings
) -> None:
    portal.robots_status = 404
    run_scrape(server, settings)
    assert any(hit.path.startswith(DISALLOWED_PATH) for hit in portal.hits)
