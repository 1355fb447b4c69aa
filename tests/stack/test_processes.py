"""Process groups of the local stack: stopped whole (SIGTERM, then SIGKILL for what ignores
it), recognised by pid, start time and the stack id, and nothing else ever signalled."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import psutil

from homeprice.stack import processes
from homeprice.stack.processes import STACK_ID_ENV, Launched

# Stack ids drawn per process: `stop` signals every process carrying its id, so a constant
# shared by two xdist workers would let one test stop the other's processes.
RUN_A, RUN_B, RUN_C = (f"{secrets.token_hex(8)}-{name}" for name in "abc")

# A leader that starts a child ignoring SIGTERM, writes the child's pid, then waits.
STUBBORN = """
import os, signal, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(300)"])
open(sys.argv[1], "w").write(str(child.pid))
time.sleep(300)
"""


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _launch(tmp_path: Path, stack_id: str) -> tuple[subprocess.Popen[bytes], Launched, int]:
    env = dict(os.environ, **{STACK_ID_ENV: stack_id})
    child_file = tmp_path / "child.pid"
    popen, launched = processes.launch([sys.executable, "-c", STUBBORN, str(child_file)], env,
                                       tmp_path, tmp_path / "logs" / "stubborn.log")
    deadline = time.monotonic() + 60
    while not (child_file.exists() and child_file.read_text()):
        assert time.monotonic() < deadline, "the child never started"
        time.sleep(0.1)
    return popen, launched, int(child_file.read_text())


def test_stop_ends_the_whole_group_even_what_ignores_sigterm(tmp_path: Path) -> None:
    popen, launched, child = _launch(tmp_path, RUN_A)
    assert os.getpgid(launched.pid) == launched.pid == os.getpgid(child)
    assert processes.is_alive(launched, RUN_A)
    assert not processes.is_alive(launched, RUN_B)  # another run's id: not ours
    assert not processes.is_alive(Launched(launched.pid, launched.start_time - 5), RUN_A)
    # A start time one second off is still this process: psutil adds /proc/stat's btime,
    # whole seconds from the wall clock, which a clock adjustment can move between reads.
    assert processes.is_alive(Launched(launched.pid, launched.start_time - 1.0), RUN_A)

    started = time.monotonic()
    stopped = processes.stop(RUN_A, {launched.pid}, grace_seconds=1)
    popen.wait(timeout=10)
    assert set(stopped) == {launched.pid, child}
    assert time.monotonic() - started < 15  # SIGKILL after the grace, not a hang
    deadline = time.monotonic() + 10
    while _running(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _running(child)
    assert not processes.is_alive(launched, RUN_A)


def test_a_process_without_the_stack_id_is_never_signalled(tmp_path: Path) -> None:
    # A recorded pid now held by an unrelated process (a recycled pid): left alone.
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"],
                                start_new_session=True,
                                env={k: v for k, v in os.environ.items() if k != STACK_ID_ENV})
    try:
        recorded = Launched(stranger.pid, psutil.Process(stranger.pid).create_time())
        assert not processes.is_alive(recorded, RUN_C)
        assert processes.stop(RUN_C, {stranger.pid}, grace_seconds=1) == []
        time.sleep(0.5)
        assert stranger.poll() is None
    finally:
        stranger.kill()
        stranger.wait()
