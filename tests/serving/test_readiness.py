"""/readyz: ready means models loaded and able to answer; the prediction log's health (from the
writes actually attempted) is in the body and in /metrics, never in the status."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import TEMPORARILY_UNAVAILABLE

from homeprice import registry, tracking
from homeprice.config import Settings
from homeprice.predictionlog import prediction_logs, store_url
from homeprice.serving import readiness
from homeprice.serving.app import create_app
from tests.support.bodies import CALIFORNIA
from tests.support.postgres import fresh_pg_database
from tests.support.predictionlog import database_down, wait_until
from tests.support.registry import register_variant


def quick_shutdown(settings: Settings, **changes: object) -> Settings:
    """`settings` whose log gives up on a broken database within a second at shutdown."""
    serving = settings.serving.model_copy(update={"log_shutdown_grace_seconds": 1.0})
    return settings.model_copy(update={"serving": serving, **changes})


def log_state(client: TestClient) -> dict:
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text  # models are loaded: always ready
    return ready.json()["log"]


def test_ready_with_a_healthy_log(client: TestClient) -> None:
    assert client.post("/v1/california/predict", json=CALIFORNIA).status_code == 200
    body = client.get("/readyz").json()
    assert (body["status"], body["models_loaded"]) == ("ready", True)
    assert body["log"]["state"] == "ok" and body["log"]["dropped"] == 0
    assert 'homeprice_log_state{state="ok"} 1.0' in client.get("/metrics").text


def test_sqlite_failing_every_write_is_reported_in_the_body(serving_settings: Settings,
                                                            served_home: Path) -> None:
    with TestClient(create_app(quick_shutdown(serving_settings))) as client:
        assert log_state(client)["state"] == "ok"
        # SELECT 1 still answers, but every insert fails from now on.
        engine = sa.create_engine(store_url(serving_settings.log_url))
        prediction_logs.drop(engine)
        engine.dispose()
        assert client.post("/v1/california/predict", json=CALIFORNIA).status_code == 200
        wait_until(lambda: log_state(client)["state"] == "down")
        state = log_state(client)
        assert state["last_error"] == "OperationalError" and state["queue_depth"] == 1
        metrics = client.get("/metrics").text
        assert 'homeprice_log_state{state="down"} 1.0' in metrics
        assert 'homeprice_log_state{state="ok"} 0.0' in metrics


@pytest.fixture
def pg_log_url() -> Iterator[str]:
    with fresh_pg_database("homeprice_readyz") as url:
        yield url


@pytest.mark.postgres
def test_a_database_outage_keeps_a_replica_ready(serving_settings: Settings,
                                                 pg_log_url: str) -> None:
    settings = quick_shutdown(serving_settings, log_db_url=pg_log_url)
    with TestClient(create_app(settings)) as client:
        assert client.post("/v1/california/predict", json=CALIFORNIA).status_code == 200
        ctx = client.app.state.context
        assert ctx.log.flush()
        with database_down(pg_log_url, ctx.log):
            # Predictions do not need the database: they answer, and the replica stays ready.
            assert client.post("/v1/california/predict", json=CALIFORNIA).status_code == 200
            wait_until(lambda: log_state(client)["state"] == "down")
            assert log_state(client)["last_error"] in ("OperationalError", "InterfaceError")
            # Only error classes reach the body, never the URL or a driver message.
            assert pg_log_url.split("@")[0] not in client.get("/readyz").text
        assert ctx.log.flush(timeout=30)
        assert log_state(client)["state"] == "ok"


def test_a_failed_registry_lookup_is_retried_and_keeps_the_challenger(
        serving_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    # A store that fails (a locked SQLite file as the MLflow UI starts beside the API) is not
    # "no champion": the server says it waits for the lookup, and the next poll loads it.
    real = registry.alias_version

    def locked(*args: object) -> str | None:
        raise MlflowException("database is locked", TEMPORARILY_UNAVAILABLE)

    monkeypatch.setattr(registry, "alias_version", locked)
    with TestClient(create_app(serving_settings)) as client:
        answer = client.get("/readyz")
        assert answer.status_code == 503
        assert answer.json()["waiting"] == {"california": readiness.LOOKUP_FAILED,
                                            "bengaluru": readiness.LOOKUP_FAILED}
        assert "locked" not in answer.text  # generic reasons only: /readyz answers anyone
        store = client.app.state.context.store
        monkeypatch.setattr(registry, "alias_version", real)
        version = register_variant(serving_settings, registry.load_model("california", "1"))
        tracking.configure(serving_settings).set_registered_model_alias(
            registry.model_name("california"), registry.CHALLENGER, version)
        store.refresh()
        answer = client.get("/readyz")
        assert answer.status_code == 200 and answer.json()["waiting"] == {}
        assert store.get("california", registry.CHALLENGER).version == version
        # The registry failing again leaves what is loaded alone: the challenger stays.
        monkeypatch.setattr(registry, "alias_version", locked)
        assert store.refresh() == []
        assert store.get("california", registry.CHALLENGER).version == version


def test_a_dataset_without_a_champion_says_so(home: Path) -> None:
    from homeprice.config import load_settings

    with TestClient(create_app(load_settings())) as client:
        answer = client.get("/readyz")
        assert answer.status_code == 503
        assert set(answer.json()["waiting"].values()) == {readiness.NO_CHAMPION}
