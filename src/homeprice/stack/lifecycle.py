"""Bringing the local stack up and down: start the planned services, wait until each answers
(or report the one that died with the end of its log), record them; stop exactly those."""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
from filelock import FileLock, Timeout

from homeprice.config import Settings
from homeprice.errors import HomepriceError
from homeprice.serving.readiness import NO_CHAMPION
from homeprice.stack import processes
from homeprice.stack.services import Service, base_environment, plan
from homeprice.stack.state import (
    ServiceState,
    StackState,
    clear_state,
    read_state,
    stack_dir,
    write_state,
)
from homeprice.stack.tokens import Tokens, ensure_tokens

# How much of a failed service's log the error shows.
_LOG_TAIL_LINES = 25
_LOG_TAIL_BYTES = 4096


@dataclass
class StackReport:
    """What `up` found running or started: services, tokens, notes."""

    home: Path
    state: StackState
    already_up: bool = False
    tokens: Tokens | None = None
    answered_after: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@contextlib.contextmanager
def _exclusive(home: Path) -> Iterator[None]:
    """One `up` or `down` at a time per home."""
    folder = stack_dir(home)
    folder.mkdir(parents=True, exist_ok=True)
    lock = FileLock(folder / ".lock")
    try:
        with lock.acquire(timeout=10):
            yield
    except Timeout:
        raise HomepriceError(f"another `homeprice up` or `down` is running for {home}") from None


