"""`up` and `down` against a recorded stack, without starting real services: a stack whose
every process runs is "already up" (nothing started), a partly running one asks for `down`,
`down` stops what was recorded and forgets it, and an unreadable state file is named; `up`
waits for /readyz while champions load, not for a dataset without one, and takes a health
answer for its service's only when one of its own processes listens on that port."""

from __future__ import annotations

import http.server
import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from homeprice.config import Settings
from homeprice.errors import HomepriceError
from homeprice.serving.readiness import FAILED, LOADING, LOOKUP_FAILED, NO_CHAMPION
from homeprice.stack import down, up
from homeprice.stack.lifecycle import _wait_until_answering, _wait_until_ready
from homeprice.stack.processes import STACK_ID_ENV, launch, listens_on
from homeprice.stack.services import Service
from homeprice.stack.state import ServiceState, StackState, read_state, state_path, write_state

# Drawn per process: tests on other xdist workers stop the processes carrying their stack
# id, so a shared constant let one worker's `down` kill another worker's service.
STACK_ID = secrets.token_hex(16)


@pytest.fixture
def sleeper(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], ServiceState]]:
    """A process started as the stack starts a service (own group, the stack id), recorded
    as the service `api`."""
    env = dict(os.environ, **{STACK_ID_ENV: STACK_ID})
    popen, launched = launch([sys.executable, "-c", "import time; time.sleep(300)"], env,
                             tmp_path, tmp_path / "api.log")
    yield popen, ServiceState(name="api", title="API", pid=launched.pid,
                              start_time=launched.start_time, url="http://127.0.0.1:1",
                              health_url="http://127.0.0.1:1/healthz", log=str(tmp_path))
    popen.kill()
    popen.wait()


def test_a_running_stack_is_already_up_and_nothing_starts(
        settings: Settings, sleeper: tuple[subprocess.Popen[bytes], ServiceState]) -> None:
    state = StackState(stack_id=STACK_ID, started_at="2026-01-01T00:00:00+00:00",
                       services=[sleeper[1]])
    write_state(settings.home, state)
    report = up(settings)
    if not report.already_up:  # it started a stack: stop it, or its servers outlive the test
        down(settings, grace=5)
    assert report.already_up and report.state == state and report.tokens is None
    assert read_state(settings.home) == state
    assert not (settings.home / "stack" / "tokens.env").exists()


def test_a_partly_running_stack_asks_for_down_then_down_stops_it(
        settings: Settings, sleeper: tuple[subprocess.Popen[bytes], ServiceState]) -> None:
    popen, api = sleeper
    gone = api.model_copy(update={"name": "ui", "title": "web UI", "pid": 2**22 + 7})
    write_state(settings.home, StackState(stack_id=STACK_ID, started_at="2026-01-01",
                                          services=[api, gone]))
    with pytest.raises(HomepriceError, match=r"only partly up \(ui stopped\): run `homeprice "
                       r"down`, then `homeprice up`"):
        up(settings)
    assert popen.poll() is None  # nothing was stopped by `up`

    recorded, stopped = down(settings, grace=5)
    assert recorded is not None and [s.name for s in recorded.services] == ["api", "ui"]
    assert stopped == [api.pid]
    assert popen.wait(timeout=10) is not None
    assert not state_path(settings.home).exists()
    assert down(settings) == (None, [])


def test_down_leaves_a_process_that_took_a_recorded_pid_alone(settings: Settings) -> None:
    # The recorded pid now belongs to a process without the stack's id (a recycled pid).
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"],
                                env={k: v for k, v in os.environ.items() if k != STACK_ID_ENV})
    try:
        record = ServiceState(name="api", title="API", pid=stranger.pid,
                              start_time=psutil.Process(stranger.pid).create_time(),
                              url="http://127.0.0.1:1", health_url="http://127.0.0.1:1/",
                              log="api.log")
        write_state(settings.home, StackState(stack_id=STACK_ID, started_at="2026-01-01",
                                              services=[record]))
        assert down(settings, grace=1)[1] == []
        assert stranger.poll() is None
    finally:
        stranger.kill()
        stranger.wait()


