"""A fixture property portal on 127.0.0.1, built from the real Bengaluru listings.

Results pages at /property-for-sale/bengaluru?page=N: the first half embed their listings as
JSON in a <script id="__NEXT_DATA__"> (as script-rendered portals do), the rest are plain HTML
cards. Every listing carries its agent's name, phone and e-mail (a scraper must never store
them); some are malformed (no id, no BHK, "Price on Request", a phone number in the locality).
robots.txt disallows /owner-listings, which the first page links to. Scripted answers (a 429
with Retry-After, a 500 then 200) are set per page, and every request lands in an access log
(the tests' clock: monotonic seconds on arrival).
"""

from __future__ import annotations

import csv
import http.server
import json
import random
import re
import threading
import time
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.paths import REPO, SHARED_DATA

RESULTS_PATH = "/property-for-sale/bengaluru"
DISALLOWED_PATH = "/owner-listings"
_SOURCE = SHARED_DATA / "bengaluru" / "Bengaluru_House_Data.csv"
_SAMPLE = (
    REPO / "src" / "homeprice" / "datasets" / "bengaluru" / "sample" / "Bengaluru_House_Data.csv"
)
_SIZE = re.compile(r"^\d+ (BHK|Bedroom)$")

# Positions (in the whole listing order) of the malformed listings, and what is wrong.
MALFORMED = {3: "no_id", 14: "phone_in_locality", 25: "price_on_request", 47: "no_bhk"}


@dataclass(frozen=True)
class Hit:
    """One request as the portal saw it."""

    at: float
    path: str
    status: int
    user_agent: str


def _price_text(lakhs: float) -> str:
    return f"{lakhs / 100:.2f} Cr" if lakhs >= 100 else f"{lakhs:g} Lac"


