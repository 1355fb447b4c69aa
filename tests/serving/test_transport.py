"""One write per response: a response head goes out with the write after it, a head left alone
goes out when the event-loop step ends, nothing is reordered; a real uvicorn server on the
protocol answers plain, streamed and 100-continue requests completely."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from homeprice.api.server import uvicorn_options
from homeprice.config import ServingSettings
from homeprice.serving.transport import CoalescingHttpToolsProtocol, CoalescingTransport
from tests.support.servers import free_port

HEAD = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n"


class _Recorder:
    """What a transport was asked to do, in order."""

    def __init__(self) -> None:
        self.calls: list[object] = []
        self.closing = False

    def write(self, data: bytes) -> None:
        self.calls.append(bytes(data))

    def close(self) -> None:
        self.calls.append("close")
        self.closing = True

    def is_closing(self) -> bool:
        return self.closing

    def get_extra_info(self, name: str) -> str:
        return f"info:{name}"


async def _step() -> None:
    await asyncio.sleep(0)


def test_a_head_goes_out_with_the_body_in_one_write() -> None:
    async def run() -> list[object]:
        inner = _Recorder()
        transport = CoalescingTransport(inner, asyncio.get_running_loop())  # type: ignore[arg-type]
        transport.write(HEAD)
        assert inner.calls == []  # held for the body
        transport.write(b"ok")
        await _step()
        return inner.calls

    assert asyncio.run(run()) == [HEAD + b"ok"]


def test_a_head_alone_goes_out_when_the_loop_step_ends_and_order_is_kept() -> None:
    async def run() -> list[object]:
        inner = _Recorder()
        transport = CoalescingTransport(inner, asyncio.get_running_loop())  # type: ignore[arg-type]
        transport.write(HEAD)
        await _step()
        assert inner.calls == [HEAD]  # a streamed response's head does not wait for its chunk
        transport.write(b"chunk-1")
        transport.write(b"chunk-2")
        return inner.calls

    assert asyncio.run(run()) == [HEAD, b"chunk-1", b"chunk-2"]


def test_close_sends_what_is_held_first_and_a_closing_transport_gets_nothing() -> None:
    async def run() -> tuple[list[object], list[object]]:
        loop = asyncio.get_running_loop()
        inner = _Recorder()
        transport = CoalescingTransport(inner, loop)  # type: ignore[arg-type]
        transport.write(HEAD)
        transport.close()
        await _step()
        gone = _Recorder()
        late = CoalescingTransport(gone, loop)  # type: ignore[arg-type]
        late.write(HEAD)
        gone.closing = True  # the client went away before the step ended
        await _step()
        return inner.calls, gone.calls

    closed, gone = asyncio.run(run())
    assert closed == [HEAD, "close"]
    assert gone == []


def test_other_writes_pass_at_once_and_other_calls_reach_the_transport() -> None:
    async def run() -> tuple[list[object], str]:
        inner = _Recorder()
        transport = CoalescingTransport(inner, asyncio.get_running_loop())  # type: ignore[arg-type]
        transport.write(b"HTTP/1.1 200 OK\r\n")  # no blank line: not a whole head
        transport.write(b"body")
        return inner.calls, transport.get_extra_info("peername")

    calls, info = asyncio.run(run())
    assert calls == [b"HTTP/1.1 200 OK\r\n", b"body"]
    assert info == "info:peername"


async def _app(scope: dict, receive, send) -> None:  # type: ignore[no-untyped-def]
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    if scope["path"] == "/stream":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for part in (b"first,", b"second"):
            await asyncio.sleep(0.05)  # the head must not wait for the chunks
            await send({"type": "http.response.body", "body": part, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        return
    answer = b"echo:" + body
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", str(len(answer)).encode())]})
    await send({"type": "http.response.body", "body": answer})


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    port = free_port()
    config = uvicorn.Config(_app, host="127.0.0.1", port=port, loop="uvloop",
                            http=CoalescingHttpToolsProtocol, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the test server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def test_a_real_server_answers_plain_streamed_and_continued_requests(server_url: str) -> None:
    with httpx.Client(base_url=server_url, timeout=10) as client:
        # Several on one keep-alive connection: each answer whole and in order.
        for i in range(20):
            assert client.post("/", content=f"home-{i}".encode()).text == f"echo:home-{i}"
        # A streamed answer: its head goes out alone, the chunks after it.
        with client.stream("GET", "/stream") as streamed:
            assert streamed.status_code == 200
            assert b"".join(streamed.iter_bytes()) == b"first,second"
        # Expect: 100-continue makes uvicorn write an interim head with no body of its own.
        answer = client.post("/", content=b"x" * 10_000, headers={"expect": "100-continue"})
        assert answer.text == "echo:" + "x" * 10_000


def test_the_protocol_module_imports_without_the_app() -> None:
    # Spawned workers import it before answering uvicorn's health pings (see the module).
    code = ("import sys, homeprice.serving.transport; print(sorted(m for m in "
            "('fastapi', 'mlflow', 'sklearn', 'pandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("workers", [1, 2])
def test_homeprice_serve_runs_uvicorn_on_the_coalescing_protocol(workers: int) -> None:
    options = uvicorn_options(ServingSettings(workers=workers, port=8765))
    assert options["http"] is CoalescingHttpToolsProtocol
    assert (options["host"], options["port"], options["loop"]) == ("127.0.0.1", 8765, "uvloop")
