"""The record a scraper emits for one listing: its property fields, and nothing personal.

This is the privacy allowlist. A site config may map only these fields; anything else a portal
embeds in its pages (agent or owner names, phone numbers, e-mail addresses, free-text
descriptions that carry them) is never read into a row, so it cannot be stored.
"""

from __future__ import annotations

import re

ID_FIELD = "listing_id"

# Property fields, in the order of the raw table (the `magicbricks` dataset's source schema).
PROPERTY_FIELDS: tuple[str, ...] = (
    ID_FIELD,
    "locality",  # neighbourhood, e.g. "Whitefield"
    "city",
    "property_type",  # Apartment, Independent House, Villa, Plot...
    "bhk",  # "2 BHK", "3"
    "carpet_area",  # "1100 sqft", "102 sqm"
    "super_area",  # "1350 sqft"
    "bathrooms",
    "balconies",
    "furnishing",  # Furnished, Semi-Furnished, Unfurnished
    "transaction",  # New Property, Resale
    "status",  # Ready to Move, Under Construction
    "floor",  # "3 out of 10", "Ground out of 4"
    "facing",
    "price",  # "85 Lac", "1.2 Cr", "₹ 95,00,000"
)

# Values that look like contact details. Allowed fields should never hold them, but portals
# put phone numbers in titles and localities ("Whitefield, call 98450 12345"): such a row is
# quarantined with its personal values removed, never stored as it came.
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Indian mobile (10 digits from 6-9, optional +91 / 0 prefix) and landline-like digit runs
# of 8 or more, with spaces or dashes between groups.
_PHONE = re.compile(r"(?<![\w.])(?:\+?\d{1,3}[\s-]?)?(?:\d[\s-]?){8,12}\d(?![\w.])")


def personal_data(value: str) -> str | None:
    """What kind of contact detail `value` holds ("e-mail address", "phone number"), if any."""
    if _EMAIL.search(value):
        return "e-mail address"
    if _PHONE.search(value):
        return "phone number"
    return None


def redact(value: str) -> str:
    """`value` with e-mail addresses and phone numbers replaced by [redacted]."""
    return _PHONE.sub("[redacted]", _EMAIL.sub("[redacted]", value))
