"""Bengaluru's text parsers: listing sizes ("2 BHK"), areas ("2100 - 2850", "34.46Sq. Meter"),
availability ("Ready To Move", "18-Dec") and free text, shared by cleaning and the API."""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import date

import numpy as np
import pandas as pd

AREA_TYPES = ("Super built-up Area", "Built-up Area", "Plot Area", "Carpet Area")
READY_WORDS = ("ready to move", "immediate possession")

# Square feet per unit, for the units that appear in `total_sqft` (Indian land units included).
SQFT_PER_UNIT: dict[str, float] = {
    "sq. meter": 10.7639,
    "sq. yards": 9.0,
    "acres": 43_560.0,
    "cents": 435.6,
    "guntha": 1_089.0,
    "grounds": 2_400.0,
    "perch": 272.25,
}
# The patterns run on compacted text (trimmed, inner whitespace runs folded to one space), so
# none has two quantifiers that can match the same characters: matching is linear in the text's
# length. (Patterns such as `\s*([A-Za-z. ]+?)\s*$` backtrack cubically on a run of spaces: a
# 1.5 KB request took seconds to refuse, holding the event loop meanwhile.)
_NUMBER = r"\d+(?:\.\d*)?|\.\d+"
_PLAIN = re.compile(rf"({_NUMBER})")
_RANGE = re.compile(rf"({_NUMBER}) ?- ?({_NUMBER})")
_WITH_UNIT = re.compile(rf"({_NUMBER}) ?([A-Za-z.][A-Za-z. ]*)")
_SIZE = re.compile(r"(\d+) ?(bhk|bedroom|bedrooms|rk|br)?", re.IGNORECASE)
_AVAILABLE = re.compile(r"(\d{2})-([A-Za-z]{3})")
# Longer texts are not parsed at all: real values are a few dozen characters.
MAX_TEXT_LENGTH = 100
_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}


def _compact(value: object) -> str | None:
    """The text trimmed, with whitespace runs folded to one space; None when over the limit."""
    text = str(value)
    if len(text) > MAX_TEXT_LENGTH:
        return None
    return " ".join(text.split())


def _normalise_unit(unit: str) -> str:
    unit = " ".join(unit.lower().split())
    return unit.replace("sq.", "sq. ").replace("sq.  ", "sq. ").strip()


def parse_sqft(value: object) -> float:
    """Square feet from "1056", "2100 - 2850" (midpoint) or "34.46Sq. Meter"; NaN if unparseable."""
    if value is None:
        return math.nan
    if isinstance(value, (int, float, np.integer, np.floating)):
        number = float(value)
        return number if math.isfinite(number) and number > 0 else math.nan
    text = _compact(value)
    if text is None:
        return math.nan
    if match := _PLAIN.fullmatch(text):
        number = float(match.group(1))
    elif match := _RANGE.fullmatch(text):
        number = (float(match.group(1)) + float(match.group(2))) / 2
    elif match := _WITH_UNIT.fullmatch(text):
        factor = SQFT_PER_UNIT.get(_normalise_unit(match.group(2)))
        if factor is None:
            return math.nan
        number = float(match.group(1)) * factor
    else:
        return math.nan
    return number if number > 0 else math.nan


def parse_size(value: object) -> float:
    """Bedrooms from "2 BHK", "4 Bedroom" or "1 RK" (a studio counts as one); NaN if unparseable."""
    if value is None:
        return math.nan
    if isinstance(value, (int, float, np.integer, np.floating)):
        number = float(value)
        return number if math.isfinite(number) and number >= 1 and number.is_integer() else math.nan
    text = _compact(value)
    match = _SIZE.fullmatch(text) if text is not None else None
    if not match:
        return math.nan
    rooms = int(match.group(1))
    return float(rooms) if rooms >= 1 else math.nan


def parse_availability(value: object) -> tuple[bool | None, date | None]:
    """(ready to move, availability date): "Ready To Move" -> (True, None), "18-Dec" ->
    (False, 2018-12-01)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None, None
    text = _compact(value)
    if text is None:
        return None, None
    if text.lower() in READY_WORDS:
        return True, None
    if match := _AVAILABLE.fullmatch(text):
        month = _MONTHS.get(match.group(2).lower())
        if month is not None:
            return False, date(2000 + int(match.group(1)), month, 1)
    return None, None


def normalise_text(value: object) -> object:
    """Trim and collapse runs of whitespace; blanks become missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    text = " ".join(str(value).split())
    return text or None


def level_key(text: str) -> str:
    """The matching form of a free-text level (a location, a society): Unicode NFKC, without
    invisible format characters, whitespace collapsed, case-folded.

    "Whitefield", "whitefield ", "Ｗｈｉｔｅｆｉｅｌｄ" (full width) and "Whitefield\u200b" are
    one place to a buyer, so they must be one level to the model too.
    """
    if text.isascii():
        # The common case, kept cheap: it runs for every priced listing.
        return " ".join(text.split()).casefold()
    # NFKC folds full-width and compatibility forms; category Cf holds the zero-width space,
    # joiners, the BOM and bidirectional marks, which a copy-paste can carry invisibly.
    folded = unicodedata.normalize("NFKC", text)
    visible = "".join(ch for ch in folded if unicodedata.category(ch) != "Cf")
    return " ".join(visible.split()).casefold()


def sqft_is_parseable(series: pd.Series) -> pd.Series:
    return series.isna() | series.map(lambda v: not math.isnan(parse_sqft(v)))


def size_is_parseable(series: pd.Series) -> pd.Series:
    return series.isna() | series.map(lambda v: not math.isnan(parse_size(v)))
