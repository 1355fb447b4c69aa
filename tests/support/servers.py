"""Real server processes for tests: a free loopback port, start and wait until ready, stop."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen, timeout: float = 180) -> None:
    """Poll `url` until it answers 200; fail with the process output if it died or hung."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read().decode() if process.stdout else ""
            pytest.fail(f"{process.args} exited with {process.returncode}: {output[-2000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail(f"nothing answered at {url} within {timeout:.0f} s")


def stop(process: subprocess.Popen, timeout: float = 60) -> None:
    """SIGTERM, then SIGKILL if it lingers."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def serve_command(port: int, *args: str) -> list[str]:
    """The `homeprice serve` command line on 127.0.0.1:`port` (this interpreter, this checkout)."""
    return [sys.executable, "-m", "homeprice.cli", "serve", "--host", "127.0.0.1",
            "--port", str(port), *args]


@contextlib.contextmanager
def running_server(home: Path, *args: str, **env: str) -> Iterator[str]:
    """`homeprice serve [args]` in a subprocess on a free port, ready; SIGTERM on exit."""
    port = free_port()
    server = subprocess.Popen(
        serve_command(port, *args),
        env=dict(os.environ, HOMEPRICE_HOME=str(home), HOMEPRICE_SERVING__RELOAD_INTERVAL_SECONDS
                 ="1", **env),
        # Not piped: nobody reads the pipe while tests run, and a full pipe would block it.
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        # Generous: loading models on a loaded 2-core CI machine can take a minute or more.
        wait_until_up(f"{base}/readyz", server, timeout=240)
        yield base
    finally:
        stop(server)


def wait_for(condition: Callable[[], object], what: str, seconds: float = 60.0) -> None:
    """Poll `condition()` until true; fail naming `what` after a generous deadline."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.25)
    pytest.fail(f"timed out after {seconds:g}s waiting for {what}")
