"""Sorting extracted listings into rows to keep and rows to quarantine (with the reason).

A row is quarantined when it has no listing id, misses a required field, breaks a field's
pattern, holds an over-long value, or carries contact details in a property field (a phone
number in a locality). Quarantined rows are stored with the reason and with contact details
redacted, so nothing personal reaches the lake either way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from homeprice.scraping.listing import ID_FIELD, PROPERTY_FIELDS, personal_data, redact
from homeprice.scraping.siteconfig import SiteConfig

# A property value longer than this is something else (a description pasted in).
MAX_VALUE_LENGTH = 200
MAX_ID_LENGTH = 100

Row = dict[str, str | None]


@dataclass
class SortedRows:
    """One page's listings: kept rows, and quarantined rows with a `reason` each."""

    kept: list[Row] = field(default_factory=list)
    quarantined: list[Row] = field(default_factory=list)

    def ids(self) -> list[str]:
        """Every listing id on the page that has one (kept and quarantined: all are seen)."""
        rows = [*self.kept, *self.quarantined]
        return [listing_id for row in rows if (listing_id := row.get(ID_FIELD))]


def problem(row: Row, site: SiteConfig) -> str | None:
    """Why a listing cannot be kept, or None."""
    listing_id = row.get(ID_FIELD)
    if not listing_id:
        return f"no {ID_FIELD}"
    if len(listing_id) > MAX_ID_LENGTH:
        return f"{ID_FIELD} longer than {MAX_ID_LENGTH} characters"
    for name, rule in site.fields.items():
        value = row.get(name)
        if value is None:
            if rule.required:
                return f"missing {name}"
            continue
        if len(value) > MAX_VALUE_LENGTH:
            return f"{name} longer than {MAX_VALUE_LENGTH} characters"
        if name != ID_FIELD and (kind := personal_data(value)):
            return f"{name} holds a {kind} (redacted)"
        if rule.pattern and not re.fullmatch(rule.pattern, value):
            return f"{name} {value!r} does not match {rule.pattern}"
    return None


def _safe(row: Row) -> Row:
    """The row in the allowlist's column order, contact details redacted, long values cut."""
    out: Row = {}
    for name in PROPERTY_FIELDS:
        value = row.get(name)
        if value is not None and name != ID_FIELD:
            value = redact(value)[:MAX_VALUE_LENGTH]
        out[name] = value
    return out


def sort_rows(listings: list[Row], site: SiteConfig) -> SortedRows:
    """Keep the listings that parse; quarantine the others with their reason."""
    result = SortedRows()
    for listing in listings:
        reason = problem(listing, site)
        row = _safe(listing)
        if reason is None:
            result.kept.append(row)
        else:
            row["reason"] = reason
            result.quarantined.append(row)
    return result
