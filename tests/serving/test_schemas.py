"""The API's request models come from the datasets under the loaded settings: a YAML override
of a dataset's bounds reaches validation and the OpenAPI schema."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Literal

import pytest
from fastapi.testclient import TestClient
from pydantic import field_serializer

from homeprice.config import load_settings
from homeprice.datasets import get_dataset
from homeprice.datasets.modelinput import ModelInput
from homeprice.serving.app import create_app
from homeprice.serving.schemas import request_models, strict_model
from tests.support.bodies import BENGALURU, BODIES, CALIFORNIA


def test_request_models_cover_every_dataset(settings) -> None:
    models = request_models(settings)
    assert list(models) == ["california", "bengaluru", "magicbricks"]
    single, _ = models["california"]
    assert single.__name__ == "CaliforniaHouse"
    assert request_models(settings)["california"] == models["california"]  # same types


def test_yaml_bounds_reach_the_api(home: Path, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "north.yaml"
    config.write_text("datasets:\n  california:\n    latitude: [36.0, 42.5]\n")
    monkeypatch.setenv("HOMEPRICE_CONFIG", str(config))
    app = create_app(load_settings(), load_models=False)
    client = TestClient(app)  # not started: validation answers before any model is needed
    response = client.post("/v1/california/predict", json=CALIFORNIA | {"latitude": 34.05})
    assert response.status_code == 422
    assert "greater than or equal to 36" in response.json()["message"]
    schema = app.openapi()["components"]["schemas"]["CaliforniaHouse"]
    assert schema["properties"]["latitude"]["minimum"] == 36.0


@pytest.mark.parametrize("field", ["total_sqft", "size", "availability"])
def test_a_huge_text_value_is_refused_by_its_length(settings, field: str) -> None:
    """100 KB in a parsed text field: a 422 naming the field, before any parser runs."""
    client = TestClient(create_app(settings, load_models=False))
    started = time.perf_counter()
    response = client.post("/v1/bengaluru/predict",
                           json=BENGALURU | {field: "1" + " " * 100_000 + "!"})
    assert response.status_code == 422
    assert response.json()["message"].startswith(f"{field}: ")
    assert "at most 100 characters" in response.json()["message"]
    assert time.perf_counter() - started < 5.0  # was minutes with backtracking patterns


def _variants(body: dict) -> list[dict]:
    """`body` with each field replaced by values JSON may carry: right and wrong types."""
    values = [True, False, 0, 3, 3.0, 3.5, -1, 1e9, "3", "3.5", "", " x ", None, [], {}]
    out = [body, {**body, "unknown_field": 1}]
    out += [{k: v for k, v in body.items() if k != name} for name in body]
    out += [{**body, name: value} for name in body for value in values]
    return out


@pytest.mark.parametrize("dataset", ["california", "bengaluru", "magicbricks"])
def test_the_shortcuts_strict_model_accepts_a_subset_with_the_same_fields(
        settings, dataset: str) -> None:
    single, _ = request_models(settings)[dataset]
    strict = strict_model(single)
    example = dict(BODIES.get(dataset, get_dataset(dataset).request_example))
    accepted = 0
    for body in _variants(example):
        try:
            got = strict.model_validate(body).features()
        except ValueError:
            continue
        assert single.model_validate(body).features() == got, body
        accepted += 1
    assert accepted > 1
    for refused in ({**example, name: True} for name in single._numeric):
        with pytest.raises(ValueError):
            strict.model_validate(refused)


def test_the_strict_copy_runs_no_python_number_check_per_field(settings) -> None:
    # Strict mode refuses true/false and texts for numbers itself (the test above), so the
    # copy's per-field Python validator is one of no real field: never called.
    single, _ = request_models(settings)["california"]
    validators = strict_model(single).__pydantic_decorators__.field_validators
    assert validators["_strict_numbers"].info.fields == ("__no_field__",)
    assert single.__pydantic_decorators__.field_validators["_strict_numbers"].info.fields == (
        "*",)


@pytest.mark.parametrize("dataset", ["california", "bengaluru", "magicbricks"])
def test_features_are_the_models_dump_for_every_accepted_body(settings, dataset: str) -> None:
    # features() copies the fields of a plain model instead of calling model_dump(): the same
    # dict, for every body either model accepts.
    single, _ = request_models(settings)[dataset]
    example = dict(BODIES.get(dataset, get_dataset(dataset).request_example))
    checked = 0
    for model in (single, strict_model(single)):
        for body in _variants(example):
            try:
                item = model.model_validate(body)
            except ValueError:
                continue
            if type(item).features is ModelInput.features:
                assert item.features() == item.model_dump(), body
                checked += 1
    # Bengaluru and Magicbricks parse their texts in features() of their own.
    assert checked > 1 if single.features is ModelInput.features else checked == 0
    assert single._plain or dataset != "california"


def test_a_model_with_a_nested_or_serialized_field_is_not_plain() -> None:
    class Nested(ModelInput):
        where: dict[str, float]

    class Serialized(ModelInput):
        price: float

        @field_serializer("price")
        def _rounded(self, value: float) -> float:
            return round(value)

    class Plain(ModelInput):
        rooms: int
        kind: Literal["a", "b"] | None = None

    assert (Nested._plain, Serialized._plain, Plain._plain) == (False, False, True)
    assert Serialized(price=1.4).features() == {"price": 1}
    assert Plain(rooms=2).features() == {"rooms": 2, "kind": None}
