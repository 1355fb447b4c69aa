"""Durations as operators type them (`90d`), and a clear refusal of anything else."""

from __future__ import annotations

from datetime import timedelta

import pytest

from homeprice.durations import parse_duration
from homeprice.errors import UserInputError


@pytest.mark.parametrize(("text", "expected"), [
    ("90d", timedelta(days=90)), ("12h", timedelta(hours=12)), ("2w", timedelta(weeks=2)),
    ("30m", timedelta(minutes=30)), ("45s", timedelta(seconds=45)), (" 7D ", timedelta(days=7)),
])
def test_durations_parse(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["90", "d", "90 days", "1.5d", "-3d", "90y", "", "3d4h",
                                  "9999999d"])
def test_anything_else_is_refused_naming_the_value(text: str) -> None:
    with pytest.raises(UserInputError, match=r"--older-than .* is not a duration.*e\.g\. 90d"):
        parse_duration(text, "--older-than")


def test_zero_is_refused() -> None:
    with pytest.raises(UserInputError, match="longer than zero"):
        parse_duration("0d", "--older-than")
