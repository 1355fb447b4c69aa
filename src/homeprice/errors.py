"""Error types: each carries the CLI exit code, the HTTP status and a one-line message for the
user."""

from __future__ import annotations


class HomepriceError(Exception):
    """Any failure homeprice reports to the user without a traceback (exit code 1).

    The API answers it with `http_status` and {"detail": message}: one exception handler maps
    every subclass, so no route guesses a status from the wording of a message.
    """

    exit_code = 1
    http_status = 500


class UserInputError(HomepriceError):
    """The user's input or usage is wrong (exit code 2, HTTP 400): a file, a flag, a value."""

    exit_code = 2
    http_status = 400


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


class NotFoundError(HomepriceError):
    """What a request names does not exist here (HTTP 404): e.g. a dataset this server does
    not serve."""

    http_status = 404


class ConflictError(HomepriceError):
    """The request contradicts the current state (HTTP 409): e.g. no previous champion to roll
    back to."""

    http_status = 409


class AlreadyChampionError(ConflictError, UserInputError):
    """The version to promote is the champion already: a conflict (HTTP 409) that the user's
    input caused (exit code 2, as every bad promotion)."""


class UnavailableError(HomepriceError):
    """Something a request needs is not available now (HTTP 503): no champion loaded yet, the
    prediction log unreachable. Asking again later may succeed."""

    http_status = 503


class BusyError(UnavailableError):
    """Too many costly computations are running (HTTP 503 with Retry-After): ask again in
    `retry_after` seconds."""

    def __init__(self, message: str, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class UnsupportedError(HomepriceError):
    """The loaded model cannot do what was asked (HTTP 501): e.g. explain a model type that
    has no explanation method."""

    http_status = 501
