"""The published text patterns of the Bengaluru API agree with the parsers behind them."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from homeprice.datasets.bengaluru.parsing import parse_availability, parse_size, parse_sqft
from homeprice.datasets.bengaluru.textformats import (
    AVAILABILITY_PATTERN,
    MAX_SQFT,
    SIZE_PATTERN,
    SQFT_PATTERN,
    is_area_text,
    is_size_text,
)


@settings(max_examples=300, deadline=None)
@given(st.from_regex(SQFT_PATTERN))
def test_every_area_the_pattern_accepts_parses_within_bounds(text: str) -> None:
    area = parse_sqft(text)
    assert 0 < area <= MAX_SQFT, text


@settings(max_examples=200, deadline=None)
@given(st.from_regex(SIZE_PATTERN))
def test_every_size_the_pattern_accepts_has_1_to_20_rooms(text: str) -> None:
    assert 1 <= parse_size(text) <= 20, text


@settings(max_examples=200, deadline=None)
@given(st.from_regex(AVAILABILITY_PATTERN))
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
