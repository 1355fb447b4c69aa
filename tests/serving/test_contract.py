"""The request contract: strict numbers, schema and validator agreeing on bounds, documented
400s, feedback bounded to a plausible range and its own dataset, non-finite prices refused."""

from __future__ import annotations

import math

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests.support.bodies import BENGALURU, CALIFORNIA
from tests.support.tokens import FEEDBACK_AUTH


@pytest.mark.parametrize(("dataset", "field", "value"), [
    ("california", "population", False),
    ("california", "median_income", "8.3"),
    ("bengaluru", "balcony", False),
    ("bengaluru", "bath", "2"),
    ("bengaluru", "bedrooms", True),
    ("bengaluru", "total_sqft", False),
])
def test_booleans_and_numeric_texts_are_not_numbers(client: TestClient, dataset: str,
                                                    field: str, value: object) -> None:
    body = {"california": CALIFORNIA, "bengaluru": BENGALURU}[dataset] | {field: value}
    answer = client.post(f"/v1/{dataset}/predict", json=body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["message"].startswith(f"{field}: ")


def test_integers_are_still_valid_floats(client: TestClient) -> None:
    assert client.post("/v1/california/predict",
                       json=CALIFORNIA | {"median_income": 8}).status_code == 200
    assert client.post("/v1/bengaluru/predict",
                       json=BENGALURU | {"bedrooms": 3.0, "bath": 2}).status_code == 200


def test_schema_states_the_bounds_the_validator_enforces(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    sqft = schemas["BengaluruHome"]["properties"]["total_sqft"]["anyOf"]
    number = next(s for s in sqft if s["type"] == "number")
    assert number["exclusiveMinimum"] == 0
    assert client.post("/v1/bengaluru/predict",
                       json=BENGALURU | {"total_sqft": 0.0}).status_code == 422
    # Size is optional (plots are listed by area only); the area is required.
    assert "anyOf" not in schemas["BengaluruHome"]
    assert set(schemas["BengaluruHome"]["required"]) == {"area_type", "location", "total_sqft"}
    feedback = schemas["CaliforniaFeedback"]["properties"]["actual_price"]
    assert (feedback["minimum"], feedback["maximum"]) == (1_000, 5_000_000)


def test_unparseable_bodies_are_a_documented_400(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for dataset in ("california", "bengaluru"):
        for action in ("predict", "explain", "feedback"):
            assert "400" in paths[f"/v1/{dataset}/{action}"]["post"]["responses"]
    answer = client.post("/v1/california/predict", content=b"{\"median_income\": \"\x80\"}",
                         headers={"content-type": "application/json"})
    assert answer.status_code == 400


@pytest.mark.parametrize("price", [1e300, 0.5, 6_000_000])
def test_feedback_outside_the_plausible_range_is_422_naming_field_and_range(
        client: TestClient, price: float) -> None:
    pid = client.post("/v1/california/predict", json=CALIFORNIA).json()["prediction_id"]
    answer = client.post("/v1/california/feedback", headers=FEEDBACK_AUTH,
                         json={"prediction_id": pid, "actual_price": price})
    assert answer.status_code == 422
    message = answer.json()["message"]
    assert message.startswith("actual_price: ") and "between 1000 and 5e+06" in message


def test_feedback_for_another_datasets_prediction_is_404(client: TestClient) -> None:
    pid = client.post("/v1/california/predict", json=CALIFORNIA).json()["prediction_id"]
    answer = client.post("/v1/bengaluru/feedback", headers=FEEDBACK_AUTH,
                         json={"prediction_id": pid, "actual_price": 50})
    assert answer.status_code == 404
    assert "not a bengaluru prediction" in answer.json()["detail"]
    # ...and its own dataset still takes it.
    assert client.post("/v1/california/feedback", headers=FEEDBACK_AUTH, json={
        "prediction_id": pid, "actual_price": 452_600}).status_code == 200


def test_a_model_answering_nan_is_refused_with_500_and_counted(
        client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = client.app.state.context  # type: ignore[attr-defined]
    champion = ctx.store.get("california", "champion")

    def broken(columns: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n = len(next(iter(columns.values())))
        return np.full(n, math.nan), np.full(n, math.nan), np.full(n, math.inf)

    monkeypatch.setattr(champion.predictor, "predict", broken)
    answer = client.post("/v1/california/predict", json=CALIFORNIA)
    assert answer.status_code == 500
    assert "non-finite" in answer.json()["detail"]
    metrics = client.get("/metrics").text
    assert ('homeprice_nonfinite_outputs_total{dataset="california",variant="champion"} 1.0'
            in metrics)


def test_an_explanation_of_a_nan_price_is_refused_with_500(
        client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    champion = client.app.state.context.store.get("california", "champion")  # type: ignore[attr-defined]
    monkeypatch.setattr(champion.predictor, "point",
                        lambda Z: np.full(len(Z), math.nan))
    answer = client.post("/v1/california/explain", json=CALIFORNIA)
    assert answer.status_code == 500 and "non-finite" in answer.json()["detail"]


def test_every_documented_422_is_the_validation_error_list(client: TestClient) -> None:
    """A 422 answers {"detail": [errors...], "message": ...} (FastAPI's validation error), so
    a route documenting its 422 as {"detail": "text"} contradicts itself (schemathesis found
    this on /comparables)."""
    paths = client.get("/openapi.json").json()["paths"]
    documented = {(path, method): op["responses"]["422"]
                  for path, ops in paths.items() for method, op in ops.items()
                  if "422" in op.get("responses", {})}
    assert ("/v1/california/comparables", "post") in documented
    for where, response in documented.items():
        schema = response["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/HTTPValidationError"}, where
