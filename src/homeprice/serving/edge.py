"""The outermost layer of the serving app, in pure ASGI (BaseHTTPMiddleware would buffer every
body): it adds security headers to every answer, checks the admin and feedback tokens before
any body of theirs is read, and refuses bodies over their route's byte limit from
Content-Length at once or, when streamed, as soon as the bytes read pass the limit, before the
app parses anything. Single-home predict requests that are plainly valid are answered here by
the predict shortcut (serving/shortcut.py); the rest go on to the app with their body
replayed."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from homeprice.serving.limits import ADMIN, FEEDBACK, BodyLimits, BodyTooLarge, route_class
from homeprice.serving.security import Refusal, TokenGate, security_headers

if TYPE_CHECKING:
    from homeprice.serving.shortcut import PredictShortcut


class EdgeGuard:
    """ASGI middleware: security headers, token gates and body limits (see the module)."""

    def __init__(self, app: ASGIApp, limits: BodyLimits, admin: TokenGate,
                 on_refused: Callable[[str], None] = lambda reason: None,
                 feedback: TokenGate | None = None,
                 shortcut: PredictShortcut | None = None) -> None:
        self.app = app
        self.shortcut = shortcut
        self.limits = limits
        # The gate of each route class that needs a token (the others are anonymous).
        self.gates = {ADMIN: admin} | ({FEEDBACK: feedback} if feedback is not None else {})
        self.on_refused = on_refused

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        send = _with_headers(send, security_headers(path))
        kind = route_class(path)
        gate = self.gates.get(kind)
        if gate is not None:
            refusal = gate.check(_client(scope), _header(scope, b"authorization"),
                                 scope["method"], path)
            if refusal is not None:
                await _answer(send, refusal)
                return
        limit = getattr(self.limits, kind)
        declared = _header(scope, b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await _answer(send, Refusal(400, f"invalid Content-Length {declared[:40]!r}"))
                return
            if int(declared) > limit:
                self.on_refused("body_too_large")
                await _answer(send, _too_large(limit))
                return
        if self.shortcut is not None and self.shortcut.wants(scope):
            try:
                body = await _read_body(receive, limit)
            except BodyTooLarge:
                self.on_refused("body_too_large")
                await _answer(send, _too_large(limit))
                return
            if body is None:
                return  # the client went away before its body was complete: nobody to answer
            if await self.shortcut.answer(scope, body, receive, send):
                return
            receive = _replay(body, receive)
        await self._guarded(scope, receive, send, limit)

    async def _guarded(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        """Call the app with a `receive` that stops at `limit` bytes; a body cut short is
        answered 413 whatever the app made of it (FastAPI turns the error into a 400)."""
        received = 0
        exceeded = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise BodyTooLarge(limit)
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded:
                if message["type"] == "http.response.start" and not started:
                    started = True
                    await _answer(send, _too_large(limit))
                return  # the app's own answer to the cut body is dropped
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except BodyTooLarge:
            if started:
                raise
            await _answer(send, _too_large(limit))
        finally:
            if exceeded:
                self.on_refused("body_too_large")


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole request body (None if the client disconnected first); BodyTooLarge as soon
    as it passes `limit` bytes."""
    chunks = []
    received = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunk = message.get("body", b"")
        received += len(chunk)
        if received > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives `body` whole first, then whatever `receive` gives (a
    disconnect)."""
    pending = True

    async def replay() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _too_large(limit: int) -> Refusal:
    return Refusal(413, f"request body is larger than the limit of {limit} bytes for this "
                        "route", (("connection", "close"),))


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return client[0] if client else "unknown"


def _with_headers(send: Send, extra: list[tuple[bytes, bytes]]) -> Send:
    """`send` adding `extra` headers to the response start, unless the app set them."""

    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", ()))
            present = {name.lower() for name, _ in headers}
            headers.extend(item for item in extra if item[0] not in present)
            message = {**message, "headers": headers}
        await send(message)

    return send_with_headers


async def _answer(send: Send, refusal: Refusal) -> None:
    """Send `refusal` as {"detail": ...} JSON; the request body is never read."""
    body = orjson.dumps({"detail": refusal.detail})
    headers = [(b"content-type", b"application/json"),
               (b"content-length", str(len(body)).encode())]
    headers.extend((name.encode(), value.encode()) for name, value in refusal.headers)
    await send({"type": "http.response.start", "status": refusal.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
