"""Serving fixtures: apps over a private copy of the trained home."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from homeprice.config import Settings, load_settings
from homeprice.serving.app import create_app

CALIFORNIA = {"longitude": -122.23, "latitude": 37.88, "housing_median_age": 41,
              "total_rooms": 880, "total_bedrooms": 129, "population": 322, "households": 126,
              "median_income": 8.3252, "ocean_proximity": "NEAR BAY"}
BENGALURU = {"area_type": "Super built-up  Area", "availability": "19-Dec",
             "location": "Electronic City Phase II", "size": "2 BHK", "society": "Coomee",
             "total_sqft": "1056", "bath": 2, "balcony": 1}
BODIES = {"california": CALIFORNIA, "bengaluru": BENGALURU}


@pytest.fixture
def served_home(trained_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the trained home (registry and log may change freely)."""
    home = tmp_path / "home"
    shutil.copytree(trained_home, home, ignore=shutil.ignore_patterns("predictions.db*"))
    monkeypatch.setenv("HOMEPRICE_HOME", str(home))
    for name in ("MLFLOW_TRACKING_URI", "HOMEPRICE_LOG_DB_URL", "HOMEPRICE_ADMIN_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def serving_settings(served_home: Path) -> Settings:
    """Settings of the private home."""
    return load_settings()


@pytest.fixture
def client(serving_settings: Settings) -> Iterator[TestClient]:
    """A started app (models loaded, log running) over the private home."""
    with TestClient(create_app(serving_settings)) as test_client:
        yield test_client
