"""Alias moves reaching the served answers: the admin API's promote and rollback success paths,
and the background poller picking up a promotion made elsewhere, under load."""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from homeprice import registry, tracking
from homeprice.config import Settings
from homeprice.serving.app import create_app
from tests.support.bodies import CALIFORNIA
from tests.support.registry import register_variant

TOKEN = "s3cret-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def served_version(client: TestClient) -> str:
    """The version that answers a California prediction now."""
    response = client.post("/v1/california/predict", json=CALIFORNIA)
    assert response.status_code == 200, response.text
    return response.json()["model_version"]


@pytest.fixture
def admin(serving_settings: Settings) -> Iterator[TestClient]:
    """A started app with the admin API on and a second California version registered."""
    register_variant(serving_settings, registry.load_model("california", "1"))
    settings = serving_settings.model_copy(update={"admin_token": SecretStr(TOKEN)})
    with TestClient(create_app(settings)) as client:
        yield client


def test_promote_then_rollback_through_the_api_change_the_served_version(
        admin: TestClient, serving_settings: Settings) -> None:
    """Guards the success paths: after POST .../promote the new version answers at once (no
    poll needed), after POST .../rollback the previous one does, each audited as the API's."""
    assert served_version(admin) == "1"

    promoted = admin.post("/v1/admin/california/promote", headers=AUTH,
                          json={"version": "2", "reason": "release v2"})

    assert promoted.status_code == 200, promoted.text
    body = promoted.json()
    assert (body["audit"]["from_version"], body["audit"]["to_version"]) == ("1", "2")
    assert body["loaded"]["champion"]["version"] == "2"
    assert any("california@champion: v1 -> v2" in change for change in body["reload"])
    assert served_version(admin) == "2"

    rolled_back = admin.post("/v1/admin/california/rollback", headers=AUTH,
                             json={"reason": "v2 misprices", "expected_champion": "2"})

    assert rolled_back.status_code == 200, rolled_back.text
    audit = rolled_back.json()["audit"]
    assert (audit["action"], audit["from_version"], audit["to_version"], audit["actor"]) == (
        "rollback", "2", "1", "api")
    assert served_version(admin) == "1"
    client = tracking.configure(serving_settings)
    assert registry.alias_version(client, "california", registry.CHAMPION) == "1"
    moves = [(e.action, e.to_version, e.actor) for e in registry.history(client, "california")
             if e.alias == registry.CHAMPION]
    assert moves[-2:] == [("promote", "2", "api"), ("rollback", "1", "api")]


def test_the_poller_serves_a_promotion_made_elsewhere_under_load(
        serving_settings: Settings) -> None:
    """Guards the background reload: nobody calls refresh(); a promotion by another process
    (the registry directly) reaches the answers within a few poll intervals, and no request
    fails while the model is swapped."""
    version = register_variant(serving_settings, registry.load_model("california", "1"))
    settings = copy.deepcopy(serving_settings)
    settings.serving.reload_interval_seconds = 0.2
    failures: list[int] = []
    seen: list[str] = []
    stop = threading.Event()
    with TestClient(create_app(settings)) as client:
        def hammer() -> None:
            while not stop.is_set():
                response = client.post("/v1/california/predict", json=CALIFORNIA)
                if response.status_code != 200:
                    failures.append(response.status_code)
                else:
                    seen.append(response.json()["model_version"])

        workers = [threading.Thread(target=hammer) for _ in range(3)]
        for worker in workers:
            worker.start()
        try:
            while len(seen) < 5:  # under load before the move
                assert not failures, failures
                time.sleep(0.05)
            registry.promote(tracking.configure(settings), "california", version, "elsewhere")
            deadline = time.monotonic() + 60  # generous: the machine is shared
            while not seen or seen[-1] != version:
                assert time.monotonic() < deadline, "the poller never served the promotion"
                time.sleep(0.05)
            time.sleep(0.3)  # keep the load on after the swap too
        finally:
            stop.set()
            for worker in workers:
                worker.join()
    assert failures == []
    assert seen[0] == "1" and set(seen) == {"1", version}
