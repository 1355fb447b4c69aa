"""Bengaluru's level keys and column checks: exact values, so a changed rule shows."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from homeprice.datasets.bengaluru.parsing import (
    level_key,
    normalise_text,
    size_is_parseable,
    sqft_is_parseable,
)


@pytest.mark.parametrize("text", ["Whitefield", "whitefield", "  WHITEFIELD ", "White\u00adfield",
                                  "Whitefield\u200b", "\ufeffWhitefield", "Ｗｈｉｔｅｆｉｅｌｄ",
                                  "White\u200dfield"])
def test_spellings_of_one_place_share_a_key(text: str) -> None:
    """Guards each folding step: case, outer whitespace, invisible format characters (soft
    hyphen, zero-width space and joiner, BOM) and full-width forms."""
    assert level_key(text) == "whitefield"


@pytest.mark.parametrize(("text", "key"), [
    ("Electronic  City\tPhase II", "electronic city phase ii"),   # ASCII runs collapse
    ("Electronic\u00a0City \u2003Phase II", "electronic city phase ii"),  # Unicode spaces too
    ("Straße", "strasse"),  # case folding, not lower(): ß folds to ss
    ("Café Layout", "café layout"),  # letters outside ASCII stay
])
def test_keys_collapse_whitespace_and_fold_case(text: str, key: str) -> None:
    assert level_key(text) == key


def test_different_places_keep_different_keys() -> None:
    assert len({level_key(t) for t in ("Whitefield", "White field", "Whitefields")}) == 3


@pytest.mark.parametrize(("value", "expected"), [
    (None, None), (math.nan, None), (pd.NA, None), ("   ", None), ("", None),
    ("  Sarjapur   Road ", "Sarjapur Road"), ("a\tb\nc", "a b c"), (12, "12"),
])
def test_normalise_text(value: object, expected: object) -> None:
    """Guards trimming, folding of whitespace runs, and blanks and missing values as None."""
    assert normalise_text(value) == expected


def test_column_checks_accept_missing_and_parseable_values_only() -> None:
    """Guards the column checks used by validation: missing is acceptable (cleaning counts it),
    anything else must parse."""
    sqft = pd.Series([None, "1056", "2100 - 2850", "34.46Sq. Meter", "huge", "0", "1 Acre X"])
    assert sqft_is_parseable(sqft).tolist() == [True, True, True, True, False, False, False]
    size = pd.Series([None, "2 BHK", "4 Bedroom", "1 RK", "0 BHK", "many", "3.5"])
    assert size_is_parseable(size).tolist() == [True, True, True, True, False, False, False]
