"""Reading listings out of a results page: the JSON a script-rendered page embeds (JMESPath),
or listing cards in the HTML (CSS selectors, selectolax); and where the next page is.

Only the fields the site config maps are read, and those are property fields only (the
allowlist in homeprice.scraping.listing), so nothing else a page holds ever leaves here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import jmespath
from selectolax.lexbor import LexborHTMLParser, LexborNode

from homeprice.scraping.siteconfig import FieldRule, SiteConfig


@dataclass(frozen=True)
class ExtractedPage:
    """The listings found on one page (field -> text or None) and how they were found."""

    listings: list[dict[str, str | None]]
    source: str  # "json", "html" or "none"
    next_url: str | None = None


class ExtractionError(Exception):
    """The page does not have the shape the site config describes (e.g. broken JSON)."""


def _text(value: Any) -> str | None:
    """A JSON or HTML value as one line of text; None when missing or empty."""
    if value is None or isinstance(value, (dict, list)):
        return None
    text = " ".join(str(value).split())
    return text or None


def _embedded_json(tree: LexborHTMLParser, site: SiteConfig) -> Any | None:
    """The JSON blob of the page, or None when the page has no such script."""
    assert site.json_listings is not None
    assignment = site.json_listings.assignment
    text = None
    for script in tree.css(site.json_listings.script):
        content = script.text(deep=True, strip=False)
        if not assignment:
            text = content
            break
        # The first script that assigns the variable (pages hold many scripts).
        if (start := content.find(assignment)) >= 0:
            text = content[start + len(assignment) :].lstrip().removeprefix("=").lstrip()
            break
    if text is None:
        return None
    try:
        # raw_decode stops at the end of the value: a trailing ";" or more script is fine.
        value, _ = json.JSONDecoder().raw_decode(text)
    except ValueError as error:
        raise ExtractionError(
            f"the embedded JSON ({site.json_listings.script}) does not parse: {error}"
        ) from None
    return value


def _from_json(blob: Any, site: SiteConfig) -> list[dict[str, str | None]]:
    assert site.json_listings is not None
    items = jmespath.search(site.json_listings.listings, blob)
    if items is None:
        return []
    if not isinstance(items, list):
        raise ExtractionError(f"{site.json_listings.listings} in the embedded JSON is not a list")
    rows = []
    for item in items:
        row: dict[str, str | None] = {}
        for name, rule in site.fields.items():
            value = jmespath.search(rule.json_path, item) if rule.json_path else None
            row[name] = _text(value)
        rows.append(row)
    return rows


def _card_value(card: LexborNode, rule: FieldRule) -> str | None:
    if rule.css is None:
        return None
    node = card if rule.css == ":scope" else card.css_first(rule.css)
    if node is None:
        return None
    if rule.attr:
        return _text(node.attributes.get(rule.attr))
    return _text(node.text(deep=True, separator=" "))


def _from_html(tree: LexborHTMLParser, site: SiteConfig) -> list[dict[str, str | None]]:
    assert site.html_listings is not None
    return [
        {name: _card_value(card, rule) for name, rule in site.fields.items()}
        for card in tree.css(site.html_listings.card)
    ]


def next_page_url(
    url: str, tree: LexborHTMLParser | None, site: SiteConfig, page_index: int
) -> str | None:
    """The URL of the results page after `url` (page_index counts from 0 per start URL)."""
    rule = site.pagination
    if rule.query_param is not None:
        parts = urlsplit(url)
        query = [
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if k != rule.query_param
        ]
        query.append((rule.query_param, str(rule.first + page_index + 1)))
        return urlunsplit(parts._replace(query=urlencode(query)))
    if tree is None:
        return None
    link = tree.css_first(rule.next_link or "")
    href = link.attributes.get("href") if link is not None else None
    return urljoin(url, href) if href else None


def extract(url: str, html: str, site: SiteConfig, page_index: int) -> ExtractedPage:
    """The listings of a results page: from the embedded JSON when the page has it, else from
    the listing cards; and the next page's URL (None once a page has no listings)."""
    tree = LexborHTMLParser(html)
    listings: list[dict[str, str | None]] = []
    source = "none"
    if site.json_listings is not None:
        blob = _embedded_json(tree, site)
        if blob is not None:
            listings, source = _from_json(blob, site), "json"
    if source == "none" and site.html_listings is not None:
        listings = _from_html(tree, site)
        source = "html" if listings else "none"
    next_url = next_page_url(url, tree, site, page_index) if listings else None
    return ExtractedPage(listings=listings, source=source, next_url=next_url)


def page_text(html: str) -> str:
    """The visible text of a page (scripts and styles left out), for CAPTCHA markers."""
    tree = LexborHTMLParser(html)
    for node in tree.css("script, style"):
        node.decompose()
    body = tree.body
    return body.text(deep=True, separator=" ") if body is not None else ""
