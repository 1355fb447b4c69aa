"""Scraped listings train and serve: scrape the fixture portal, `pipeline run --dataset
magicbricks` with the fast budget, price a listing over HTTP; and `--dataset all` takes the
scraped dataset in only once the lake holds its raw data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from homeprice import tracking
from homeprice.config import load_settings
from homeprice.datasets import get_dataset
from homeprice.pipeline import resolve_datasets, run_pipeline
from homeprice.serving.app import create_app
from tests.support.portal import Portal, PortalServer, run_scrape

pytestmark = [pytest.mark.network_local, pytest.mark.slow]


@pytest.fixture
def server() -> Iterator[PortalServer]:
    """The fixture portal with 500 listings (enough to split, tune and calibrate)."""
    running = PortalServer(Portal(pages=20, per_page=25))
    yield running
    running.close()


def test_scraped_listings_train_and_serve(
    server: PortalServer, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOMEPRICE_SERVING__DATASETS", '["magicbricks"]')
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    settings = load_settings()
    assert "magicbricks" not in resolve_datasets("all", settings)
    scraped = run_scrape(server, settings, politeness={"rate_per_second": 50})
    assert scraped.raw_rows == 496
    assert resolve_datasets("all", settings) == ["california", "bengaluru", "magicbricks"]

    [run] = run_pipeline("magicbricks", settings, "fast")
    # The pipeline trained on what the scraper stored, not on the bundled sample.
    assert run.fetched.source == "scrape:fixture-portal"
    assert run.fetched.sha256 == scraped.raw_sha256 and not run.fetched.new
    assert run.quality.status in ("ok", "warnings") and run.cleaned.rows_out > 400
    assert run.training.version == "1" and run.training.gate.promote, run.training.gate

    tracking.configure(settings)
    example = get_dataset("magicbricks").request_example
    with TestClient(create_app(settings)) as client:
        answer = client.post("/v1/magicbricks/predict", json=example)
        assert answer.status_code == 200, answer.text
        priced = answer.json()
        assert priced["lower"] <= priced["price"] <= priced["upper"]
        assert 5 < priced["price"] < 1000  # lakh rupees: a 2 BHK in Whitefield
        refused = client.post("/v1/magicbricks/predict", json=example | {"bedrooms": 0})
        assert refused.status_code == 422 and "bedrooms" in refused.text
