"""Schemathesis against /openapi.json: no 5xx, and every response matches the schema."""

from __future__ import annotations

import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from homeprice.api import create_api
from homeprice.config import Settings

# What the API promises: never a 5xx, and every status, content type and body documented.
# This quick in-process run keeps to the response checks; every check, positive and negative
# data acceptance included, runs against a live server in test_schemathesis_live.py.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance]


def test_api_conforms_to_its_schema(serving_settings: Settings) -> None:
    # schemathesis.pytest.from_fixture does not run under pytest 9, so each operation's
    # strategy is driven by hypothesis directly; the checks are schemathesis' own.
    app: FastAPI = create_api(serving_settings)
    with TestClient(app):  # runs the lifespan: models loaded, log started
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 10
        for operation in operations:
            @given(case=operation.as_strategy())
            @settings(max_examples=20, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck))
            def check(case: schemathesis.Case) -> None:
                case.call_and_validate(checks=CHECKS)

            check()
