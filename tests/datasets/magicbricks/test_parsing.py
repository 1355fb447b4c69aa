"""The magicbricks parsers read the texts portals show, to exact values, and refuse the rest."""

from __future__ import annotations

import math

import pytest

from homeprice.datasets.magicbricks.parsing import (
    FURNISHING,
    category,
    parse_area_sqft,
    parse_bhk,
    parse_count,
    parse_floor,
    parse_price_lakhs,
    ready_to_move,
)


@pytest.mark.parametrize(
    ("text", "lakhs"),
    [
        ("85 Lac", 85.0),
        ("85 Lacs", 85.0),
        ("72.5 Lakh", 72.5),
        ("1.2 Cr", 120.0),
        ("1.20 Cr", 120.0),
        ("2 Crore", 200.0),
        ("₹ 95,00,000", 95.0),
        ("₹1.05 Cr", 105.0),
        ("Rs. 45 Lac", 45.0),
        (" 39.07  Lac ", 39.07),
    ],
)
def test_prices_in_lakhs(text: str, lakhs: float) -> None:
    assert parse_price_lakhs(text) == pytest.approx(lakhs)


@pytest.mark.parametrize(
    "text", ["Price on Request", "", None, "85 Dollars", "0 Lac", "1" * 101, "Cr 1.2"]
)
def test_unreadable_prices(text: object) -> None:
    assert math.isnan(parse_price_lakhs(text))


@pytest.mark.parametrize(
    ("text", "sqft"),
    [
        ("1100 sqft", 1100.0),
        ("1,250 sq.ft.", 1250.0),
        ("1100", 1100.0),
        (1100, 1100.0),
        ("100 sqm", 1076.39),
        ("98.1 sq. meter", 98.1 * 10.7639),
        ("200 sqyrd", 1800.0),
        ("1 acre", 43560.0),
    ],
)
def test_areas_in_square_feet(text: object, sqft: float) -> None:
    assert parse_area_sqft(text) == pytest.approx(sqft)


@pytest.mark.parametrize("text", ["big", "1100 furlongs", "0 sqft", None, "", -5.0])
def test_unreadable_areas(text: object) -> None:
    assert math.isnan(parse_area_sqft(text))


def test_bhk_floor_counts_and_categories() -> None:
    assert [parse_bhk(t) for t in ("2 BHK", "3", "4 Bedroom", "1 RK")] == [2.0, 3.0, 4.0, 1.0]
    assert all(math.isnan(parse_bhk(t)) for t in ("0 BHK", "Studio", None, "99 BHK"))
    assert parse_floor("3 out of 10") == (3.0, 10.0)
    assert parse_floor("Ground out of 4") == (0.0, 4.0)
    assert parse_floor("Lower Basement out of 3") == (-2.0, 3.0)
    floor, total = parse_floor("7")
    assert floor == 7.0 and math.isnan(total)
    assert all(math.isnan(parse_floor(t)[0]) for t in ("12 out of 10", "top", None))
    assert [parse_count(v) for v in ("2", "3+", 4)] == [2.0, 3.0, 4.0]
    assert math.isnan(parse_count("many"))
    assert category("semi furnished", FURNISHING) == "Semi-Furnished"
    assert category("UNFURNISHED", FURNISHING) == "Unfurnished"
    assert category("partly", FURNISHING) is None
    assert (ready_to_move("Ready to Move"), ready_to_move("Under Construction")) == (1.0, 0.0)
    assert math.isnan(ready_to_move(None))
