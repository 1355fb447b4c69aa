"""Real server processes for tests: a free loopback port, start and wait until ready, stop."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
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


def wait_until_up(url: str, process: subprocess.Popen, timeout: float = 180,
                  log: Path | None = None) -> None:
    """Poll `url` until it answers 200; fail with the process output (its piped stdout, or the
    file `log` it writes to) and the last answer seen if it died or hung."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{process.args} exited with {process.returncode}: "
                        f"{_output(process, log)}")
        try:
            answer = httpx.get(url, timeout=2)
            if answer.status_code == 200:
                return
            last = f"{answer.status_code} {answer.text[:1000]}"
        except httpx.HTTPError as error:
            last = repr(error)
        time.sleep(0.2)
    # Killed first: reading a pipe to its end needs the writer gone (stop() copes with that).
    process.kill()
    process.wait()
    pytest.fail(f"nothing answered 200 at {url} within {timeout:.0f} s (last: {last}); "
                f"{process.args} printed: {_output(process, log)}")


def _output(process: subprocess.Popen, log: Path | None, limit: int = 4000) -> str:
    """The tail of what a finished server process printed."""
    if log is not None:
        return log.read_text(errors="replace")[-limit:] if log.exists() else "(no log file)"
    if process.stdout is None:
        return "(output not captured)"
    output = process.stdout.read()
    return (output.decode(errors="replace") if isinstance(output, bytes) else output)[-limit:]


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
    # A file, not a pipe: nobody reads a pipe while tests run, and a full one would block the
    # server; the file is what a server that never gets ready is reported with.
    descriptor, name = tempfile.mkstemp(prefix=f"homeprice-serve-{port}-", suffix=".log")
    log = Path(name)
    try:
        with os.fdopen(descriptor, "wb") as output:
            server = subprocess.Popen(
                serve_command(port, *args),
                env=dict(os.environ, HOMEPRICE_HOME=str(home),
                         HOMEPRICE_SERVING__RELOAD_INTERVAL_SECONDS="1", **env),
                stdout=output, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            # Generous: loading models on a loaded 2-core CI machine can take a minute or more.
            wait_until_up(f"{base}/readyz", server, timeout=240, log=log)
            yield base
        finally:
            stop(server)
    finally:
        log.unlink(missing_ok=True)


def wait_for(condition: Callable[[], object], what: str, seconds: float = 60.0) -> None:
    """Poll `condition()` until true; fail naming `what` after a generous deadline."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.25)
    pytest.fail(f"timed out after {seconds:g}s waiting for {what}")
