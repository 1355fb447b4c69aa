"""Hot reload: swaps under load with zero failed requests; corrupt versions are never served."""

from __future__ import annotations

import copy
import threading
import time

import numpy as np
from fastapi.testclient import TestClient
from sklearn.dummy import DummyRegressor

from homeprice import registry, tracking
from homeprice.config import Settings
from homeprice.serving.app import create_app
from tests.support.bodies import CALIFORNIA
from tests.support.registry import register_variant


def test_reload_under_load_fails_no_request(serving_settings: Settings) -> None:
    champion = registry.load_model("california", "1")
    failures: list[int] = []
    versions: set[str] = set()
    stop = threading.Event()
    with TestClient(create_app(serving_settings)) as client:
        def hammer() -> None:
            while not stop.is_set():
                response = client.post("/v1/california/predict", json=CALIFORNIA)
                if response.status_code != 200:
                    failures.append(response.status_code)
                else:
                    versions.add(response.json()["model_version"])

        workers = [threading.Thread(target=hammer) for _ in range(4)]
        for worker in workers:
            worker.start()
        time.sleep(0.3)
        version = register_variant(serving_settings, champion)
        registry.promote(tracking.configure(serving_settings), "california", version, "v2 test")
        changes = client.app.state.context.store.refresh()
        time.sleep(0.3)
        stop.set()
        for worker in workers:
            worker.join()
        assert failures == []
        assert versions == {"1", "2"}, versions
        assert any("california@champion: v1 -> v2" in c for c in changes)
        assert client.get("/v1/models").json()["california"]["champion"]["version"] == "2"
        answer = client.post("/v1/california/predict", json=CALIFORNIA).json()
        assert answer["model_version"] == "2"


def test_corrupt_version_is_rejected_and_old_keeps_answering(serving_settings: Settings) -> None:
    corrupt = copy.deepcopy(registry.load_model("california", "1"))
    corrupt[-1].estimator_ = DummyRegressor(strategy="constant", constant=-1e12).fit(
        np.zeros((2, 3)), np.zeros(2))
    with TestClient(create_app(serving_settings)) as client:
        before = client.post("/v1/california/predict", json=CALIFORNIA).json()
        version = register_variant(serving_settings, corrupt)
        registry.promote(tracking.configure(serving_settings), "california", version, "bad one")
        changes = client.app.state.context.store.refresh()
        assert any("rejected" in c and "plausible range" in c for c in changes), changes
        after = client.post("/v1/california/predict", json=CALIFORNIA)
        assert after.status_code == 200
        assert after.json()["model_version"] == "1"
        assert after.json()["price"] == before["price"]
        loaded = client.get("/v1/models").json()["california"]
        assert loaded["champion"]["version"] == "1"
        metrics = client.get("/metrics").text
        assert ('homeprice_model_reloads_total{alias="champion",dataset="california",'
                'outcome="failed"} 1.0') in metrics
        # Polling again does not retry the same broken version.
        assert client.app.state.context.store.refresh() == []


def test_unloadable_artifact_is_rejected(serving_settings: Settings) -> None:
    with TestClient(create_app(serving_settings)) as client:
        client.app.state.context.store.refresh()
        version = register_variant(serving_settings, "not a model")
        registry.promote(tracking.configure(serving_settings), "california", version, "junk")
        changes = client.app.state.context.store.refresh()
        assert any("rejected" in c for c in changes), changes
        assert client.post("/v1/california/predict", json=CALIFORNIA).json()[
            "model_version"] == "1"
