"""Form fields from the API's OpenAPI schema: kinds, bounds, choices, required, examples."""

from __future__ import annotations

import pytest

from homeprice.config import Settings
from homeprice.serving.app import create_app
from homeprice.ui import forms


@pytest.fixture
def openapi(settings: Settings) -> dict:
    return create_app(settings, load_models=False).openapi()


def test_california_fields_carry_the_api_bounds(openapi: dict) -> None:
    fields = {spec.name: spec for spec in forms.fields_for(openapi, "california")}
    assert list(fields)[:2] == ["longitude", "latitude"]
    assert (fields["latitude"].minimum, fields["latitude"].maximum) == (32.0, 42.5)
    assert fields["latitude"].kind == "number" and fields["latitude"].required
    # gt=0 has no inclusive bound: the widget starts just above it.
    assert 0 < fields["median_income"].minimum < 0.001
    assert not fields["total_bedrooms"].required and fields["total_bedrooms"].initial == 129
    assert fields["ocean_proximity"].kind == "choice"
    assert "NEAR BAY" in fields["ocean_proximity"].choices


def test_bengaluru_fields_accept_the_source_formats(openapi: dict) -> None:
    fields = {spec.name: spec for spec in forms.fields_for(openapi, "bengaluru")}
    assert fields["total_sqft"].kind == "text"  # "2100 - 2850" is a valid area
    assert fields["bedrooms"].kind == "integer" and fields["bedrooms"].maximum == 20
    assert fields["availability"].initial == "Ready To Move"
    assert fields["location"].max_length == 200


def test_an_unserved_dataset_is_named(openapi: dict) -> None:
    with pytest.raises(LookupError, match="does not serve 'paris'"):
        forms.fields_for(openapi, "paris")


def test_empty_fields_are_left_out_of_the_request() -> None:
    assert forms.body({"location": "Whitefield", "bath": None}) == {"location": "Whitefield"}
