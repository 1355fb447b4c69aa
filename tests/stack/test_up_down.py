"""`homeprice up` / `down` for real: the API, web UI and MLflow UI as background processes over
a trained home answer within 60 s, a second `up` says it is up already, the generated tokens
work and appear in no log, and `down` leaves no process of the stack behind; a service that
dies at start is reported with the end of its log and nothing is left running."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from homeprice.stack.lifecycle import log_tail
from homeprice.stack.processes import STACK_ID_ENV
from tests.support.tokens import FEEDBACK_TOKEN

# One worker runs these one after another: each `up` takes the first free port from the same
# preferred ones (8000, 8501, 5000, 8080), and two at once race for them.
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("stack")]


def homeprice(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """`homeprice ARGS` in a subprocess (so the stack's processes are not this one's children)."""
    return subprocess.run([sys.executable, "-m", "homeprice.cli", *args], capture_output=True,
                          text=True, timeout=timeout, env=dict(os.environ, COLUMNS="200"))


def stack_processes(home: Path, groups: set[int] = frozenset()) -> list[str]:
    """Running (not zombie) processes of `home`'s stack: in one of `groups`, or carrying a
    stack id with this home in their environment."""
    found = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        try:
            if process.status() == psutil.STATUS_ZOMBIE:
                continue
            in_group = os.getpgid(process.pid) in groups
            env = process.environ()
            ours = STACK_ID_ENV in env and env.get("HOMEPRICE_HOME") == str(home.resolve())
        except (psutil.Error, ProcessLookupError, PermissionError):
            continue
        if in_group or ours:
            found.append(f"{process.pid}: {' '.join(process.info['cmdline'] or [])[:200]}")
    return found


def group_members(group: int) -> list[int]:
    """The running processes of one process group."""
    found = []
    for process in psutil.process_iter():
        try:
            if os.getpgid(process.pid) == group and process.status() != psutil.STATUS_ZOMBIE:
                found.append(process.pid)
        except (psutil.Error, ProcessLookupError):
            continue
    return found


def wait_gone(home: Path, groups: set[int], seconds: float = 10) -> list[str]:
    """The stack's processes still running after up to `seconds` (none, once all exited)."""
    deadline = time.monotonic() + seconds
    while (left := stack_processes(home, groups)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


def test_up_answers_within_a_minute_and_down_leaves_nothing(served_home: Path) -> None:
    state_file = served_home / "stack" / "state.json"
    groups: set[int] = set()
    try:
        started = time.monotonic()
        first = homeprice("up", "--timeout", "60")
        assert first.returncode == 0, first.stdout + first.stderr
        state = json.loads(state_file.read_text())
        groups = {service["pid"] for service in state["services"]}
        services = {service["name"]: service for service in state["services"]}
        assert set(services) == {"api", "ui", "mlflow"}
        for service in services.values():
            assert service["url"] in first.stdout
            assert httpx.get(service["health_url"], timeout=10).status_code == 200, service
        assert time.monotonic() - started < 60 + 30  # 60 s for the services, and the CLI's own
        api = services["api"]["url"]
        ready = httpx.get(f"{api}/readyz", timeout=10)  # `up` waited for the champions
        assert ready.status_code == 200, (ready.text, first.stdout,
                                          log_tail(Path(services["api"]["log"])))
        assert httpx.get(services["mlflow"]["url"], timeout=10).status_code == 200
        assert httpx.get(services["ui"]["url"], timeout=10).status_code == 200
        assert len({service["url"] for service in services.values()}) == 3

        # The admin token was generated (printed once, saved owner-only); the feedback token
        # came from the environment and was neither printed nor saved.
        tokens_file = served_home / "stack" / "tokens.env"
        assert stat.S_IMODE(tokens_file.stat().st_mode) == 0o600
        admin = dict(line.split("=", 1) for line in tokens_file.read_text().splitlines()
                     if not line.startswith("#"))["HOMEPRICE_ADMIN_TOKEN"]
        assert f"HOMEPRICE_ADMIN_TOKEN={admin}" in first.stdout
        assert FEEDBACK_TOKEN not in first.stdout + tokens_file.read_text()
        reload = httpx.post(f"{api}/v1/admin/california/reload", timeout=60,
                            headers={"Authorization": f"Bearer {admin}"})
        assert reload.status_code == 200, reload.text
        refused = httpx.post(f"{api}/v1/admin/california/reload", timeout=60,
                             headers={"Authorization": "Bearer wrong-token-0123456789"})
        assert refused.status_code == 401

        second = homeprice("up", "--timeout", "60")
        assert second.returncode == 0, second.stdout + second.stderr
        assert "already up" in second.stdout and admin not in second.stdout
        assert json.loads(state_file.read_text()) == state  # nothing new started

        down = homeprice("down")
        assert down.returncode == 0, down.stdout + down.stderr
        assert "stopped mlflow, api, ui" in down.stdout
        assert wait_gone(served_home, groups) == []
        assert not state_file.exists()
        for log in (served_home / "stack" / "logs").iterdir():
            text = log.read_text(errors="replace")
            assert admin not in text and FEEDBACK_TOKEN not in text, log
        again = homeprice("down")
        assert again.returncode == 0 and "not up" in again.stdout
    finally:
        if state_file.exists():
            homeprice("down", "--grace", "5")
    assert wait_gone(served_home, groups) == []


def test_a_service_dying_at_start_is_reported_and_nothing_is_left(
        home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # An admin token shorter than the API accepts: the API exits at start with the reason.
    monkeypatch.setenv("HOMEPRICE_ADMIN_TOKEN", "short")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    try:
        result = homeprice("up", "--timeout", "120")
        assert result.returncode == 1, result.stdout + result.stderr
        error = " ".join(result.stderr.split())
        assert "the stack did not start" in error
        assert "API (api) exited at start with status 2" in error
        assert "api.log" in error
        assert "HOMEPRICE_ADMIN_TOKEN is 5 characters long" in error  # the log's tail
        assert not (home / "stack" / "state.json").exists()
        assert not (home / "stack" / "tokens.env").exists()  # nothing generated was kept
    finally:
        if (home / "stack" / "state.json").exists():
            homeprice("down", "--grace", "5")
    assert wait_gone(home, set()) == []


@pytest.mark.slow
def test_with_airflow_over_a_fresh_home(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A fresh home: nothing trained yet, so the API answers but says it has no champion.
    for name in ("MLFLOW_TRACKING_URI", "HOMEPRICE_ADMIN_TOKEN", "HOMEPRICE_FEEDBACK_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    # `up` honours the user's Airflow settings (a PostgreSQL metadata URL, say): the DAG tests'
    # session fixture sets some in this process, and this test is about an Airflow of its own.
    for name in [name for name in os.environ if name.startswith("AIRFLOW")]:
        monkeypatch.delenv(name)
    state_file = home / "stack" / "state.json"
    groups: set[int] = set()
    try:
        # Airflow migrates its database and starts five components first: more than a minute
        # on a busy 2-core machine.
        result = homeprice("up", "--with-airflow", "--timeout", "300", timeout=600)
        assert result.returncode == 0, result.stdout + result.stderr
        state = json.loads(state_file.read_text())
        services = {service["name"]: service for service in state["services"]}
        groups = {service["pid"] for service in services.values()}
        assert set(services) == {"api", "ui", "mlflow", "airflow"}
        airflow = services["airflow"]
        assert httpx.get(airflow["health_url"], timeout=10).status_code == 200
        assert "no champion loaded" in " ".join(result.stdout.split())
        assert (home / "airflow" / "airflow.db").exists()  # its metadata lives in the home
        # Airflow's components (scheduler, DAG processor, triggerer, executor workers) are
        # all in its group.
        assert len(group_members(airflow["pid"])) > 4
        down = homeprice("down")
        assert down.returncode == 0, down.stdout + down.stderr
        assert wait_gone(home, groups, seconds=30) == []
    finally:
        if state_file.exists():
            homeprice("down", "--grace", "5")
    assert wait_gone(home, groups) == []