def _listings(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """`count` portal listings from real Bengaluru rows (plain areas, known sizes, priced)."""
    source = _SOURCE if _SOURCE.is_file() else _SAMPLE
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    with open(source, newline="") as handle:
        for row in csv.DictReader(handle):
            if len(out) == count:
                break
            size, sqft = row["size"], row["total_sqft"]
            if not (
                _SIZE.match(size or "")
                and sqft.replace(".", "", 1).isdigit()
                and row["bath"]
                and row["price"]
                and row["location"]
            ):
                continue
            area_type = " ".join(row["area_type"].split())
            number = len(out)
            area = f"{float(sqft):g} sqft"
            if number % 7 == 0:
                area = f"{float(sqft) / 10.7639:.1f} sqm"
            ready = row["availability"] == "Ready To Move"
            out.append(
                {
                    "id": f"MB{100000 + number}",
                    "locality": {"name": row["location"].strip()},
                    "city": "Bengaluru",
                    "propertyType": "Independent House" if "Bedroom" in size else "Apartment",
                    "bedrooms": size.replace("Bedroom", "BHK"),
                    "carpetArea": area if area_type != "Super built-up Area" else None,
                    "superArea": area if area_type == "Super built-up Area" else None,
                    "bathrooms": int(float(row["bath"])),
                    "balconies": int(float(row["balcony"])) if row["balcony"] else None,
                    "furnishing": rng.choice(["Furnished", "Semi-Furnished", "Unfurnished"]),
                    "transaction": "Resale" if ready else "New Property",
                    "status": "Ready to Move" if ready else "Under Construction",
                    "floor": f"{rng.randint(1, 12)} out of {rng.randint(12, 20)}",
                    "facing": rng.choice(["East", "North", "North - East", None]),
                    "price": {"display": _price_text(float(row["price"]))},
                    # Personal data the portal embeds; a scraper must never store it.
                    "agent": {
                        "name": rng.choice(["Ramesh Kumar", "Lakshmi Rao", "Imran Sheikh"]),
                        "phone": f"+91 98{rng.randint(10, 99)}{rng.randint(100000, 999999)}",
                        "email": f"agent{number}@realty-example.in",
                    },
                }
            )
    for position, fault in MALFORMED.items():
        listing = out[position]
        if fault == "no_id":
            listing["id"] = None
        elif fault == "phone_in_locality":
            listing["locality"] = {"name": f"{listing['locality']['name']}, call 98450 12345"}
        elif fault == "price_on_request":
            listing["price"] = {"display": "Price on Request"}
        elif fault == "no_bhk":
            listing["bedrooms"] = None
    return out


def _card(listing: dict[str, Any]) -> str:
    def span(css: str, value: Any) -> str:
        return "" if value is None else f'<span class="{css}">{escape(str(value))}</span>'

    agent = listing["agent"]
    listing_id = f' data-listing-id="{listing["id"]}"' if listing["id"] else ""
    return (
        f'<div class="mb-srp__card"{listing_id}>'
        f"<h2>{span('bhk', listing['bedrooms'])} {span('ptype', listing['propertyType'])} "
        f"in {span('locality', listing['locality']['name'])}, "
        f"{span('city', listing['city'])}</h2>"
        f'<div class="price">{escape(listing["price"]["display"])}</div>'
        f"<ul><li>Carpet Area {span('carpet', listing['carpetArea'])}</li>"
        f"<li>Super Area {span('super', listing['superArea'])}</li>"
        f"<li>{span('bath', listing['bathrooms'])} baths, "
        f"{span('balcony', listing['balconies'])} balconies</li>"
        f"<li>{span('furnishing', listing['furnishing'])}</li>"
        f"<li>{span('transaction', listing['transaction'])}</li>"
        f"<li>{span('status', listing['status'])}</li>"
        f"<li>Floor {span('floor', listing['floor'])}</li>"
        f"<li>{span('facing', listing['facing'])}</li></ul>"
        f'<div class="agent"><span class="agent-name">{escape(agent["name"])}</span> '
        f'<a class="phone" href="tel:{agent["phone"]}">{escape(agent["phone"])}</a> '
        f'<a href="mailto:{agent["email"]}">{escape(agent["email"])}</a></div></div>'
    )


@dataclass
class Portal:
    """The fixture portal's content and behaviour (change it between runs in a test)."""

    pages: int = 6
    per_page: int = 10
    robots_status: int = 200
    crawl_delay: float | None = None
    # Scripted answers before the normal one, per results page: [(status, headers), ...].
    scripted: dict[int, list[tuple[int, dict[str, str]]]] = field(default_factory=dict)
    # A page answering a CAPTCHA (200, no listings) or a 403 instead of its listings.
    captcha_page: int | None = None
    forbidden_page: int | None = None
    listings: list[dict[str, Any]] = field(default_factory=list)
    hits: list[Hit] = field(default_factory=list)
    reserve: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        everything = _listings(self.pages * self.per_page + 20)
        self.listings = everything[: self.pages * self.per_page]
        self.reserve = everything[self.pages * self.per_page :]
        self._lock = threading.Lock()

    # -- what a correct scraper ends with ----------------------------------------------------
    def expected_kept_ids(self) -> set[str]:
        """Ids of the listings a scraper should keep (well-formed, on the allowed pages)."""
        bad = {self.listings[p]["id"] for p in MALFORMED if p < len(self.listings)}
        return {item["id"] for item in self.listings if item["id"] and item["id"] not in bad}

    def expected_quarantined_ids(self) -> set[str]:
        """Ids of the malformed listings that have an id."""
        return {
            self.listings[p]["id"]
            for p in MALFORMED
            if p < len(self.listings) and self.listings[p]["id"]
        }

    def personal_values(self) -> set[str]:
        """Every agent name, phone number and e-mail address the portal shows."""
        values = {v for item in self.listings for v in item["agent"].values()}
        return values | {"98450 12345"}

    def prepend(self, count: int) -> list[str]:
        """`count` new listings at the top (newest first), as a portal shows them; their ids."""
        new, self.reserve = self.reserve[:count], self.reserve[count:]
        self.listings = new + self.listings
        return [item["id"] for item in new]

    def results_requests(self) -> list[Hit]:
        """Requests for results pages, in order."""
        return [hit for hit in self.hits if hit.path.startswith(RESULTS_PATH)]

    # -- answers -----------------------------------------------------------------------------
    def robots(self) -> tuple[int, str]:
        lines = ["User-agent: *", f"Disallow: {DISALLOWED_PATH}"]
        if self.crawl_delay is not None:
            lines.append(f"Crawl-delay: {self.crawl_delay}")
        return self.robots_status, "\n".join(lines) + "\n"

    def results(self, page: int) -> tuple[int, dict[str, str], str]:
        scripted = self.scripted.get(page)
        if scripted:
            status, headers = scripted.pop(0)
            return status, headers, f"<html><body>error {status}</body></html>"
        if page == self.forbidden_page:
            return 403, {}, "<html><body>Access denied</body></html>"
        if page == self.captcha_page:
            return (
                200,
                {},
                (
                    "<html><body><h1>Are you a robot?</h1><div class='g-recaptcha'>"
                    "Please solve the CAPTCHA</div></body></html>"
                ),
            )
        items = (
            self.listings[(page - 1) * self.per_page : page * self.per_page] if page >= 1 else []
        )
        links = (
            f'<a href="{DISALLOWED_PATH}?page=1">Owner listings</a>'
            f'<a class="next" href="{RESULTS_PATH}?page={page + 1}">Next</a>'
        )
        if not items:
            return 200, {}, "<html><body><p>No more results</p></body></html>"
        if page <= (self.pages + 1) // 2:
            blob = json.dumps({"props": {"pageProps": {"listings": items, "page": page}}})
            body = (
                f'<html><head><script id="__NEXT_DATA__" type="application/json">{blob}'
                f'</script></head><body><div id="root"></div>{links}</body></html>'
            )
        else:
            body = f"<html><body>{''.join(_card(item) for item in items)}{links}</body></html>"
        return 200, {}, body


class PortalServer:
    """Serves a Portal on 127.0.0.1 (a thread per request) until closed."""

    def __init__(self, portal: Portal) -> None:
        self.portal = portal
        handler = _handler(portal)
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _handler(portal: Portal) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            arrived = time.monotonic()
            parts = urlsplit(self.path)
            headers: dict[str, str] = {}
            if parts.path == "/robots.txt":
                status, body = portal.robots()
            elif parts.path == RESULTS_PATH:
                page = int(parse_qs(parts.query).get("page", ["1"])[0])
                status, headers, body = portal.results(page)
            elif parts.path == DISALLOWED_PATH:
                status, body = 200, _card(portal.reserve[0]) if portal.reserve else ""
            else:
                status, body = 404, "not found"
            with portal._lock:
                portal.hits.append(
                    Hit(arrived, self.path, status, self.headers.get("User-Agent", ""))
                )
            payload = body.encode()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


def site_config(url: str, **overrides: Any) -> dict[str, Any]:
    """A site config (as YAML would give it) for the portal at `url`."""
    config: dict[str, Any] = {
        "name": "fixture-portal",
        "dataset": "magicbricks",
        "contact": "https://github.com/homeprice/homeprice",
        "start_urls": [f"{url}{RESULTS_PATH}?page=1", f"{url}{DISALLOWED_PATH}?page=1"],
        "pagination": {"query_param": "page", "first": 1},
        "json": {"script": "script#__NEXT_DATA__", "listings": "props.pageProps.listings"},
        "html": {"card": "div.mb-srp__card"},
        "fields": {
            "listing_id": {
                "json": "id",
                "css": ":scope",
                "attr": "data-listing-id",
                "required": True,
            },
            "locality": {"json": "locality.name", "css": ".locality", "required": True},
            "city": {"json": "city", "css": ".city"},
            "property_type": {"json": "propertyType", "css": ".ptype"},
            "bhk": {"json": "bedrooms", "css": ".bhk", "required": True},
            "carpet_area": {"json": "carpetArea", "css": ".carpet"},
            "super_area": {"json": "superArea", "css": ".super"},
            "bathrooms": {"json": "bathrooms", "css": ".bath"},
            "balconies": {"json": "balconies", "css": ".balcony"},
            "furnishing": {"json": "furnishing", "css": ".furnishing"},
            "transaction": {"json": "transaction", "css": ".transaction"},
            "status": {"json": "status", "css": ".status"},
            "floor": {"json": "floor", "css": ".floor"},
            "facing": {"json": "facing", "css": ".facing"},
            "price": {
                "json": "price.display",
                "css": ".price",
                "required": True,
                "pattern": r"(?:₹\s*)?[0-9][0-9.,]*\s*(?:Lac|Lakh|Cr|Crore)s?",
            },
        },
        "politeness": {"rate_per_second": 20, "backoff_base_seconds": 0.05, "jitter_seconds": 0.01},
    }
    for key, value in overrides.items():
        if value is None:
            config.pop(key, None)
        elif isinstance(value, dict) and isinstance(config.get(key), dict):
            config[key] = config[key] | value
        else:
            config[key] = value
    return config


def run_scrape(
    server: PortalServer, settings: Any, max_pages: int | None = None, **overrides: Any
) -> Any:
    """One scraper run against the portal (a ScrapeResult)."""
    from homeprice.scraping.run import scrape
    from homeprice.scraping.siteconfig import SiteConfig

    site = SiteConfig.model_validate(site_config(server.url, **overrides))
    return scrape(site, settings, max_pages=max_pages)


def raw_ids(settings: Any, sha256: str | None = None) -> list[str]:
    """Listing ids of the latest (or given) raw magicbricks table, in order."""
    from homeprice.data.lake import Lake

    lake = Lake(settings.lake_root)
    sha256 = sha256 or lake.raw_manifest("magicbricks")["latest"]
    return list(lake.read_raw("magicbricks", sha256)["listing_id"])


def gaps(hits: list[Hit]) -> list[float]:
    """Seconds between consecutive requests' arrivals."""
    return [b.at - a.at for a, b in zip(hits, hits[1:], strict=False)]


def write_site_config(path: Path, url: str, **overrides: Any) -> Path:
    """The portal's site config as a YAML file."""
    import yaml

    path.write_text(yaml.safe_dump(site_config(url, **overrides), allow_unicode=True))
    return path
