"""Masking secrets (URL passwords, webhook paths, tokens) before anything is written or logged."""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit

MASK = "***"

# Names of settings keys and URL query parameters whose values are credentials.
_SECRET_NAME = re.compile(r"pass(word|wd)?|pwd|secret|token|api[_-]?key|access[_-]?key|"
                          r"signature|\bsig\b|auth(?!or)|credential|private[_-]?key",
                          re.IGNORECASE)
# scheme://userinfo@rest. Greedy up to the last "@": a password with an unencoded "@" or "/"
# is masked whole (masking a little too much is fine, leaking its tail is not).
_USERINFO = re.compile(r"^(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<userinfo>.*)@(?P<tail>[^@]*)$",
                       re.DOTALL)
_QUERY_PAIR = re.compile(r"(?P<key>[^=&;#?]+)=(?P<value>[^&;#]*)")


def mask_url(url: str) -> str:
    """`url` with its password and credential-like query values as ***; scheme, user, host,
    port, path (a database name) and other parameters kept, so it still says where it points."""
    masked = url
    match = _USERINFO.match(url)
    if match:
        user, colon, _ = match["userinfo"].partition(":")
        # A ":" only after a "/", "?" or "#" belongs to the path or query, not to userinfo.
        if colon and not re.search(r"[/?#]", user):
            masked = f"{match['head']}{user}:{MASK}@{match['tail']}"
    head, question, query = masked.partition("?")
    if not question:
        return masked

    def _pair(pair: re.Match[str]) -> str:
        secret = _SECRET_NAME.search(pair["key"])
        return f"{pair['key']}={MASK}" if secret else pair[0]

    return f"{head}?{_QUERY_PAIR.sub(_pair, query)}"


def mask_webhook_url(url: str) -> str:
    """A webhook URL as scheme://host[:port]/***: services put their tokens in the path and
    query (Slack, Teams, Discord), so only where it goes is kept."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
        port = parts.port
    except ValueError:
        return MASK
    if not parts.scheme or not host:
        return MASK
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    hidden = parts.path not in ("", "/") or parts.query or parts.fragment or parts.username
    return f"{parts.scheme}://{netloc}/{MASK}" if hidden else f"{parts.scheme}://{netloc}/"


def mask_text(text: str, secrets: Iterable[str | None]) -> str:
    """`text` with every occurrence of the given secret values replaced by ***.

    For free text built by libraries (exception messages quote the URL they failed on).
    """
    # Longest first, so a secret containing another one is masked whole.
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def mask_tree(data: Any) -> Any:
    """JSON-like `data` with secrets masked: values of keys named like credentials (token,
    password, secret, ...) become ***, and every URL in a string loses its password."""
    if isinstance(data, dict):
        return {key: (MASK if isinstance(key, str) and _SECRET_NAME.search(key)
                      and isinstance(value, str) and value else mask_tree(value))
                for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [mask_tree(value) for value in data]
    if isinstance(data, str) and "://" in data:
        return mask_url(data)
    return data


class RedactingFilter(logging.Filter):
    """A logging filter replacing given secret values in a record's final message by ***."""

    def __init__(self, secrets: Iterable[str | None]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message with the secrets masked; never drops a record."""
        message = record.getMessage()
        masked = mask_text(message, self.secrets)
        if masked != message:
            record.msg, record.args = masked, None
        return True


@contextlib.contextmanager
def redacted_logs(logger_name: str, secrets: Iterable[str | None]) -> Iterator[None]:
    """Mask `secrets` in what the library logger `logger_name` logs inside the block.

    For libraries that log the URLs they call (httpx logs every request's full URL at INFO).
    """
    logger = logging.getLogger(logger_name)
    redacting = RedactingFilter(secrets)
    logger.addFilter(redacting)
    try:
        yield
    finally:
        logger.removeFilter(redacting)
