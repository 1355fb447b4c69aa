"""Cost of a 40 MB predict body to a running server: time to the answer and resident-memory
growth of the server process, for this checkout against a named peer source tree (e.g. the
commit before the edge guard) in one run.

    git archive <base-commit> src | tar -x -C /tmp/base
    .venv/bin/python benchmarks/oversized_body.py --peer-src /tmp/base/src [--mb 40]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parents[1] / "src"
RECORD = {"longitude": -122.23, "latitude": 37.88, "housing_median_age": 41,
          "total_rooms": 880, "total_bedrooms": 129, "population": 322, "households": 126,
          "median_income": 8.3252, "ocean_proximity": "NEAR BAY"}


def body(megabytes: int) -> bytes:
    """A syntactically valid {"instances": [...]} of about `megabytes` MB."""
    one = json.dumps(RECORD).encode()
    count = megabytes * 1_000_000 // (len(one) + 2)
    return b'{"instances": [' + b", ".join([one] * count) + b"]}"


def peak_rss(pid: int) -> int:
    """The process's peak resident set so far (VmHWM), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM")


def start(src: Path, home: Path, port: int) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(src), HOMEPRICE_HOME=str(home))
    env.pop("HOMEPRICE_ADMIN_TOKEN", None)
    server = subprocess.Popen([sys.executable, "-m", "homeprice.cli", "serve", "--host",
                               "127.0.0.1", "--port", str(port), "--datasets", "california"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.3)
    server.kill()
    raise RuntimeError(f"server from {src} did not start")


def post(port: int, payload: bytes, chunked: bool) -> tuple[float, str]:
    """(seconds until the answer's status line arrived, status) for one POST whose body a
    second thread keeps sending, so an early answer is seen as early as the server sends it."""
    framing = (b"Transfer-Encoding: chunked" if chunked
               else b"Content-Length: %d" % len(payload))
    head = (b"POST /v1/california/predict HTTP/1.1\r\nHost: bench\r\n"
            b"Content-Type: application/json\r\n" + framing + b"\r\n\r\n")

    def pieces() -> Iterator[bytes]:
        for i in range(0, len(payload), 65536):
            piece = payload[i:i + 65536]
            yield b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece
        if chunked:
            yield b"0\r\n\r\n"

    with socket.create_connection(("127.0.0.1", port), timeout=300) as conn:
        def send() -> None:
            try:
                conn.sendall(head)
                for piece in pieces():
                    conn.sendall(piece)
            except OSError:
                pass  # the server answered and closed: the rest is never needed

        sender = threading.Thread(target=send, daemon=True)
        started = time.perf_counter()
        sender.start()
        answer = b""
        while b"\r\n" not in answer:
            chunk = conn.recv(4096)
            if not chunk:
                break
            answer += chunk
        elapsed = time.perf_counter() - started
    status = answer.split(b"\r\n", 1)[0].decode(errors="replace").removeprefix("HTTP/1.1 ")[:3]
    return elapsed, status or "closed"


def measure(src: Path, payload: bytes, chunked: bool, port: int) -> tuple[float, float, str]:
    """(seconds to the answer, MB of peak RSS growth of the server, status) for one request."""
    with tempfile.TemporaryDirectory() as tmp:
        server = start(src, Path(tmp) / "home", port)
        try:
            # Settle, then take the baseline peak (start-up may have peaked already).
            time.sleep(1)
            before = peak_rss(server.pid)
            current_before = psutil.Process(server.pid).memory_info().rss
            elapsed, status = post(port, payload, chunked)
            growth = max(peak_rss(server.pid) - max(before, current_before), 0) / 1e6
            return elapsed, growth, status
        finally:
            server.terminate()
            server.wait(60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer-src", type=Path, required=True)
    parser.add_argument("--mb", type=int, default=40)
    parser.add_argument("--port", type=int, default=18931)
    args = parser.parse_args()
    payload = body(args.mb)
    table = Table(title=f"{len(payload) / 1e6:.1f} MB predict body")
    for column in ("tree", "framing", "status", "seconds", "RSS growth MB"):
        table.add_column(column)
    results = {}
    for framing in ("content-length", "chunked"):
        for name, src in (("peer", args.peer_src), ("this", HERE)):
            seconds, growth, status = measure(src, payload, framing == "chunked", args.port)
            results[(name, framing)] = (seconds, growth)
            table.add_row(name, framing, status, f"{seconds:.2f}", f"{growth:.0f}")
    console = Console()
    console.print(table)
    for framing in ("content-length", "chunked"):
        (ps, pg), (ts, tg) = results[("peer", framing)], results[("this", framing)]
        console.print(f"{framing}: time peer/this = {ps / ts:.0f}x; RSS growth peer {pg:.0f} MB "
                      f"vs this {tg:.0f} MB")


if __name__ == "__main__":
    main()
