"""Models the server must handle apart: one whose fast path disagrees with its pipeline (served
through the pipeline, counted), and one explain has no method for (HTTP 501)."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sklearn.dummy import DummyRegressor

from homeprice import registry, tracking
from homeprice.config import Settings
from homeprice.datasets import get_dataset
from homeprice.serving.app import create_app
from tests.support.bodies import CALIFORNIA
from tests.support.registry import register_variant


class _SkewedFrames:
    """A feature builder whose frame path (`transform`, the pipeline's) disagrees with its
    column-list path (`transform_columns`, the fast path's): every feature is shifted."""

    def transform(self, X: Any) -> Any:
        return super().transform(X) + 1_000.0  # type: ignore[misc]


def promote_variant(settings: Settings, model: Any) -> str:
    """Register `model` for California and make it the champion; its version."""
    version = register_variant(settings, model)
    registry.promote(tracking.configure(settings), "california", version, "test variant")
    return version


def test_a_disagreeing_fast_path_is_refused_and_the_pipeline_serves(
        serving_settings: Settings) -> None:
    """Guards the fast-path check at load: the skewed model is served through its pipeline
    (its answer is the pipeline's, not v1's that its fast path would give), and the refusal
    is counted once."""
    original = registry.load_model("california", "1")
    with TestClient(create_app(serving_settings)) as client:
        v1_price = client.post("/v1/california/predict", json=CALIFORNIA).json()["price"]
    skewed = copy.deepcopy(original)
    features = skewed.steps[0][1]
    features.__class__ = type("Skewed" + type(features).__name__,
                              (_SkewedFrames, type(features)), {})
    version = promote_variant(serving_settings, skewed)

    with TestClient(create_app(serving_settings)) as client:
        champion = client.get("/v1/models").json()["california"]["champion"]
        answer = client.post("/v1/california/predict", json=CALIFORNIA).json()
        refused = client.app.state.context.metrics.registry.get_sample_value(
            "homeprice_fast_path_refused_total", {"dataset": "california"})

    assert champion["version"] == version and champion["fast_path"] is False
    assert champion["fast_path_max_rel_diff"] > serving_settings.serving.fast_path_tolerance
    frame = pd.DataFrame([CALIFORNIA])[list(get_dataset("california").feature_columns)]
    pipeline_price = float(skewed[-1].predict_interval(skewed[:-1].transform(frame))[0][0])
    assert answer["model_version"] == version
    assert answer["price"] == pytest.approx(pipeline_price, rel=1e-9)
    assert answer["price"] != pytest.approx(v1_price, rel=1e-6)
    assert refused == 1.0


def test_explaining_a_model_without_a_method_is_501(serving_settings: Settings) -> None:
    """Guards the typed error's status: a model type explain cannot take answers 501 with the
    reason (not 500, not a made-up explanation), and prediction still works."""
    constant = copy.deepcopy(registry.load_model("california", "1"))
    constant[-1].estimator_ = DummyRegressor(strategy="constant", constant=200_000.0).fit(
        np.zeros((2, 3)), np.zeros(2))
    promote_variant(serving_settings, constant)

    with TestClient(create_app(serving_settings)) as client:
        explained = client.post("/v1/california/explain", json=CALIFORNIA)
        predicted = client.post("/v1/california/predict", json=CALIFORNIA)

    assert explained.status_code == 501, explained.text
    assert "cannot explain this model" in explained.json()["detail"]
    assert "DummyRegressor" in explained.json()["detail"]
    assert predicted.status_code == 200 and predicted.json()["price"] == 200_000.0
