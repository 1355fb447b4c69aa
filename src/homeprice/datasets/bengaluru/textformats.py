"""The text forms the Bengaluru API accepts for total_sqft, size and availability, as regular
expressions that are both published in the OpenAPI schema and enforced by the request model.

One pattern per field is the single source of truth: a client (or a fuzzer) reading the schema
knows exactly which texts are accepted, and the server refuses exactly the others. The patterns
spell out what the parsers (homeprice.datasets.bengaluru.parsing) then read, including their
bounds: a positive area of at most 10,000,000 square feet (bounded per unit by the number of
integer digits), 1 to 20 rooms. They use only constructs shared by Python and ECMA-262 regular
expressions (no flags, no lookaround), ASCII digits, and whitespace where the parsers fold it.
"""

from __future__ import annotations

import re

# The largest area accepted, in square feet (numbers and texts alike).
MAX_SQFT = 10_000_000


def _anycase(word: str) -> str:
    """`word` matched in any letter case, without a flag (JSON Schema patterns have none)."""
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else re.escape(c) for c in word)


def _phrase(words: str) -> str:
    """A phrase in any case, its words separated by any whitespace."""
    return r"\s+".join(_anycase(word) for word in words.split())


def _positive(max_digits: int) -> str:
    """A decimal number above zero with at most `max_digits` integer digits (leading zeros
    aside): "1200", "0.5", ".5", "12." are; "0", "0.0", "." are not."""
    return (rf"(?:0*[1-9][0-9]{{0,{max_digits - 1}}}(?:\.[0-9]*)?"
            rf"|0*\.[0-9]*[1-9][0-9]*)")


def _number(max_digits: int) -> str:
    """A decimal number, zero included, with at most `max_digits` integer digits."""
    return rf"(?:0*[0-9]{{1,{max_digits}}}(?:\.[0-9]*)?|\.[0-9]+)"


# Integer digits allowed per unit, so that the area stays within MAX_SQFT: 10**digits times
# the unit's square feet is at most MAX_SQFT (e.g. acres: 99.99 acres is 4.4 million sq ft).
_UNIT_DIGITS = {"sq. meter": 5, "sq. yards": 6, "acres": 2, "cents": 4, "guntha": 3,
                "grounds": 3, "perch": 4}


def _unit(name: str) -> str:
    # The parser reads "sq.meter", "Sq. Meter" and "SQ.   METER" alike.
    if name.startswith("sq. "):
        return _anycase("sq.") + r"\s*" + _anycase(name[4:])
    return _anycase(name)


_PLAIN_DIGITS = 7  # 9,999,999.99 sq ft at most
_AREA_FORMS = [
    _positive(_PLAIN_DIGITS),
    # A range is priced at its midpoint: positive when either end is.
    rf"{_positive(_PLAIN_DIGITS)}\s*-\s*{_number(_PLAIN_DIGITS)}",
    rf"{_number(_PLAIN_DIGITS)}\s*-\s*{_positive(_PLAIN_DIGITS)}",
    *(rf"{_positive(digits)}\s*{_unit(name)}" for name, digits in _UNIT_DIGITS.items()),
]
SQFT_PATTERN = rf"^\s*(?:{'|'.join(_AREA_FORMS)})\s*$"

_ROOMS = r"0*(?:[1-9]|1[0-9]|20)"
_ROOM_WORDS = "|".join(_anycase(w) for w in ("bhk", "bedrooms", "bedroom", "rk", "br"))
SIZE_PATTERN = rf"^\s*{_ROOMS}(?:\s*(?:{_ROOM_WORDS}))?\s*$"

_MONTHS = "|".join(_anycase(m) for m in ("jan", "feb", "mar", "apr", "may", "jun", "jul",
                                          "aug", "sep", "oct", "nov", "dec"))
AVAILABILITY_PATTERN = (rf"^\s*(?:{_phrase('ready to move')}|{_phrase('immediate possession')}"
                        rf"|[0-9]{{2}}-(?:{_MONTHS}))\s*$")

_SQFT = re.compile(SQFT_PATTERN)
_SIZE = re.compile(SIZE_PATTERN)
_AVAILABILITY = re.compile(AVAILABILITY_PATTERN)


def is_area_text(text: str) -> bool:
    """True if `text` is an accepted total_sqft text."""
    return _SQFT.fullmatch(text) is not None


def is_size_text(text: str) -> bool:
    """True if `text` is an accepted size text ("2 BHK", "4 Bedroom", "1 RK", "3")."""
    return _SIZE.fullmatch(text) is not None


def is_availability_text(text: str) -> bool:
    """True if `text` is an accepted availability ("Ready To Move", "19-Dec")."""
    return _AVAILABILITY.fullmatch(text) is not None
