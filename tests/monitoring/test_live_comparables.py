"""Comparables on labelled traffic: the share of true prices inside the comps' range and the
comps' estimate error beside the served model's, computed by hand on a seeded log."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from typer.testing import CliRunner

from homeprice import registry, tracking
from homeprice.cli import app
from homeprice.comparables import COMPARABLES_ATTRIBUTE, comparables_of
from homeprice.config import Settings
from homeprice.datasets import get_dataset
from homeprice.errors import NotFoundError, UnsupportedError
from homeprice.monitoring.comparables import live_comparables
from homeprice.monitoring.replay import model_input
from homeprice.predictionlog import PredictionLog
from tests.support.logrows import labelled_requests
from tests.support.registry import register_variant
from tests.support.replaylog import homes


def _seed(settings: Settings, n: int) -> tuple[list[dict], np.ndarray, np.ndarray]:
    features = homes(n)
    rng = np.random.default_rng(4)
    actual = rng.uniform(80_000, 480_000, n)
    served = actual * rng.uniform(0.8, 1.2, n)
    log = PredictionLog(settings.log_url)
    log.start()
    try:
        labelled_requests(log, "california", features, served.tolist(), actual.tolist(),
                          datetime.now(UTC) - timedelta(hours=1))
    finally:
        log.close()
    return features, served, actual


def test_coverage_and_errors_by_hand(serving_settings: Settings) -> None:
    features, served, actual = _seed(serving_settings, 60)
    result = live_comparables("california", serving_settings, "7d")
    index = comparables_of(registry.load_model("california", "1"))
    X = model_input(features, list(get_dataset("california").feature_columns))
    estimate = index.estimate(index.query(X, 5))
    assert result.rows == 60 and result.k == 5 and result.comps_version == "1"
    inside = (estimate.low <= actual) & (actual <= estimate.high)
    assert result.comps["range_coverage"] == pytest.approx(inside.mean())
    assert result.comps["mae"] == pytest.approx(np.mean(np.abs(estimate.price - actual)))
    assert result.model["mae"] == pytest.approx(np.mean(np.abs(served - actual)))
    assert result.comps["model_in_range"] == pytest.approx(
        np.mean((estimate.low <= served) & (served <= estimate.high)))

    cli = CliRunner().invoke(app, ["monitor", "comparables", "--dataset", "california",
                                   "--json"])
    assert cli.exit_code == 0, cli.output
    assert json.loads(cli.output)["comps"]["range_coverage"] == pytest.approx(inside.mean())


def test_no_labels_or_an_old_champion_say_so(serving_settings: Settings) -> None:
    with pytest.raises(NotFoundError, match="no labelled champion-served predictions"):
        live_comparables("california", serving_settings, "7d")
    old = copy.deepcopy(registry.load_model("california", "1"))
    delattr(old, COMPARABLES_ATTRIBUTE)
    version = register_variant(serving_settings, old)
    registry.promote(tracking.configure(serving_settings), "california", version, "old model")
    with pytest.raises(UnsupportedError, match=f"champion v{version} of california has no"):
        live_comparables("california", serving_settings, "7d")
