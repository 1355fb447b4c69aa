"""Request body limits per route class (predict, feedback, admin, other), decided from the path
alone so a body can be refused before anything reads or parses it."""

from __future__ import annotations

from dataclasses import dataclass

from homeprice.config import ServingSettings

PREDICT, FEEDBACK, ADMIN, OTHER = "predict", "feedback", "admin", "other"
COMPARABLES = "comparables"


def route_class(path: str) -> str:
    """Which body limit applies to `path` (the ASGI path, without the query string)."""
    parts = path.strip("/").split("/")
    if len(parts) >= 2 and parts[0] == "v1":
        if parts[1] == "admin":
            return ADMIN
        if len(parts) == 3 and parts[2] in (PREDICT, FEEDBACK):
            return parts[2]
        if len(parts) == 3 and parts[2] == COMPARABLES:  # the same bodies as predict
            return PREDICT
    return OTHER


@dataclass(frozen=True)
class BodyLimits:
    """The largest body, in bytes, accepted per route class."""

    predict: int
    feedback: int
    admin: int
    other: int

    @classmethod
    def from_settings(cls, serving: ServingSettings) -> BodyLimits:
        """The limits configured in `serving` (predict derived from max_batch when unset)."""
        return cls(predict=serving.predict_body_bytes, feedback=serving.max_feedback_body_bytes,
                   admin=serving.max_admin_body_bytes, other=serving.max_other_body_bytes)

    def for_path(self, path: str) -> int:
        """The limit of the route class of `path`."""
        return getattr(self, route_class(path))


class BodyTooLarge(Exception):  # noqa: N818 - reads as the condition it signals
    """Raised by the guarded `receive` once a streamed body passes its limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"request body is larger than the limit of {limit} bytes")
        self.limit = limit