def log_tail(path: Path) -> str:
    """The last lines of a service's log (bounded), indented for an error message."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - _LOG_TAIL_BYTES))
            text = handle.read().decode(errors="replace")
    except FileNotFoundError:
        return "  (no log written)"
    lines = text.splitlines()[-_LOG_TAIL_LINES:]
    return "\n".join(f"  | {line}" for line in lines) or "  (empty log)"


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _wait_until_answering(services: list[Service], started: dict[str, subprocess.Popen[bytes]],
                          logs: dict[str, Path], timeout: float,
                          answered_after: dict[str, float], stack_id: str) -> list[str]:
    """Poll every service's health URL until all answer 200 from the process this stack
    started (noting after how many seconds in `answered_after`); the failures, each with the
    end of its log (a service that exited, or one still silent at the deadline)."""
    pending = {service.name: service for service in services}
    failures: list[str] = []
    foreign: set[str] = set()  # answered, but from a process of someone else's
    began = time.monotonic()
    deadline = began + timeout
    while pending and not failures and time.monotonic() < deadline:
        for name, service in list(pending.items()):
            code = started[name].poll()
            if code is not None:
                failures.append(f"{service.title} ({name}) exited at start with status {code}; "
                                f"the end of {logs[name]}:\n{log_tail(logs[name])}")
                del pending[name]
            elif _answers(service.health_url):
                if processes.listens_on(stack_id, started[name].pid, service.port) is False:
                    # Someone else's server holds the port; ours fails to bind and exits
                    # (reported above), or is still starting: keep waiting for it.
                    foreign.add(name)
                    continue
                answered_after[name] = time.monotonic() - began
                del pending[name]
        if pending and not failures:
            time.sleep(0.5)
    if failures:
        # One that died is the news; the others are stopped with it, answering or not.
        return failures
    return [f"{service.title} ({name}) did not answer at {service.health_url} within "
            f"{timeout:g} s"
            + (f" (port {service.port} answered, but from another program's process)"
               if name in foreign else "")
            + f"; the end of {logs[name]}:\n{log_tail(logs[name])}"
            for name, service in pending.items()]


def _wait_until_ready(api_url: str, deadline: float) -> str | None:
    """Poll the API's /readyz until its champions are loaded (None) or the deadline passes;
    then a note of what it still waits for. A dataset without a champion in the registry is
    not waited for: it stays unready until one is trained."""
    waiting: dict[str, str] = {}
    while True:
        try:
            answer = httpx.get(f"{api_url}/readyz", timeout=2)
            if answer.status_code == 200:
                return None
            waiting = dict(answer.json().get("waiting") or {})
        except (httpx.HTTPError, ValueError, TypeError):
            waiting = {}
        nothing_to_wait_for = bool(waiting) and set(waiting.values()) == {NO_CHAMPION}
        if nothing_to_wait_for or time.monotonic() >= deadline:
            break
        time.sleep(0.5)
    reasons = "; ".join(f"{dataset}: {reason}" for dataset, reason in waiting.items())
    hint = (": train with `homeprice pipeline run`" if NO_CHAMPION in waiting.values()
            else ": see the API's log and /v1/models")
    return (f"the API has no champion loaded for every dataset it serves yet (/readyz is 503"
            f"{'; ' + reasons if reasons else ''}){hint}")


def _prepare_tracking_store(settings: Settings) -> None:
    """Create a new home's MLflow database before its two users start: the MLflow UI and the
    API would otherwise both create its tables at once, and one of them fail ("table ...
    already exists"). An existing store is left alone (its users only read it at start)."""
    uri = settings.tracking_uri
    if not uri.startswith("sqlite:///"):
        return
    database = Path(uri.removeprefix("sqlite:///"))
    if database.exists():
        return
    from mlflow.tracking import MlflowClient

    database.parent.mkdir(parents=True, exist_ok=True)
    # The first call creates the tracking and registry tables (one schema, one database).
    MlflowClient(tracking_uri=uri, registry_uri=uri).search_experiments(max_results=1)


def _stop_recorded(home: Path, state: StackState, grace: float) -> list[int]:
    """Stop the processes of `state` and forget it."""
    stopped = processes.stop(state.stack_id, state.groups, grace)
    clear_state(home)
    return stopped


def up(settings: Settings, *, host: str = "127.0.0.1", with_airflow: bool = False,
       datasets: list[str] | None = None, timeout: float = 120.0,
       grace: float = 30.0) -> StackReport:
    """Start the API, the web UI and the MLflow UI (and Airflow) on free ports, each in the
    background, and wait until every one answers; or say the stack is up already."""
    home = settings.home.resolve()
    with _exclusive(home):
        recorded = read_state(home)
        if recorded is not None:
            alive = {service.name: processes.is_alive(service.launched, recorded.stack_id)
                     for service in recorded.services}
            if alive and all(alive.values()):
                return StackReport(home, recorded, already_up=True)
            if any(alive.values()):
                dead = ", ".join(name for name, running in alive.items() if not running)
                raise HomepriceError(f"the stack of {home} is only partly up ({dead} stopped): "
                                     "run `homeprice down`, then `homeprice up`")
            # Nothing recorded is running: stop any straggler it left, start afresh.
            _stop_recorded(home, recorded, grace)

        folder = stack_dir(home)
        tokens = ensure_tokens(folder, dict(os.environ))
        _prepare_tracking_store(settings)
        stack_id = secrets.token_hex(16)
        services = plan(settings, base_environment(settings, stack_id), tokens.values, host,
                        with_airflow, datasets)
        state = StackState(stack_id=stack_id, started_at=datetime.now(UTC).isoformat())
        started: dict[str, subprocess.Popen[bytes]] = {}
        logs: dict[str, Path] = {}
        answered_after: dict[str, float] = {}
        try:
            for service in services:
                logs[service.name] = folder / "logs" / f"{service.name}.log"
                started[service.name], launched = processes.launch(
                    service.command, service.env, folder, logs[service.name])
                # Recorded as soon as it runs, so `down` finds it even if `up` is killed.
                state.services.append(ServiceState(
                    name=service.name, title=service.title, pid=launched.pid,
                    start_time=launched.start_time, url=service.url,
                    health_url=service.health_url, log=str(logs[service.name])))
                write_state(home, state)
            deadline = time.monotonic() + timeout
            failures = _wait_until_answering(services, started, logs, timeout, answered_after,
                                             stack_id)
        except BaseException:
            # Ctrl+C or an error while starting: leave nothing running.
            _stop_recorded(home, state, grace)
            raise
        if failures:
            _stop_recorded(home, state, grace)
            raise HomepriceError("the stack did not start (everything it started is stopped "
                                 "again):\n" + "\n".join(failures))
        # Saved only now: a stack that did not start has shown no one its new tokens.
        tokens.save()
        report = StackReport(home, state, tokens=tokens, answered_after=answered_after)
        for service in services:
            report.notes.extend(service.notes)
        # Up means ready to price where there is a model: a worker whose first registry lookup
        # failed (a store busy as the MLflow UI starts beside it) retries on its next poll.
        api = next(service for service in services if service.name == "api")
        unready = _wait_until_ready(api.url, deadline)
        if unready:
            report.notes.append(unready)
        return report


def down(settings: Settings, *, grace: float = 30.0) -> tuple[StackState | None, list[int]]:
    """Stop every process the recorded `up` started (whole process groups: SIGTERM, SIGKILL
    after `grace` seconds) and nothing else; the state and the pids that were running."""
    home = settings.home.resolve()
    with _exclusive(home):
        recorded = read_state(home)
        if recorded is None:
            return None, []
        return recorded, _stop_recorded(home, recorded, grace)
