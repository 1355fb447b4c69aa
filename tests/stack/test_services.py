"""What `homeprice up` plans to run: distinct free ports, the tokens for the API only, the store
URI outside any command line, no MLflow UI beside a tracking server, Airflow's settings."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from homeprice.config import Settings, load_settings
from homeprice.stack.processes import STACK_ID_ENV
from homeprice.stack.services import base_environment, free_port, plan

TOKENS = {"HOMEPRICE_ADMIN_TOKEN": "admin-token-0123456789",
          "HOMEPRICE_FEEDBACK_TOKEN": "feedback-token-0123456789"}


def test_each_service_gets_its_own_port_and_only_the_api_the_tokens(
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOMEPRICE_ADMIN_TOKEN", "from-the-callers-environment")
    env = base_environment(settings, "id-1")
    assert "HOMEPRICE_ADMIN_TOKEN" not in env  # the caller's token reaches no service as is
    assert env[STACK_ID_ENV] == "id-1" and env["HOMEPRICE_HOME"] == str(settings.home.resolve())
    services = {s.name: s for s in plan(settings, env, TOKENS, "127.0.0.1", False,
                                        ["california"])}
    assert list(services) == ["mlflow", "api", "ui"]
    assert len({s.port for s in services.values()}) == 3
    for name, service in services.items():
        has_tokens = all(service.env.get(k) == v for k, v in TOKENS.items())
        assert has_tokens == (name == "api"), name
        assert not any(v in " ".join(service.command) for v in TOKENS.values())
    assert services["api"].command[-2:] == ["--datasets", "california"]
    assert services["ui"].command[services["ui"].command.index("--api-url") + 1] == \
        services["api"].url
    mlflow = services["mlflow"]
    assert mlflow.env["MLFLOW_BACKEND_STORE_URI"] == settings.tracking_uri
    assert settings.tracking_uri not in " ".join(mlflow.command)


def test_a_busy_port_is_skipped() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        taken: set[int] = set()
        first = free_port("127.0.0.1", port, taken)
        second = free_port("127.0.0.1", port, taken)  # one given to another service: skipped
        assert port < first < second and taken == {first, second}


def test_no_mlflow_ui_beside_a_tracking_server(home: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow.internal:5000")
    settings = load_settings()
    services = plan(settings, base_environment(settings, "id-2"), TOKENS, "127.0.0.1", False)
    assert [s.name for s in services] == ["api", "ui"]
    assert any("names a tracking server" in note for note in services[0].notes)


def test_airflow_gets_the_dags_its_port_and_a_psycopg_url(
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "postgresql://af@db:5432/airflow")
    services = plan(settings, base_environment(settings, "id-3"), TOKENS, "127.0.0.1", True)
    airflow = services[-1]
    assert airflow.name == "airflow" and "db migrate && exec" in airflow.command[-1]
    env = airflow.env
    assert Path(env["AIRFLOW__CORE__DAGS_FOLDER"], "homeprice_training.py").is_file()
    assert env["AIRFLOW__API__PORT"] == str(airflow.port)
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"].endswith(f":{airflow.port}/execution/")
    assert env["AIRFLOW_HOME"] == str(settings.home.resolve() / "airflow")
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == "postgresql+psycopg://af@db:5432/airflow"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"] == \
        env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert not any(k in env for k in TOKENS)
