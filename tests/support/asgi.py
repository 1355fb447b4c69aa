"""Driving an ASGI app by hand: one request whose body is offered in counted chunks, so a test
sees how much of a body the app pulled before it answered."""

from __future__ import annotations


class CountingReceive:
    """An ASGI `receive` that hands out `total` bytes in chunks and counts what was pulled."""

    def __init__(self, total: int, chunk: int = 16 * 1024) -> None:
        self.left, self.chunk, self.pulled, self.calls = total, chunk, 0, 0

    async def __call__(self) -> dict:
        self.calls += 1
        size = min(self.chunk, self.left)
        self.left -= size
        self.pulled += size
        return {"type": "http.request", "body": b" " * size, "more_body": self.left > 0}


async def call(app: object, method: str, path: str, headers: list[tuple[bytes, bytes]],
               receive: CountingReceive) -> tuple[int, dict[str, str], bytes]:
    """One request straight through the ASGI app: status, headers and body of its answer."""
    answer: dict = {"body": b""}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
            answer["headers"] = {k.decode(): v.decode() for k, v in message["headers"]}
        else:
            answer["body"] += message.get("body", b"")

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
             "query_string": b"", "root_path": "", "headers": headers,
             "client": ("203.0.113.9", 50000), "server": ("127.0.0.1", 8000)}
    await app(scope, receive, send)  # type: ignore[operator]
    return answer["status"], answer["headers"], answer["body"]
