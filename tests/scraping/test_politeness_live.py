"""Politeness as the portal's access log saw it: the gap between any two requests to the host
is at least max(1/rate, crawl-delay), Retry-After is honoured, and failures are retried."""

from __future__ import annotations

import pytest

from homeprice.config import Settings
from tests.support.portal import RESULTS_PATH, Portal, PortalServer, gaps, raw_ids, run_scrape

pytestmark = pytest.mark.network_local


def test_default_politeness_is_at_most_one_request_per_second(
    portal: Portal, server: PortalServer, settings: Settings
) -> None:
    portal.listings = portal.listings[:20]  # two pages: robots, 1, 2, 3 (empty)
    # The default politeness of a site config (no `politeness:` given at all).
    run_scrape(server, settings, politeness=None)
    assert len(portal.hits) == 4
    assert min(gaps(portal.hits)) >= 1.0, gaps(portal.hits)


def test_a_crawl_delay_slows_the_scraper_below_its_rate(
    portal: Portal, server: PortalServer, settings: Settings
) -> None:
    portal.crawl_delay = 1.6
    portal.listings = portal.listings[:10]  # robots, page 1, page 2 (empty)
    run_scrape(server, settings)  # configured for 20 requests/s
    assert len(portal.hits) == 3
    assert min(gaps(portal.hits)) >= 1.6, gaps(portal.hits)


def test_retry_after_and_a_500_are_retried(
    portal: Portal, server: PortalServer, settings: Settings
) -> None:
    portal.scripted = {2: [(429, {"Retry-After": "1"})], 4: [(500, {})]}
    result = run_scrape(server, settings)
    requests = portal.results_requests()
    assert [(hit.path, hit.status) for hit in requests[1:6]] == [
        (f"{RESULTS_PATH}?page=2", 429),
        (f"{RESULTS_PATH}?page=2", 200),
        (f"{RESULTS_PATH}?page=3", 200),
        (f"{RESULTS_PATH}?page=4", 500),
        (f"{RESULTS_PATH}?page=4", 200),
    ]
    # The 429 asked for a second; the scraper waited at least that.
    assert requests[2].at - requests[1].at >= 1.0
    # Exponential backoff after the 500 (base 0.05 s), never below the rate's interval.
    assert requests[5].at - requests[4].at >= 0.05
    assert min(gaps(portal.hits)) >= 1 / 20
    assert set(raw_ids(settings)) == portal.expected_kept_ids() and result.stopped is None


def test_retries_run_out_and_the_next_run_resumes_at_that_page(
    portal: Portal, server: PortalServer, settings: Settings
) -> None:
    portal.scripted = {3: [(503, {})] * 3}
    result = run_scrape(server, settings, politeness={"max_attempts": 3})
    assert "HTTP 503 after 3 attempts" in (result.stopped or "") and not result.refused
    assert len(raw_ids(settings)) == 18
    portal.hits.clear()
    run_scrape(server, settings)
    assert portal.results_requests()[0].path == f"{RESULTS_PATH}?page=3"
    ids = raw_ids(settings)
    assert len(ids) == len(set(ids)) and set(ids) == portal.expected_kept_ids()


def test_a_retry_after_beyond_the_limit_stops_the_run(
    portal: Portal, server: PortalServer, settings: Settings
) -> None:
    portal.scripted = {2: [(429, {"Retry-After": "3600"})]}
    result = run_scrape(server, settings)
    assert result.refused and "come back in 3600 s" in (result.stopped or "")
    assert len(portal.results_requests()) == 2
