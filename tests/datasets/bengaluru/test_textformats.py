"""The published text patterns of the Bengaluru API agree with the parsers behind them."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from homeprice.datasets.bengaluru import textformats
from homeprice.datasets.bengaluru.parsing import (
    MAX_TEXT_LENGTH,
    parse_availability,
    parse_size,
    parse_sqft,
)
from homeprice.datasets.bengaluru.textformats import (
    AVAILABILITY_PATTERN,
    MAX_SQFT,
    SIZE_PATTERN,
    SQFT_PATTERN,
    is_area_text,
    is_availability_text,
    is_size_text,
)


def _accepted(pattern: str) -> st.SearchStrategy[str]:
    """Texts the API accepts: the pattern's, within the length every parsed text field has
    (pydantic refuses longer ones before the pattern runs, and the parsers read none)."""
    return st.from_regex(pattern).filter(lambda text: len(text) <= MAX_TEXT_LENGTH)


@settings(max_examples=300, deadline=None)
@given(_accepted(SQFT_PATTERN))
def test_every_area_the_pattern_accepts_parses_within_bounds(text: str) -> None:
    area = parse_sqft(text)
    assert 0 < area <= MAX_SQFT, text


@settings(max_examples=200, deadline=None)
@given(_accepted(SIZE_PATTERN))
def test_every_size_the_pattern_accepts_has_1_to_20_rooms(text: str) -> None:
    assert 1 <= parse_size(text) <= 20, text


@settings(max_examples=200, deadline=None)
@given(_accepted(AVAILABILITY_PATTERN))
def test_every_availability_the_pattern_accepts_parses(text: str) -> None:
    assert parse_availability(text)[0] is not None, text


@pytest.mark.parametrize("text", ["1200", "2100 - 2850", "34.46Sq. Meter", "5 acres",
                                  "0.5", " 1056 ", "3Cents", "0 - 10"])
def test_source_examples_are_accepted(text: str) -> None:
    assert is_area_text(text)


@pytest.mark.parametrize("text", ["0", "0.0", "0 - 0", "1 2", "12 furlongs", "500 acres",
                                  "99999999", "-5", "1e5", "١٢٠٠"])
def test_zero_unknown_units_and_huge_areas_are_refused(text: str) -> None:
    assert not is_area_text(text)


@pytest.mark.parametrize(("text", "ok"), [("2 BHK", True), ("4 Bedroom", True), ("1 RK", True),
                                          ("20", True), ("0 BHK", False), ("21 BHK", False),
                                          ("2 rooms", False)])
def test_sizes(text: str, ok: bool) -> None:
    assert is_size_text(text) is ok


# The builders below run once, at import, to make the published patterns; these tests call
# them again, so a change to a builder fails here and not only through the compiled patterns.


def test_anycase_spells_every_letter_in_both_cases_and_escapes_the_rest() -> None:
    # Guards: a class per letter (no flag: JSON Schema patterns have none), punctuation escaped.
    assert textformats._anycase("sq.") == r"[Ss][Qq]\."
    assert textformats._anycase("b2") == "[Bb]2"
    assert re.fullmatch(textformats._anycase("Meter"), "mETer")
    assert not re.fullmatch(textformats._anycase("sq."), "sqx")


def test_phrase_allows_any_whitespace_between_words_only() -> None:
    # Guards: words joined by one-or-more whitespace, each word in any case.
    pattern = textformats._phrase("ready to move")
    assert pattern == r"[Rr][Ee][Aa][Dd][Yy]\s+[Tt][Oo]\s+[Mm][Oo][Vv][Ee]"
    assert re.fullmatch(pattern, "READY \t to  Move")
    assert not re.fullmatch(pattern, "readyto move")


@pytest.mark.parametrize(("text", "ok"), [
    ("1", True), ("999", True), ("0999", True), ("1000", False), ("0", False), ("0.0", False),
    (".", False), (".5", True), ("0.5", True), ("12.", True), ("12.75", True), ("00.010", True),
    ("-1", False), ("1e3", False)])
def test_positive_numbers_with_at_most_three_integer_digits(text: str, ok: bool) -> None:
    # Guards: above zero, leading zeros aside at most `max_digits` integer digits, decimals free.
    assert bool(re.fullmatch(textformats._positive(3), text)) is ok


@pytest.mark.parametrize(("text", "ok"), [
    ("0", True), ("00", True), ("99", True), ("099", True), ("100", False), ("0.0", True),
    (".5", True), (".", False), ("7.", True), ("", False)])
def test_numbers_zero_included_with_at_most_two_integer_digits(text: str, ok: bool) -> None:
    # Guards: zero allowed, at most `max_digits` integer digits, a lone dot refused.
    assert bool(re.fullmatch(textformats._number(2), text)) is ok


@pytest.mark.parametrize(("name", "text", "ok"), [
    ("sq. meter", "Sq. Meter", True), ("sq. meter", "sq.meter", True),
    ("sq. meter", "SQ.   METER", True), ("sq. meter", "sq meter", False),
    ("acres", "ACRES", True), ("acres", "acre", False)])
def test_unit_spellings(name: str, text: str, ok: bool) -> None:
    # Guards: "sq. X" units take any space after the dot (as the parser folds it), others are
    # the word in any case.
    assert bool(re.fullmatch(textformats._unit(name), text)) is ok


@pytest.mark.parametrize(("text", "ok"), [("Ready To Move", True), ("19-Dec", True),
                                          ("immediate   possession", True), ("soon", False),
                                          ("19-Dex", False)])
def test_availability_texts(text: str, ok: bool) -> None:
    # Guards: is_availability_text is the published pattern, true for its texts only.
    assert is_availability_text(text) is ok


# JSON Schema patterns are ECMA-262 regexes, whose \s is this class (not Python's).
ECMA_WHITESPACE = "\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"


def test_the_published_visible_pattern_agrees_with_the_servers_blanks() -> None:
    """A location the schema's pattern accepts, read as a JSON Schema (ECMA) regex, is never
    blank to the server: Python's str.split also splits on U+001C-U+001F and U+0085, which
    ECMA's \\S lets through (found by schemathesis: a location of "\\x1f" got a 422)."""
    from homeprice.datasets.bengaluru.request import _VISIBLE

    as_ecma = _VISIBLE.replace(r"\s", ECMA_WHITESPACE)
    assert as_ecma != _VISIBLE
    for code in range(0x10000):
        char = chr(code)
        if 0xD800 <= code <= 0xDFFF:
            continue  # lone surrogates are not valid JSON text
        accepted = re.fullmatch(as_ecma, char) is not None
        blank = not char.split()
        # The pattern may refuse more than the server (U+FEFF is ECMA whitespace only).
        assert not (accepted and blank), hex(code)
        assert accepted or blank or char == "\ufeff", hex(code)
