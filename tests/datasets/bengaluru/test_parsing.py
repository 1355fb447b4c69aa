"""Every Bengaluru parsing rule, with hypothesis for the number, range and unit parsers."""

from __future__ import annotations

import math
import time
from datetime import date

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from homeprice.datasets.bengaluru import parsing
from homeprice.datasets.bengaluru.parsing import (
    SQFT_PER_UNIT,
    normalise_text,
    parse_availability,
    parse_size,
    parse_sqft,
)
from homeprice.datasets.bengaluru.source import Bengaluru

areas = st.floats(min_value=0.01, max_value=1e6, allow_nan=False, allow_infinity=False)


def _fmt(x: float) -> str:
    return f"{x:.4f}".rstrip("0").rstrip(".")


@given(areas)
def test_plain_number_is_square_feet(x: float) -> None:
    assert parse_sqft(_fmt(x)) == pytest.approx(float(_fmt(x)))


@given(areas, areas)
def test_range_is_its_midpoint(a: float, b: float) -> None:
    text = f"{_fmt(a)} - {_fmt(b)}"
    assert parse_sqft(text) == pytest.approx((float(_fmt(a)) + float(_fmt(b))) / 2)


@given(areas, st.sampled_from(["Sq. Meter", "Sq. Yards", "Acres", "Cents", "Guntha",
                               "Grounds", "Perch"]), st.sampled_from(["", " "]))
def test_units_convert_to_square_feet(x: float, unit: str, space: str) -> None:
    expected = float(_fmt(x)) * SQFT_PER_UNIT[unit.lower()]
    assert parse_sqft(f"{_fmt(x)}{space}{unit}") == pytest.approx(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1056", 1056.0), ("2100 - 2850", 2475.0), ("34.46Sq. Meter", 34.46 * 10.7639),
     ("1Grounds", 2400.0), ("3Acres", 3 * 43_560.0), ("1500.5", 1500.5), (1200, 1200.0)],
)
def test_source_examples(text: object, expected: float) -> None:
    assert parse_sqft(text) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["", "abc", "12 parsecs", "0", "-5", "1 - ", None, math.nan])
def test_unparseable_area_is_nan(text: object) -> None:
    assert math.isnan(parse_sqft(text))


@given(st.integers(min_value=1, max_value=50), st.sampled_from(["BHK", "Bedroom", "RK", "bhk"]))
def test_size_gives_bedrooms(n: int, word: str) -> None:
    assert parse_size(f"{n} {word}") == n


@pytest.mark.parametrize("text", ["", "BHK", "0 BHK", "two BHK", None, "2.5"])
def test_unparseable_size_is_nan(text: object) -> None:
    assert math.isnan(parse_size(text))


def test_availability() -> None:
    assert parse_availability("Ready To Move") == (True, None)
    assert parse_availability("Immediate Possession") == (True, None)
    assert parse_availability("18-Dec") == (False, date(2018, 12, 1))
    assert parse_availability("21-Jun") == (False, date(2021, 6, 1))
    assert parse_availability("soon") == (None, None)
    assert parse_availability(None) == (None, None)


@given(st.text(alphabet=" \tab", max_size=12))
def test_whitespace_is_normalised(text: str) -> None:
    result = normalise_text(text)
    if text.split():
        assert result == " ".join(text.split())
    else:
        assert result is None


def test_parse_accepts_source_and_parsed_rows_alike() -> None:
    """The same parse serves training (source format) and prediction (either format)."""
    dataset = Bengaluru()
    source = pd.DataFrame([{"area_type": "Plot  Area", "availability": "Ready To Move",
                            "location": "  Whitefield ", "size": "3 BHK", "society": None,
                            "total_sqft": "1200 - 1400", "bath": "2", "balcony": "1"}])
    parsed = dataset.parse(source)
    assert parsed.loc[0, "bedrooms"] == 3
    assert parsed.loc[0, "total_sqft"] == 1300
    assert parsed.loc[0, "location"] == "Whitefield"
    assert parsed.loc[0, "area_type"] == "Plot Area"
    assert parsed.loc[0, "ready_to_move"] == 1.0
    again = dataset.parse(parsed.drop(columns=["available_from"]))
    cols = list(dataset.feature_columns)
    pd.testing.assert_frame_equal(again[cols], parsed[cols])


# Inputs that made the old patterns backtrack (cubic in the run of spaces): 1.5 KB took 7 s.
HOSTILE = ["1" + " " * 100_000 + "!", "1 " + "Sq " * 33_000 + "!", "2" + " " * 100_000 + "x",
           "12-" + " " * 100_000 + "Dec!"]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("text", HOSTILE)
def test_patterns_are_linear_on_hostile_text(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the length limit lifted, 100 KB of hostile text is still refused at once."""
    monkeypatch.setattr(parsing, "MAX_TEXT_LENGTH", 10**7)
    started = time.perf_counter()
    assert math.isnan(parsing.parse_sqft(text))
    assert math.isnan(parsing.parse_size(text))
    assert parsing.parse_availability(text) == (None, None)
    # Linear: milliseconds. The old patterns needed minutes on this input.
    assert time.perf_counter() - started < 2.0


def test_text_over_the_limit_is_not_parsed() -> None:
    padded = "1200" + " " * parsing.MAX_TEXT_LENGTH
    assert math.isnan(parsing.parse_sqft(padded))
    assert parsing.parse_sqft("  1200  ") == 1200.0


@pytest.mark.parametrize(("value", "expected"), [
    (1, 1.0), (3.0, 3.0), (20, 20.0), (0, math.nan), (0.5, math.nan), (2.5, math.nan),
    (-2, math.nan), (math.inf, math.nan), (math.nan, math.nan)])
def test_numeric_sizes(value: float, expected: float) -> None:
    # Guards: a numeric size (an already-parsed row, a JSON number) is a whole number of rooms,
    # at least one and finite; anything else is NaN, not a fraction of a bedroom.
    got = parse_size(value)
    assert (math.isnan(got) and math.isnan(expected)) or got == expected


def test_an_over_long_size_text_is_nan() -> None:
    # Guards: text past MAX_TEXT_LENGTH is refused before the pattern runs (no error).
    assert math.isnan(parse_size("2" + " " * parsing.MAX_TEXT_LENGTH + "BHK"))


def test_a_missing_availability_is_unknown() -> None:
    # Guards: NaN (pandas' missing value in an object column) is unknown, not text "nan".
    assert parse_availability(math.nan) == (None, None)
    assert parse_availability(None) == (None, None)


@pytest.mark.parametrize(("value", "expected"), [
    (1056, 1056.0), (0.5, 0.5), (0, math.nan), (-3.0, math.nan), (math.inf, math.nan)])
def test_numeric_areas(value: float, expected: float) -> None:
    # Guards: a numeric area is taken as square feet when positive and finite (half a square
    # foot included), NaN otherwise.
    got = parse_sqft(value)
    assert (math.isnan(got) and math.isnan(expected)) or got == expected


def test_a_text_of_exactly_the_limit_is_parsed() -> None:
    # Guards: MAX_TEXT_LENGTH is the longest text read, not the first one refused.
    text = "2 BHK".ljust(parsing.MAX_TEXT_LENGTH)
    assert len(text) == parsing.MAX_TEXT_LENGTH and parse_size(text) == 2.0
