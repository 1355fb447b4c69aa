"""Scrubs local file paths, file URIs and URL credentials out of text sent to clients: error
bodies and GET /v1/models must not reveal the server's layout or OS user names."""

from __future__ import annotations

import re

# file:///home/alice/..., sqlite:////home/alice/x.db, and the like: the whole URI goes.
_FILE_URI = re.compile(r"\b(?:file|sqlite|mlflow-artifacts)[a-z+]*:/+[^\s'\"<>),;]*", re.I)
# user:password@ in any URL.
_URL_CREDENTIALS = re.compile(r"(\b[a-z][a-z0-9+.-]*://)[^\s/@'\"<>]+@", re.I)
# An absolute POSIX path of two or more segments (not an API path: those start /v1/) ...
_POSIX_PATH = re.compile(r"(?<![\w/.:-])/(?!v1/)[\w.@+~-]+(?:/[\w.@+~ -]*[\w.@+~-])+/?")
# ... a Windows path, and a home shorthand.
_WINDOWS_PATH = re.compile(r"\b[a-z]:\\[^\s'\"<>]*", re.I)
_HOME_SHORTHAND = re.compile(r"~[\w.-]*/[^\s'\"<>]*")
PLACEHOLDER = "<path>"


def redact(text: str) -> str:
    """`text` with local paths and file URIs replaced by <path>, URL credentials by ***."""
    text = _FILE_URI.sub(PLACEHOLDER, text)
    text = _URL_CREDENTIALS.sub(r"\1***@", text)
    text = _WINDOWS_PATH.sub(PLACEHOLDER, text)
    text = _HOME_SHORTHAND.sub(PLACEHOLDER, text)
    return _POSIX_PATH.sub(PLACEHOLDER, text)
