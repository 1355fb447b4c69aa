"""A dataset's API request: a parsed row becomes a request body (the simulator's replay) that
its request model accepts and turns back into the same model inputs."""

from __future__ import annotations

import math

import pytest

from homeprice.config import Settings
from homeprice.datasets import DATASETS, get_dataset


def _same(a: object, b: object) -> bool:
    missing = (a is None or (isinstance(a, float) and math.isnan(a)),
               b is None or (isinstance(b, float) and math.isnan(b)))
    if any(missing):
        return all(missing)
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(float(a), float(b), rel_tol=1e-12)
    return a == b


@pytest.mark.parametrize("name", list(DATASETS))
def test_request_body_round_trips_to_the_parsed_inputs(cleaned, name: str) -> None:
    dataset = get_dataset(name)
    single = dataset.request_model(Settings())
    for _, row in cleaned[name].head(300).iterrows():
        body = dataset.request_body(row)
        features = single.model_validate(body).features()
        assert all(_same(features[c], row[c]) for c in dataset.feature_columns), (body, row)


def test_request_model_is_built_once_per_settings() -> None:
    dataset = get_dataset("california")
    assert dataset.request_model(Settings()) is dataset.request_model(Settings())
    moved = Settings(datasets={"california": {"latitude": [33.0, 40.0]}})
    assert dataset.request_model(moved) is not dataset.request_model(Settings())
