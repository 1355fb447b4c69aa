"""The scraper's rules without a network: site config checks, robots.txt precedence and
answers, Retry-After, the per-host interval (on a fake clock) and the privacy allowlist."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from homeprice.errors import UserInputError
from homeprice.scraping.extraction import extract
from homeprice.scraping.listing import personal_data, redact
from homeprice.scraping.politeness import HostRateLimiter, retry_after_seconds
from homeprice.scraping.robots import from_answer
from homeprice.scraping.siteconfig import SiteConfig, is_loopback, load_site_config
from tests.support.portal import Portal, site_config, write_site_config

REPO_SITES = Path(__file__).resolve().parents[2] / "config" / "sites"


def _refusal(tmp_path: Path, url: str = "http://127.0.0.1:9", **overrides: object) -> str:
    path = write_site_config(tmp_path / "site.yaml", url, **overrides)
    with pytest.raises(UserInputError) as caught:
        load_site_config(path)
    return str(caught.value)


def test_a_remote_host_needs_a_stated_permission(tmp_path: Path) -> None:
    message = _refusal(tmp_path, "https://www.magicbricks.com")
    assert "www.magicbricks.com is not a local test host" in message
    config = site_config(
        "https://www.magicbricks.com",
        permission="written permission from the portal, 2026-11-02",
        politeness={"rate_per_second": 1},
    )
    assert SiteConfig.model_validate(config).hosts() == {"www.magicbricks.com"}


def test_a_remote_host_gets_at_most_one_request_per_second(tmp_path: Path) -> None:
    message = _refusal(
        tmp_path,
        "https://portal.example",
        permission="their terms, s. 4",
        politeness={"rate_per_second": 2},
    )
    assert "at most 1 request per second towards portal.example" in message


def test_a_start_url_with_credentials_is_refused_without_showing_them(tmp_path: Path) -> None:
    message = _refusal(tmp_path, "http://scraper:hunter2@127.0.0.1:9/listings")
    assert "carries credentials" in message and "hunter2" not in message


def test_only_property_fields_may_be_mapped(tmp_path: Path) -> None:
    fields = site_config("http://127.0.0.1:9")["fields"] | {
        "agent_phone": {"json": "agent.phone"},
        "owner_name": {"css": ".owner"},
    }
    message = _refusal(tmp_path, fields=fields)
    assert "agent_phone, owner_name: not property fields" in message


def test_unknown_keys_and_bad_expressions_are_named(tmp_path: Path) -> None:
    assert "politeness.rate_limit: Extra inputs are not permitted" in _refusal(
        tmp_path, politeness={"rate_limit": 5}
    )
    fields = site_config("http://127.0.0.1:9")["fields"] | {"price": {"json": "price[?"}}
    assert "fields.price.json" in _refusal(tmp_path, fields=fields)
    assert "give exactly one of `query_param` or `next_link`" in _refusal(
        tmp_path, pagination={"next_link": "a.next"}
    )
    missing = tmp_path / "absent.yaml"
    with pytest.raises(UserInputError, match="no such site config"):
        load_site_config(missing)


def test_the_shipped_magicbricks_config_is_refused_until_permission_is_given() -> None:
    with pytest.raises(UserInputError, match="state why this site may be scraped"):
        load_site_config(REPO_SITES / "magicbricks.yaml")


def test_loopback_hosts() -> None:
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.8.0.1", "::1", "[::1]", "localhost"))
    assert not any(is_loopback(h) for h in ("10.0.0.1", "example.com", "localhost.example"))


def test_robots_txt_answers_by_rfc_9309() -> None:
    rules = from_answer(
        "http://h", 200, b"User-agent: *\nDisallow: /a\nAllow: /a/b\nCrawl-delay: 2.5\n"
    )
    # The most specific rule wins (the standard library's parser applies the first match).
    assert rules.can_fetch("http://h/a/b/c") and not rules.can_fetch("http://h/a/x")
    assert rules.delay() == 2.5
    assert from_answer("http://h", 404).can_fetch("http://h/anything")
    assert not from_answer("http://h", 500).can_fetch("http://h/")
    assert not from_answer("http://h", None, error="ConnectTimeout").can_fetch("http://h/")
    agent_group = from_answer(
        "http://h", 200, b"User-agent: homeprice\nDisallow: /\n\nUser-agent: *\nAllow: /\n"
    )
    assert not agent_group.can_fetch("http://h/listings")
    rate = from_answer("http://h", 200, b"User-agent: *\nRequest-rate: 1/5\n")
    assert rate.delay() == 5.0


def test_retry_after_seconds_and_dates() -> None:
    now = datetime(2026, 12, 4, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("7", now) == 7.0
    assert retry_after_seconds("Fri, 04 Dec 2026 12:00:30 GMT", now) == 30.0
    assert retry_after_seconds("Fri, 04 Dec 2026 11:00:00 GMT", now) == 0.0
    assert retry_after_seconds("soon", now) is None and retry_after_seconds(None) is None


def test_the_interval_counts_from_the_end_of_the_previous_request() -> None:
    clock = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    limiter = HostRateLimiter(1.0, clock=lambda: clock[0], sleep=sleep)
    with limiter.slot("h"):
        clock[0] += 0.3  # the request takes 0.3 s
    with limiter.slot("h"):
        pass
    assert slept == [pytest.approx(1.0)]
    with limiter.slot("other"):  # another host has its own turn
        pass
    assert len(slept) == 1
    limiter.slow_down("h", 1.6)
    limiter.slow_down("h", 0.5)  # a shorter delay never shortens the interval
    clock[0] += 0.1
    with limiter.slot("h"):
        pass
    assert slept[-1] == pytest.approx(1.5) and limiter.interval_for("h") == 1.6


def test_contact_details_are_recognised_and_redacted() -> None:
    assert personal_data("Whitefield, call 98450 12345") == "phone number"
    assert personal_data("+91-98450-12345") == "phone number"
    assert personal_data("mail ravi.k@example.in") == "e-mail address"
    for value in (
        "Whitefield",
        "1.25 Cr",
        "85 Lac",
        "₹ 1,20,00,000",
        "1100 sqft",
        "3 out of 10",
        "Sector 2, HSR Layout",
    ):
        assert personal_data(value) is None, value
    assert redact("Koramangala 98450 12345 a@b.in") == "Koramangala [redacted] [redacted]"


def test_extraction_reads_only_the_mapped_fields_from_json_and_html() -> None:
    portal = Portal()
    site = SiteConfig.model_validate(site_config("http://127.0.0.1:9"))
    for page, source in ((1, "json"), (6, "html")):
        _, _, html = portal.results(page)
        extracted = extract(f"http://127.0.0.1:9/p?page={page}", html, site, page - 1)
        assert extracted.source == source and len(extracted.listings) == 10
        assert all(set(row) == set(site.fields) for row in extracted.listings)
        assert extracted.next_url == f"http://127.0.0.1:9/p?page={page + 1}"
    _, _, empty = portal.results(7)
    assert extract("http://127.0.0.1:9/p?page=7", empty, site, 6).listings == []


def test_the_ingest_needs_configured_sites_and_checks_them(tmp_path: Path) -> None:
    from homeprice.config import Settings
    from homeprice.scraping.ingest import configured_sites

    with pytest.raises(UserInputError, match="no site configs to scrape: set scraping.sites"):
        configured_sites(Settings(scraping={"sites": []}))
    good = write_site_config(tmp_path / "good.yaml", "http://127.0.0.1:9")
    assert configured_sites(Settings(scraping={"sites": [good]})) == [good]
    with pytest.raises(UserInputError, match="absent.yaml: no such site config"):
        configured_sites(Settings(scraping={"sites": [good, tmp_path / "absent.yaml"]}))
