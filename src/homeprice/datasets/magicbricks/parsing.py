"""Parsers of the texts portals show: prices ("85 Lac", "1.2 Cr", "₹ 95,00,000"), areas with
units ("1100 sqft", "102 sqm"), BHK ("2 BHK", "1 RK"), floors ("3 out of 10", "Ground out of
4") and the portal's categories; shared by cleaning, serving and the request model."""

from __future__ import annotations

import math
import re

# Longer texts are not parsed at all: real values are a few dozen characters.
MAX_TEXT_LENGTH = 100

FURNISHING = ("Furnished", "Semi-Furnished", "Unfurnished")
TRANSACTIONS = ("New Property", "Resale")
PROPERTY_TYPES = (
    "Apartment",
    "Independent House",
    "Villa",
    "Builder Floor",
    "Penthouse",
    "Studio Apartment",
)

# Square feet per area unit as portals write them (lower case, spaces and dots removed).
SQFT_PER_UNIT: dict[str, float] = {
    "sqft": 1.0,
    "sqfeet": 1.0,
    "squarefeet": 1.0,
    "ft2": 1.0,
    "sqm": 10.7639,
    "sqmeter": 10.7639,
    "sqmetre": 10.7639,
    "squaremeter": 10.7639,
    "squaremetre": 10.7639,
    "m2": 10.7639,
    "sqyrd": 9.0,
    "sqyd": 9.0,
    "sqyard": 9.0,
    "sqyards": 9.0,
    "squareyards": 9.0,
    "acre": 43_560.0,
    "acres": 43_560.0,
}
# Lakh rupees per price unit ("Lac" is how Indian portals write lakh).
LAKHS_PER_UNIT: dict[str, float] = {
    "lac": 1.0,
    "lacs": 1.0,
    "lakh": 1.0,
    "lakhs": 1.0,
    "l": 1.0,
    "cr": 100.0,
    "crs": 100.0,
    "crore": 100.0,
    "crores": 100.0,
}
_NUMBER = r"\d[\d,]*(?:\.\d+)?|\.\d+"
_PRICE = re.compile(rf"(?:₹|rs\.?|inr)? ?({_NUMBER}) ?([a-z]*)", re.IGNORECASE)
_AREA = re.compile(rf"({_NUMBER}) ?([a-z][a-z. 2]*)?", re.IGNORECASE)
_BHK = re.compile(r"(\d+) ?(bhk|rk|bedrooms?|br)?", re.IGNORECASE)
_FLOOR = re.compile(
    r"(ground|upper basement|lower basement|\d+)(?: ?(?:out of|/|of) ?(\d+))?", re.IGNORECASE
)
_COUNT = re.compile(r"(\d+)\+?")
_FLOOR_WORDS = {"ground": 0.0, "upper basement": -1.0, "lower basement": -2.0}


def _compact(value: object) -> str | None:
    """The text trimmed, whitespace runs folded; None when missing, blank or over the limit."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = " ".join(str(value).split())
    if not text or len(text) > MAX_TEXT_LENGTH:
        return None
    return text


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def parse_price_lakhs(value: object) -> float:
    """Lakh rupees from "85 Lac", "1.2 Cr", "₹ 95,00,000" (rupees); NaN if unparseable."""
    text = _compact(value)
    match = _PRICE.fullmatch(text) if text else None
    if not match:
        return math.nan
    number, unit = _number(match.group(1)), match.group(2).lower()
    if unit:
        factor = LAKHS_PER_UNIT.get(unit)
        if factor is None:
            return math.nan
        lakhs = number * factor
    else:
        lakhs = number / 100_000  # a bare amount is in rupees
    return lakhs if lakhs > 0 else math.nan


def parse_area_sqft(value: object) -> float:
    """Square feet from "1100 sqft", "102 sqm", "1,250 sq.ft."; a bare number is square feet;
    NaN if unparseable."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value) if math.isfinite(value) and value > 0 else math.nan
    text = _compact(value)
    match = _AREA.fullmatch(text) if text else None
    if not match:
        return math.nan
    unit = re.sub(r"[ .]", "", (match.group(2) or "sqft").lower())
    factor = SQFT_PER_UNIT.get(unit)
    if factor is None:
        return math.nan
    area = _number(match.group(1)) * factor
    return area if area > 0 else math.nan


def parse_bhk(value: object) -> float:
    """Bedrooms from "2 BHK", "3", "4 Bedroom" or "1 RK" (a studio counts as one); NaN if not."""
    text = _compact(value)
    match = _BHK.fullmatch(text) if text else None
    if not match:
        return math.nan
    rooms = int(match.group(1))
    return float(rooms) if 1 <= rooms <= 50 else math.nan


def parse_floor(value: object) -> tuple[float, float]:
    """(floor, floors in the building) from "3 out of 10", "Ground out of 4", "2"; NaN where
    not given or unparseable."""
    text = _compact(value)
    match = _FLOOR.fullmatch(text) if text else None
    if not match:
        return math.nan, math.nan
    level = match.group(1).lower()
    floor = _FLOOR_WORDS[level] if level in _FLOOR_WORDS else float(level)
    total = float(match.group(2)) if match.group(2) else math.nan
    if not math.isnan(total) and (total < 1 or floor > total):
        return math.nan, math.nan
    return floor, total


def parse_count(value: object) -> float:
    """A room count from "2", "3+" or 2; NaN if unparseable."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value) if math.isfinite(value) and value >= 0 else math.nan
    text = _compact(value)
    match = _COUNT.fullmatch(text) if text else None
    return float(match.group(1)) if match else math.nan


def category(value: object, choices: tuple[str, ...]) -> str | None:
    """The choice `value` names, matched without regard to case, spaces or hyphens; None if
    missing or not one of them."""
    text = _compact(value)
    if text is None:
        return None
    key = re.sub(r"[\s-]", "", text).casefold()
    for choice in choices:
        if re.sub(r"[\s-]", "", choice).casefold() == key:
            return choice
    return None


def ready_to_move(value: object) -> float:
    """1.0 for "Ready to Move", 0.0 for "Under Construction" (or a possession date), NaN if
    missing."""
    text = _compact(value)
    if text is None:
        return math.nan
    lowered = text.casefold()
    if "ready" in lowered or "immediate" in lowered:
        return 1.0
    return 0.0


def locality_key(value: object) -> str | None:
    """The text of a locality, trimmed and whitespace folded (None when blank)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = " ".join(str(value).split())
    return text or None