def test_an_unreadable_state_file_is_named(settings: Settings) -> None:
    path = state_path(settings.home)
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    with pytest.raises(HomepriceError, match=r"state.json is unreadable \(JSONDecodeError\); stop "
                       "its processes by hand"):
        down(settings)


def test_a_new_home_gets_its_mlflow_tables_before_any_service_starts(
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    # The MLflow UI and the API both create a missing store's tables at start; `up` creates
    # them first, so neither fails on the other's half-made schema.
    import sqlite3

    from homeprice.stack.lifecycle import _prepare_tracking_store

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    database = settings.home.resolve() / "mlflow.db"
    assert not database.exists()
    _prepare_tracking_store(settings)
    with sqlite3.connect(database) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    assert {"experiments", "runs", "registered_models", "model_versions"} <= tables
    before = database.stat().st_mtime_ns
    _prepare_tracking_store(settings)  # an existing store is left alone
    assert database.stat().st_mtime_ns == before


class _Readiness(http.server.BaseHTTPRequestHandler):
    """/readyz answering from the class's list of (status, waiting) in turn, the last for ever."""

    answers: list[tuple[int, dict[str, str]]] = []

    def do_GET(self) -> None:  # noqa: N802 - the handler's name in http.server
        status, waiting = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        body = json.dumps({"waiting": waiting}).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def readiness_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Readiness)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_up_waits_while_champions_load(readiness_server: str) -> None:
    _Readiness.answers = [(503, {"california": LOADING}), (503, {"california": LOOKUP_FAILED}),
                          (200, {})]
    assert _wait_until_ready(readiness_server, time.monotonic() + 30) is None


def test_up_does_not_wait_for_a_dataset_without_a_champion(readiness_server: str) -> None:
    _Readiness.answers = [(503, {"california": NO_CHAMPION})]
    started = time.monotonic()
    note = _wait_until_ready(readiness_server, started + 30)
    assert time.monotonic() - started < 10
    assert note is not None and "california: no champion" in note and "pipeline run" in note


def test_up_names_what_the_api_still_waits_for_at_the_deadline(readiness_server: str) -> None:
    _Readiness.answers = [(503, {"california": NO_CHAMPION, "bengaluru": FAILED})]
    note = _wait_until_ready(readiness_server, time.monotonic() + 1)
    assert note is not None and f"bengaluru: {FAILED}" in note and "/v1/models" in note


def _service(port: int) -> Service:
    return Service(name="api", title="API", command=[], env={}, port=port,
                   url=f"http://127.0.0.1:{port}", health_url=f"http://127.0.0.1:{port}/")


def test_an_answer_from_another_programs_server_is_not_the_service(
        readiness_server: str, sleeper: tuple[subprocess.Popen[bytes], ServiceState],
        tmp_path: Path) -> None:
    # Another `up` took the port between the free-port probe and this service's bind: its
    # server answers while ours (here: a process that never listens) has not.
    _Readiness.answers = [(200, {})]
    port = int(readiness_server.rsplit(":", 1)[1])
    popen, _ = sleeper
    assert listens_on(STACK_ID, popen.pid, port) is False
    answered: dict[str, float] = {}
    failures = _wait_until_answering([_service(port)], {"api": popen},
                                     {"api": tmp_path / "api.log"}, 2, answered, STACK_ID)
    assert answered == {}
    assert len(failures) == 1 and f"port {port} answered, but from another program" in failures[0]


def test_an_answer_from_the_services_own_process_counts(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = dict(os.environ, **{STACK_ID_ENV: STACK_ID})
    popen, _ = launch([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                       "--directory", str(tmp_path)], env, tmp_path, tmp_path / "api.log")
    try:
        answered: dict[str, float] = {}
        failures = _wait_until_answering([_service(port)], {"api": popen},
                                         {"api": tmp_path / "api.log"}, 60, answered, STACK_ID)
        assert failures == [] and set(answered) == {"api"}
        assert listens_on(STACK_ID, popen.pid, port) is True
        assert listens_on("another-stack-id", 2**22 + 7, port) is None  # no member at all
    finally:
        popen.kill()
        popen.wait()
