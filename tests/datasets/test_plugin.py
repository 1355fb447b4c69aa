"""Adding a dataset is adding one folder: a tiny third dataset living in tests/support/tiny/,
named in HOMEPRICE_PLUGINS, goes through fetch -> train -> serve -> predict like the others."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from homeprice import tracking
from homeprice.config import load_settings
from homeprice.datasets import get_dataset
from homeprice.monitoring.simulate import requests_from_split
from homeprice.pipeline import run_pipeline
from homeprice.serving.app import create_app


@pytest.mark.slow
def test_a_plugin_dataset_from_fetch_to_prediction(home: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOMEPRICE_PLUGINS", "tests.support.tiny")
    monkeypatch.setenv("HOMEPRICE_DATASETS__TINY__MAX_AREA", "200")
    monkeypatch.setenv("HOMEPRICE_SERVING__DATASETS", '["tiny"]')
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    settings = load_settings()
    dataset = get_dataset("tiny")

    [run] = run_pipeline("tiny", settings, "fast")
    assert run.fetched.source.endswith("tests/support/tiny/sample/homes.csv")
    assert run.cleaned.dropped["too_large"] > 0  # the environment's max_area reached cleaning
    assert run.training.gate.promote and run.training.version == "1"

    bodies, prices = requests_from_split("tiny", settings)
    assert len(bodies) == len(prices) > 0
    tracking.configure(settings)
    with TestClient(create_app(settings)) as client:
        one = client.post("/v1/tiny/predict", json=dataset.request_example)
        assert one.status_code == 200, one.text
        answer = one.json()
        assert answer["lower"] <= answer["price"] <= answer["upper"]
        assert answer["variant"] == "champion" and answer["model_version"] == "1"
        many = client.post("/v1/tiny/predict", json={"instances": bodies[:5]})
        assert many.status_code == 200 and len(many.json()["predictions"]) == 5
        too_large = client.post("/v1/tiny/predict", json=dataset.request_example | {"area": 250})
        assert too_large.status_code == 422
        assert too_large.json()["message"].startswith("area:")
        explained = client.post("/v1/tiny/explain", json=dataset.request_example)
        assert explained.status_code == 200, explained.text
        assert {c["field"] for c in explained.json()["contributions"]} <= {"area", "rooms", "age"}
        assert client.post("/v1/california/predict", json={}).status_code == 404  # not served



def test_a_plugin_with_neither_a_clean_plan_nor_a_clean_says_so() -> None:
    # Dataset.clean applies the plug-in's clean_plan; one that declares neither must fail
    # naming itself, not clean nothing.
    from homeprice.datasets.california.source import California

    class Planless(California):
        name = "planless"

        def clean_plan(self, settings: object) -> None:
            return None

    raw = pd.read_csv(get_dataset("california").sample_path)
    with pytest.raises(NotImplementedError, match="planless declares neither"):
        Planless().clean(raw, load_settings())
