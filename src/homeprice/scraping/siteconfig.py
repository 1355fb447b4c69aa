"""The site config: which pages to read, how to page through them, where each field comes from,
and how politely (a YAML file; `config/sites/magicbricks.yaml` is the shipped example).

Strict: unknown keys, a field outside the privacy allowlist, a rate above one request per second
towards a remote host, or a remote host without a stated `permission` are refused with a message
naming the key, so a typo cannot silently turn politeness or privacy off.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import jmespath
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from homeprice.errors import UserInputError
from homeprice.masking import mask_url
from homeprice.scraping.listing import ID_FIELD, PROPERTY_FIELDS

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]

# Texts that mark a CAPTCHA or bot-check page (matched case-insensitively in the page).
DEFAULT_CAPTCHA_MARKERS = ("captcha", "are you a robot", "verify you are human", "unusual traffic")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldRule(_Strict):
    """Where one field comes from: a JMESPath into a listing of the embedded JSON, and/or a CSS
    selector inside a listing card of the HTML (its text, or an attribute)."""

    json_path: Text | None = Field(None, alias="json")
    css: Text | None = None
    attr: Text | None = None
    # A listing whose value is missing (required) or does not match (pattern) is quarantined.
    required: bool = False
    pattern: Text | None = None

    @field_validator("json_path")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                jmespath.compile(value)
            except jmespath.exceptions.JMESPathError as error:
                raise ValueError(f"not a JMESPath expression: {error}") from None
        return value

    @field_validator("pattern")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as error:
                raise ValueError(f"not a regular expression: {error}") from None
        return value

    @model_validator(mode="after")
    def _has_a_source(self) -> FieldRule:
        if self.json_path is None and self.css is None:
            raise ValueError("give `json` (a JMESPath) or `css` (a selector), or both")
        return self


class JsonListings(_Strict):
    """Listings embedded in the page as JSON: a <script> selected by CSS whose text is JSON or
    a `name = {...}` assignment, and the JMESPath of the listing array inside it."""

    script: Text = Field(examples=["script#__NEXT_DATA__", 'script[type="application/json"]'])
    # When the script assigns the data to a variable (window.__STATE__ = {...};), its name.
    assignment: Text | None = None
    listings: Text = Field(examples=["props.pageProps.listings"])

    @field_validator("listings")
    @classmethod
    def _compiles(cls, value: str) -> str:
        return FieldRule._compiles(value) or value


class HtmlListings(_Strict):
    """Listings as HTML: the CSS selector of one listing card."""

    card: Text


class Pagination(_Strict):
    """How to reach the next results page: a query parameter counted up from `first`, or the
    href of a "next" link (CSS). A page with no listings ends the walk either way."""

    query_param: Text | None = None
    first: int = Field(1, ge=0)
    next_link: Text | None = None

    @model_validator(mode="after")
    def _one_rule(self) -> Pagination:
        if (self.query_param is None) == (self.next_link is None):
            raise ValueError("give exactly one of `query_param` or `next_link`")
        return self


class Politeness(_Strict):
    """How hard the scraper may press a host."""

    # Requests per second to one host; a robots.txt crawl-delay (or request-rate) that asks
    # for more time between requests wins. Above 1/s only towards a loopback test host.
    rate_per_second: float = Field(1.0, gt=0, le=50)
    # Attempts per page on 429, 5xx, timeouts and dropped connections (the first included).
    max_attempts: int = Field(5, ge=1, le=10)
    # Exponential backoff: base * 2**(attempt-1) seconds, plus up to `jitter` seconds, capped.
    backoff_base_seconds: float = Field(1.0, ge=0)
    backoff_max_seconds: float = Field(120.0, gt=0)
    jitter_seconds: float = Field(1.0, ge=0)
    # A Retry-After longer than this ends the run (the site asks us to come back much later).
    max_retry_after_seconds: float = Field(600.0, gt=0)
    timeout_seconds: float = Field(30.0, gt=0, le=300)
    # A results page larger than this is refused (bounded memory).
    max_page_bytes: int = Field(5 * 2**20, ge=1024, le=100 * 2**20)
    captcha_markers: tuple[str, ...] = DEFAULT_CAPTCHA_MARKERS


class SiteConfig(_Strict):
    """One portal: where to start, how to page, where each field is, how politely, and why we
    may (`permission`)."""

    name: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
    # The dataset the listings feed (its raw zone); the `magicbricks` dataset reads them.
    dataset: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,64}$")] = "magicbricks"
    # Who we are: sent in the User-Agent so a site operator can reach the team.
    contact: Annotated[str, StringConstraints(pattern=r"^(https?://|mailto:)\S+$")]
    # Why this site may be scraped: its terms allow it, or written permission (who, when).
    # Required for any host that is not loopback, so nobody points this at a site by accident.
    permission: Text | None = None
    start_urls: list[Text] = Field(min_length=1, max_length=100)
    pagination: Pagination
    json_listings: JsonListings | None = Field(None, alias="json")
    html_listings: HtmlListings | None = Field(None, alias="html")
    fields: dict[str, FieldRule]
    politeness: Politeness = Politeness()
    # The hard cap on results pages per run (`--max-pages` may lower it).
    max_pages: int = Field(50, ge=1, le=10_000)
    # Stop when at least this share of a page's listings was seen before: portals list the
    # newest first, so a mostly known page means the rest is known too.
    stop_when_known: float = Field(0.5, gt=0, le=1)

    @field_validator("start_urls")
    @classmethod
    def _http_urls(cls, urls: list[str]) -> list[str]:
        for url in urls:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"{url!r} is not an http(s) URL with a host")
            # Page URLs are logged, noted in the lake and shown in the DAG's log: a password in
            # one would leak everywhere. A public listings portal needs none.
            if parts.username is not None or parts.password is not None:
                raise ValueError(f"{mask_url(url)!r} carries credentials (user:password@): "
                                 "start URLs must not")
        return urls

    @field_validator("fields")
    @classmethod
    def _allowlisted(cls, fields: dict[str, FieldRule]) -> dict[str, FieldRule]:
        unknown = sorted(set(fields) - set(PROPERTY_FIELDS))
        if unknown:
            raise ValueError(
                f"{', '.join(unknown)}: not property fields; only these may be "
                f"stored: {', '.join(PROPERTY_FIELDS)}"
            )
        if ID_FIELD not in fields:
            raise ValueError(f"`{ID_FIELD}` is needed (listings are told apart by it)")
        return fields

    @model_validator(mode="after")
    def _coherent(self) -> SiteConfig:
        if self.json_listings is None and self.html_listings is None:
            raise ValueError("give `json` (embedded listings) or `html` (listing cards), or both")
        for name, rule in self.fields.items():
            if self.json_listings is not None and self.html_listings is None and not rule.json_path:
                raise ValueError(f"fields.{name}: needs `json` (the site config reads JSON only)")
            if self.html_listings is not None and self.json_listings is None and not rule.css:
                raise ValueError(f"fields.{name}: needs `css` (the site config reads HTML only)")
        remote = sorted({h for h in self.hosts() if not is_loopback(h)})
        if remote and not self.permission:
            raise ValueError(
                f"{', '.join(remote)} is not a local test host: state why this site "
                "may be scraped in `permission:` (its terms allow it, or written "
                "permission, from whom and when)"
            )
        if remote and self.politeness.rate_per_second > 1:
            raise ValueError(
                f"politeness.rate_per_second: at most 1 request per second towards "
                f"{', '.join(remote)}"
            )
        return self

    def hosts(self) -> set[str]:
        """The hosts of the start URLs."""
        return {urlsplit(url).hostname or "" for url in self.start_urls}

    def user_agent(self, version: str) -> str:
        """The User-Agent: names homeprice and how to reach whoever runs it."""
        return f"homeprice/{version} (+{self.contact})"


def is_loopback(host: str) -> bool:
    """Whether `host` is this machine (localhost, 127.0.0.0/8, ::1)."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _location(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc)


def load_site_config(path: Path | str) -> SiteConfig:
    """Read and check a site config; UserInputError naming the file and the key otherwise."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserInputError(f"{path}: no such site config") from None
    except (OSError, UnicodeDecodeError) as error:
        raise UserInputError(f"{path}: cannot read: {error}") from None
    except yaml.YAMLError as error:
        raise UserInputError(f"{path}: not YAML: {error}") from None
    if not isinstance(data, dict):
        raise UserInputError(f"{path}: a site config is a mapping of keys (name, start_urls...)")
    try:
        return SiteConfig.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            # pydantic words a validator's own message "Value error, ..."
            ": ".join(filter(None, (_location(e["loc"]), e["msg"].removeprefix("Value error, "))))
            for e in error.errors()
        )
        raise UserInputError(f"{path}: {problems}") from None
