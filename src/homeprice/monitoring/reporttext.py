"""Logged client text made harmless before it reaches an HTML report.

Evidently embeds the data of a report as JSON inside a `<script>` block, and a category value
is client input (a `location` anyone can send). JSON escaping does not stop a `</script>` in a
string from closing that block, so every character that can end or open markup, start an
entity, or end a JavaScript string or line is replaced by a look-alike that renders the same
to a reader and means nothing to a browser.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

_LOOK_ALIKES = str.maketrans({
    "<": "\u2039",   # single left-pointing angle quotation mark
    ">": "\u203a",   # single right-pointing angle quotation mark
    "&": "\uff06",   # full-width ampersand
    '"': "\uff02",   # full-width quotation mark
    "'": "\uff07",   # full-width apostrophe
    "`": "\uff40",   # full-width grave accent (template literals)
    "\\": "\uff3c",  # full-width reverse solidus (escape sequences)
    "\u2028": " ",   # line/paragraph separators end a JavaScript string in older engines
    "\u2029": " ",
    **{chr(code): " " for code in (*range(0x00, 0x20), 0x7f)},  # control characters
})


def safe_text(value: Any) -> Any:
    """A string with markup, quote, escape and line-breaking characters replaced by harmless
    look-alikes; anything else (numbers, missing values) unchanged."""
    return value.translate(_LOOK_ALIKES) if isinstance(value, str) else value


def safe_columns(frame: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    """`frame` with the text of `columns` made safe (the same mapping for every frame, so
    equal categories stay equal between the reference and the current window)."""
    return frame.assign(**{column: frame[column].map(safe_text, na_action="ignore")
                           for column in columns})
