"""Background processes of the local stack: each started as the leader of its own process
group, recognised later by pid, start time and a stack id in its environment, stopped as a
whole group (SIGTERM, then SIGKILL after a grace period)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

# Every process of one `up` (and whatever it spawns, which inherits the environment) carries
# this variable with the run's random id: `down` never signals a process without it, so a pid
# or process group number recycled by the system after a crash is left alone.
STACK_ID_ENV = "HOMEPRICE_STACK_ID"
# Start times as psutil gives them: clock ticks since boot plus /proc/stat's btime, which is
# whole seconds recomputed from the wall clock on every read, so a clock adjustment can move
# one process's start time by a second between two reads (CI saw a live process taken for a
# recycled pid). The run's random id in the environment is what identifies a process; the
# start time only rules out a recycled pid, which could not carry that id anyway.
_START_TIME_TOLERANCE = 1.5


@dataclass(frozen=True)
class Launched:
    """A process started by the stack: its pid (also its process group id) and start time."""

    pid: int
    start_time: float


def launch(command: list[str], env: dict[str, str], cwd: Path, log_path: Path) -> tuple[
        subprocess.Popen[bytes], Launched]:
    """Start `command` in a new session (its own process group), output to `log_path`."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                                   stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        start_time = psutil.Process(process.pid).create_time()
    except psutil.NoSuchProcess:
        # Died at once (e.g. a missing executable in a wrapper): nothing left to stop.
        start_time = 0.0
    return process, Launched(process.pid, start_time)


def _is_gone(process: psutil.Process) -> bool:
    """Ended (or a zombie awaiting its parent: it runs nothing and holds no port). Not
    psutil's is_running, which compares wall-clock start times (see _START_TIME_TOLERANCE)."""
    try:
        return process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _carries(process: psutil.Process, stack_id: str) -> bool:
    """Whether `process` was started by the stack run `stack_id` (its environment says so)."""
    try:
        return process.environ().get(STACK_ID_ENV) == stack_id
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return False


def is_alive(launched: Launched, stack_id: str) -> bool:
    """Whether the recorded leader still runs: same pid, same start time, same stack id."""
    try:
        process = psutil.Process(launched.pid)
        same = abs(process.create_time() - launched.start_time) <= _START_TIME_TOLERANCE
        return same and not _is_gone(process) and _carries(process, stack_id)
    except psutil.NoSuchProcess:
        return False


def members(stack_id: str, groups: set[int]) -> list[psutil.Process]:
    """Live processes of the stack run `stack_id`: in one of its process groups (`groups`,
    the leaders' pids) or elsewhere (a descendant that started its own session), each one
    carrying the run's id in its environment."""
    found = []
    for process in psutil.process_iter():
        if process.pid == os.getpid() or _is_gone(process):
            continue
        if _carries(process, stack_id):
            found.append(process)
    # Processes in the groups without the id (one that cleared its environment) are the
    # groups' all the same: the id was checked on their leader when it was recorded, and a
    # group number cannot be reused while any process is still in that group.
    known = {process.pid for process in found}
    leaders_alive = {process.pid for process in found if process.pid in groups}
    for process in psutil.process_iter():
        if process.pid in known or process.pid == os.getpid() or _is_gone(process):
            continue
        try:
            group = os.getpgid(process.pid)
        except (ProcessLookupError, PermissionError):
            continue
        if group in leaders_alive:
            found.append(process)
    return found


def listens_on(stack_id: str, group: int, port: int) -> bool | None:
    """Whether a process of the stack run `stack_id` (one carrying its id, or one in the
    service's process group `group`) listens on TCP `port`; None when no member's sockets
    can be read (a system that hides them). A health URL that answers proves nothing alone:
    another program (a second `up` in another home) may have bound the port between this
    stack's free-port probe and its own service's bind. The stack's services have distinct
    ports, so any process of the run listening there is the service's."""
    readable = False
    for process in members(stack_id, {group}):
        try:
            connections = process.net_connections(kind="tcp")
        except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
            continue
        readable = True
        if any(connection.status == psutil.CONN_LISTEN and connection.laddr
               and connection.laddr.port == port for connection in connections):
            return True
    return False if readable else None


def _signal_all(processes: list[psutil.Process], groups: set[int], signum: int) -> None:
    """Send `signum` once to each process: to its whole group when that is one of the stack's
    groups (as a terminal's Ctrl+C does), else to the process alone. Once matters: a second
    SIGTERM makes uvicorn skip its graceful shutdown (the prediction log's drain)."""
    for group in {_group_of(process) for process in processes} & groups:
        try:
            os.killpg(group, signum)
        except (ProcessLookupError, PermissionError):
            pass
    for process in processes:
        if _group_of(process) in groups:
            continue
        try:
            # os.kill, not psutil's send_signal: its recycled-pid check compares wall-clock
            # start times (see _START_TIME_TOLERANCE); `members` checked the run's id already.
            os.kill(process.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass


def _group_of(process: psutil.Process) -> int | None:
    try:
        return os.getpgid(process.pid)
    except (ProcessLookupError, PermissionError):
        return None


def stop(stack_id: str, groups: set[int], grace_seconds: float) -> list[int]:
    """Stop every process of the stack run: SIGTERM to its groups and members, SIGKILL to
    what is left after `grace_seconds`. Returns the pids that were running."""
    targets = members(stack_id, groups)
    stopped = [process.pid for process in targets]
    if not targets:
        return stopped
    _signal_all(targets, groups, signal.SIGTERM)
    deadline = time.monotonic() + grace_seconds
    while time.monotonic() < deadline:
        targets = [process for process in targets if not _is_gone(process)]
        if not targets:
            break
        time.sleep(0.2)
    # A process spawned while the others shut down is caught by scanning again.
    leftover = [process for process in members(stack_id, groups) if not _is_gone(process)]
    if leftover:
        _signal_all(leftover, groups, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not all(map(_is_gone, leftover)):
            time.sleep(0.1)
        stopped.extend(process.pid for process in leftover if process.pid not in stopped)
    return stopped
