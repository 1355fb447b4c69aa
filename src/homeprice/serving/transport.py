"""One TCP write per response: uvicorn's httptools protocol with a response's head and body
sent together.

uvicorn writes a response's status line and headers to the transport on the ASGI response
start, and its body on the next message: two `send` system calls and, with TCP_NODELAY, two
packets per answer, each waking the client. For the small JSON answers of /predict that
second wake-up is a large share of a request's cost (measured with wrk on loopback, c=32, a
bare ASGI app: 10.6k req/s with two writes, 15.9k with one). `CoalescingHttpToolsProtocol`
gives uvicorn's own protocol a transport that holds a head block until the write that follows
it (the body, in the same event-loop step) and sends both at once; a head not followed by a
write within the step (a streamed response whose first chunk is not ready yet) is sent alone
when the step ends, so no byte waits longer than that, and the order is never changed.

This module must stay light to import (uvicorn only): with several workers uvicorn pickles the
protocol class into each spawned worker, which imports its module before it answers the
supervisor's health pings, and a worker silent for 5 s is killed and replaced. Under
homeprice.api (whose package imports the whole app, 15 s here) no worker ever came up.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# What uvicorn's response head looks like: its status line starts so, and a blank line ends it.
_HEAD_START = b"HTTP/1.1 "
_HEAD_END = b"\r\n\r\n"


class CoalescingTransport:
    """A transport that sends a response head together with the next write (see module)."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: bytes | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Send `data`, after a held head if there is one; hold `data` if it is a head."""
        if self._held is not None:
            held, self._held = self._held, None
            self._transport.write(held + bytes(data))
            return
        if data[:len(_HEAD_START)] == _HEAD_START and data[-len(_HEAD_END):] == _HEAD_END:
            self._held = bytes(data)
            # Sent alone at the end of this loop step unless a write takes it along first.
            self._loop.call_soon(self.flush)
            return
        self._transport.write(data)

    def flush(self) -> None:
        """Send a held head now (nothing if none, or the connection is closing)."""
        if self._held is None:
            return
        held, self._held = self._held, None
        if not self._transport.is_closing():
            self._transport.write(held)

    def close(self) -> None:
        """Send what is held, then close."""
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        # Everything else (is_closing, pause_reading, get_extra_info, ...) is the transport's.
        return getattr(self._transport, name)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol writing through a CoalescingTransport (pass it to uvicorn
    as `http=`)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        # uvloop's transports are not asyncio.Transport subclasses; they have its methods.
        super().connection_made(CoalescingTransport(transport, self.loop))  # type: ignore
