"""Error types: each carries the CLI exit code and a one-line message for the user."""

from __future__ import annotations


class HomepriceError(Exception):
    """Any failure homeprice reports to the user without a traceback (exit code 1)."""

    exit_code = 1


class UserInputError(HomepriceError):
    """The user's input or usage is wrong (exit code 2): a file, a flag, a value."""

    exit_code = 2


class SourceError(UserInputError):
    """A data source cannot be found, read or downloaded."""


class ChecksumMismatchError(SourceError):
    """The fetched content does not have the expected sha256."""


class DataValidationError(UserInputError):
    """Data breaks a critical rule (missing column, unparseable value, empty file)."""

    def __init__(self, message: str, report: dict | None = None) -> None:
        super().__init__(message)
        self.report = report


class NotEnoughDataError(HomepriceError):
    """There is too little data yet for a check (no champion, too few logged requests).

    Scheduled jobs treat it as "nothing to do yet", not as a failure.
    """


class LakeError(HomepriceError):
    """Something expected in the lake is missing or inconsistent."""
