"""Serving fixtures: apps over a private copy of the trained home."""

from __future__ import annotations

import http.server
import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from homeprice import tracking
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
    """Settings of the private home, with MLflow pointed at it (its state is process-global)."""
    settings = load_settings()
    tracking.configure(settings)
    return settings


@pytest.fixture
def client(serving_settings: Settings) -> Iterator[TestClient]:
    """A started app (models loaded, log running) over the private home."""
    with TestClient(create_app(serving_settings)) as test_client:
        yield test_client


@pytest.fixture
def webhook(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict]]:
    """A receiver on 127.0.0.1; HOMEPRICE_WEBHOOK_URL points at it."""
    received: list[dict] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append(json.loads(body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("HOMEPRICE_WEBHOOK_URL", f"http://127.0.0.1:{server.server_address[1]}/")
    yield received
    server.shutdown()
    server.server_close()
