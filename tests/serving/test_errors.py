"""Typed errors and the app's one handler: each error answers with its own HTTP status and
{"detail": message} (the CLI keeps its exit codes), and the registry's conflicts reach the
admin API as the statuses it documents."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import mlflow
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from homeprice import registry
from homeprice.api import create_api
from homeprice.config import Settings, load_settings
from homeprice.errors import (
    AlreadyChampionError,
    ConflictError,
    HomepriceError,
    NotFoundError,
    UnavailableError,
    UnsupportedError,
    UserInputError,
)
from tests.support.bodies import CALIFORNIA

AUTH = {"Authorization": "Bearer s3cret-0123456789"}


@pytest.mark.parametrize(("error", "status", "exit_code"), [
    (HomepriceError, 500, 1), (UserInputError, 400, 2), (NotFoundError, 404, 1),
    (ConflictError, 409, 1), (AlreadyChampionError, 409, 2), (UnavailableError, 503, 1),
    (UnsupportedError, 501, 1)])
def test_each_error_carries_its_status_and_exit_code(error: type[HomepriceError], status: int,
                                                      exit_code: int) -> None:
    assert (error.http_status, error.exit_code) == (status, exit_code)


def test_already_champion_is_a_conflict_and_a_user_error() -> None:
    # The CLI and older callers catch UserInputError for every bad promotion.
    assert issubclass(AlreadyChampionError, UserInputError)
    assert issubclass(AlreadyChampionError, ConflictError)


@pytest.fixture
def bare_app(home: Path) -> FastAPI:
    """An app over an empty home (no models), with a route raising any error by name."""
    app = create_api(load_settings(), load_models=False)
    errors = {cls.__name__: cls for cls in (HomepriceError, UserInputError, NotFoundError,
                                             ConflictError, AlreadyChampionError,
                                             UnavailableError, UnsupportedError)}

    @app.get("/raise/{name}", include_in_schema=False)
    async def raise_it(name: str) -> None:
        raise errors[name](f"{name} happened")

    return app


@pytest.mark.parametrize(("name", "status"), [
    ("UserInputError", 400), ("NotFoundError", 404), ("ConflictError", 409),
    ("AlreadyChampionError", 409), ("UnsupportedError", 501), ("UnavailableError", 503),
    ("HomepriceError", 500)])
def test_one_handler_answers_every_typed_error(bare_app: FastAPI, name: str, status: int,
                                               caplog: pytest.LogCaptureFixture) -> None:
    with TestClient(bare_app) as client, caplog.at_level(logging.ERROR):
        response = client.get(f"/raise/{name}")
    assert response.status_code == status
    assert response.json() == {"detail": f"{name} happened"}
    assert response.headers["content-type"] == "application/json"
    # Unexpected failures keep their traceback in the server log; the client gets one line.
    logged = [r for r in caplog.records if f"{name} happened" in r.getMessage()]
    assert bool(logged) == (status == 500)


def test_no_champion_is_503_and_counted(bare_app: FastAPI) -> None:
    with TestClient(bare_app) as client:
        response = client.post("/v1/california/predict", json=CALIFORNIA)
        assert response.status_code == 503
        assert response.json() == {"detail": "no champion model of california is loaded yet"}
        counted = client.app.state.context.metrics.registry.get_sample_value(
            "homeprice_requests_total", {"dataset": "california", "endpoint": "predict",
                                         "variant": "", "status": "503"})
    assert counted == 1


def test_unknown_datasets_are_404(bare_app: FastAPI) -> None:
    with TestClient(bare_app) as client:
        insights = client.get("/v1/insights/atlantis/drift")
        assert insights.status_code == 404
        assert insights.json() == {"detail": "unknown dataset 'atlantis' "
                                             "(served: california, bengaluru)"}
        assert client.post("/v1/atlantis/predict", json={}).status_code == 404


# -- the registry's conflicts through the admin API ------------------------------------------------
@pytest.fixture
def admin(serving_settings: Settings) -> Iterator[TestClient]:
    """Admin enabled over the trained copy (champion v1, no challenger); models not loaded:
    the refused changes never reach a reload."""
    settings = serving_settings.model_copy(update={"admin_token": SecretStr("s3cret-0123456789")})
    with TestClient(create_api(settings, load_models=False)) as client:
        yield client


def test_promoting_the_champion_again_is_409(admin: TestClient) -> None:
    response = admin.post("/v1/admin/california/promote", headers=AUTH,
                          json={"version": "1", "reason": "again"})
    assert response.status_code == 409
    assert response.json() == {"detail": "version 1 is already the champion of california"}


def test_rollback_without_a_previous_champion_is_409(admin: TestClient) -> None:
    response = admin.post("/v1/admin/bengaluru/rollback", headers=AUTH,
                          json={"reason": "nothing before"})
    assert response.status_code == 409
    assert response.json() == {
        "detail": "homeprice-bengaluru has no previous champion to roll back to"}


def test_an_unknown_version_is_400_as_documented(admin: TestClient) -> None:
    # The API documents 400 ("no such version or bad request") for it; 404 means the dataset.
    response = admin.post("/v1/admin/california/promote", headers=AUTH,
                          json={"version": "9", "reason": "typo"})
    assert response.status_code == 400
    assert response.json() == {"detail": "homeprice-california has no version 9"}
    documented = admin.get("/openapi.json").json()["paths"]["/v1/admin/{dataset}/promote"]
    assert {"400", "404", "409"} <= set(documented["post"]["responses"])


def test_the_auth_check_comes_before_the_dataset_check(admin: TestClient) -> None:
    assert admin.post("/v1/admin/atlantis/reload").status_code == 401
    assert admin.post("/v1/admin/atlantis/reload", headers=AUTH).status_code == 404


def test_the_registry_client_is_the_apps_own(admin: TestClient, serving_settings: Settings,
                                             tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Requests read the app's registry even when MLflow's global URI points elsewhere, and
    leave that global alone (it is process-wide: tests and other code move it)."""
    elsewhere = f"sqlite:///{tmp_path}/elsewhere.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", elsewhere)
    mlflow.set_tracking_uri(elsewhere)
    try:
        listed = admin.get("/v1/insights/california/models")
        assert listed.status_code == 200
        assert [v["version"] for v in listed.json()["versions"]] == ["1"]
        assert mlflow.get_tracking_uri() == elsewhere
        client = admin.app.state.context.registry
        aliases = client.get_registered_model(registry.model_name("california")).aliases
        assert {alias: str(version) for alias, version in aliases.items()} == {"champion": "1"}
    finally:
        mlflow.set_tracking_uri(serving_settings.tracking_uri)
