"""Ages and periods written the way operators type them: `90d`, `12h`, `2w`, `30m`, `45s`."""

from __future__ import annotations

import re
from datetime import timedelta

from homeprice.errors import UserInputError

# Whole numbers only: "1.5d" reads as a typo more often than as 36 hours, and `36h` says it.
_DURATION = re.compile(r"(?P<number>[0-9]{1,6})(?P<unit>[smhdw])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
EXAMPLES = "90d, 12h, 2w, 30m or 45s"


def parse_duration(text: str, what: str = "duration") -> timedelta:
    """'90d' -> timedelta(days=90); a UserInputError naming `what` for anything else.

    Units: s, m (minutes), h, d, w; the number is a positive whole number.
    """
    cleaned = text.strip().lower() if isinstance(text, str) else ""
    match = _DURATION.fullmatch(cleaned)
    if match is None:
        raise UserInputError(f"{what} {text!r} is not a duration: write a whole number and a "
                             f"unit s, m, h, d or w (e.g. {EXAMPLES})")
    number = int(match["number"])
    if number == 0:
        raise UserInputError(f"{what} {text!r} must be longer than zero (e.g. {EXAMPLES})")
    return timedelta(**{_UNITS[match["unit"]]: number})
