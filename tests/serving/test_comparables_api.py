"""POST /v1/{dataset}/comparables: single and batch answers, sorted and bounded comps from the
training rows, never the home itself, bad k answered 422, and a model registered before
comparables existed answered 501 with the reason."""

from __future__ import annotations

import copy

import pytest
from fastapi.testclient import TestClient

from homeprice import registry, tracking
from homeprice.comparables import COMPARABLES_ATTRIBUTE
from homeprice.config import Settings
from homeprice.datasets import get_dataset
from homeprice.serving.app import create_app
from homeprice.serving.comparables import agreement
from homeprice.serving.limits import route_class
from homeprice.training.runner import load_split
from tests.support.bodies import BODIES, CALIFORNIA
from tests.support.registry import register_variant


def _check_home(answer: dict, k: int, coordinates: bool) -> None:
    comps = answer["comparables"]
    assert len(comps) == k and len({c["id"] for c in comps}) == k
    assert all(c["id"].split(":")[0] in ("train", "calibration") for c in comps)
    prices = [c["price"] for c in comps]
    assert answer["comps_low"] == min(prices) and answer["comps_high"] == max(prices)
    assert answer["comps_low"] <= answer["comps_estimate"] <= answer["comps_high"]
    assert answer["lower"] <= answer["price"] <= answer["upper"]
    assert answer["agreement"] == agreement(answer["price"], answer["comps_low"],
                                            answer["comps_high"])
    assert answer["note"].startswith(f"the model price is {answer['agreement']} the comps range")
    distances = [c["similarity_distance"] for c in comps]
    if coordinates:
        assert distances == sorted(distances)
        assert all(c["where"].endswith(" km") and c["distance_km"] >= 0 for c in comps)
    else:  # the home's locality first, each part most similar first
        same = [c["where"] == "same locality" for c in comps]
        assert same == sorted(same, reverse=True)
        for part in (True, False):
            chosen = [d for d, s in zip(distances, same, strict=True) if s is part]
            assert chosen == sorted(chosen)
        assert all(c["distance_km"] is None for c in comps)


@pytest.mark.parametrize("dataset", ["california", "bengaluru"])
def test_comparables_of_one_and_many_homes(client: TestClient, dataset: str) -> None:
    one = client.post(f"/v1/{dataset}/comparables", json=BODIES[dataset])
    assert one.status_code == 200, one.text
    body = one.json()
    _check_home(body, 5, dataset == "california")
    predicted = client.post(f"/v1/{dataset}/predict", json=BODIES[dataset]).json()
    assert body["price"] == pytest.approx(predicted["price"], rel=1e-12)
    assert body["model_version"] == predicted["model_version"]
    many = client.post(f"/v1/{dataset}/comparables?k=12",
                       json={"instances": [BODIES[dataset]] * 3})
    assert many.status_code == 200, many.text
    results = many.json()["results"]
    assert len(results) == 3
    for result in results:
        _check_home(result, 12, dataset == "california")
    # The 5 nearest are the first 5 of the 12 nearest.
    assert [c["id"] for c in results[0]["comparables"][:5]] == [
        c["id"] for c in body["comparables"]]


@pytest.mark.parametrize("k", ["0", "-3", "51", "many", "2.5"])
def test_bad_k_is_422_naming_k(client: TestClient, k: str) -> None:
    response = client.post(f"/v1/california/comparables?k={k}", json=CALIFORNIA)
    assert response.status_code == 422, response.text
    assert response.json()["message"].startswith("query.k:"), response.json()


def test_bad_home_is_422_naming_the_field(client: TestClient) -> None:
    response = client.post("/v1/california/comparables", json=CALIFORNIA | {"latitude": 99})
    assert response.status_code == 422
    assert response.json()["message"].startswith("latitude:")


@pytest.mark.parametrize("dataset", ["california", "bengaluru"])
def test_a_training_home_is_never_its_own_comparable(client: TestClient, trained_home: object,
                                                     serving_settings: Settings,
                                                     dataset: str) -> None:
    spec = get_dataset(dataset)
    split, _ = load_split(spec, serving_settings)
    rows = [3, 40, 500]
    bodies = [spec.request_body(split.train.iloc[i]) for i in rows]
    response = client.post(f"/v1/{dataset}/comparables?k=20", json={"instances": bodies})
    assert response.status_code == 200, response.text
    for i, result in zip(rows, response.json()["results"], strict=True):
        ids = [c["id"] for c in result["comparables"]]
        assert f"train:{i}" not in ids


def test_a_model_registered_before_comparables_is_501(serving_settings: Settings) -> None:
    old = copy.deepcopy(registry.load_model("california", "1"))
    delattr(old, COMPARABLES_ATTRIBUTE)  # what every version registered before looks like
    version = register_variant(serving_settings, old)
    registry.promote(tracking.configure(serving_settings), "california", version, "old model")

    with TestClient(create_app(serving_settings)) as client:
        response = client.post("/v1/california/comparables", json=CALIFORNIA)
        predicted = client.post("/v1/california/predict", json=CALIFORNIA)

    assert response.status_code == 501, response.text
    detail = response.json()["detail"]
    assert f"model v{version} of california has no comparables" in detail
    assert "registered before comparables existed" in detail
    assert "homeprice pipeline run --dataset california" in detail
    assert predicted.status_code == 200  # prices are unaffected


def test_too_many_homes_is_413(serving_settings: Settings) -> None:
    settings = serving_settings.model_copy(update={
        "serving": serving_settings.serving.model_copy(update={"comparables_max_batch": 2})})
    with TestClient(create_app(settings)) as client:
        response = client.post("/v1/california/comparables",
                               json={"instances": [CALIFORNIA] * 3})
    assert response.status_code == 413
    assert "limit of 2" in response.json()["detail"]


def test_the_route_is_documented_and_counted(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    operation = schema["paths"]["/v1/california/comparables"]["post"]
    assert {p["name"] for p in operation["parameters"]} == {"k"}
    assert "501" in operation["responses"]
    client.post("/v1/california/comparables", json=CALIFORNIA)
    metrics = client.app.state.context.metrics.registry
    assert metrics.get_sample_value("homeprice_requests_total", {
        "dataset": "california", "endpoint": "comparables", "variant": "champion",
        "status": "200"}) == 1.0


def test_comparables_bodies_have_the_predict_limit() -> None:
    assert route_class("/v1/california/comparables") == route_class("/v1/california/predict")
