"""The live-error gauges: an applied `ab evaluate` publishes each variant's live MAE and its
anytime-valid interval, which every server exports at its next scrape (the Grafana panel
"live error per variant" reads them)."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from homeprice import registry
from homeprice.api import create_api
from homeprice.cli import app
from homeprice.config import Settings, load_settings
from homeprice.monitoring.live import latest_path
from tests.support.metrics import sample, scrape_client
from tests.support.registry import register_variant, seed

runner = CliRunner()


def test_applied_evaluation_is_exported_per_variant(serving_settings: Settings) -> None:
    # Guards: the gauges carry exactly the published evidence (mean and interval per variant
    # and version), and a running server picks up a new evaluation without a restart.
    version = register_variant(serving_settings, registry.load_model("california", "1"))
    seed(load_settings(), 300, version, 3.0, "split")
    with TestClient(create_api(load_settings())) as client:
        before = scrape_client(client)
        assert sample(before, "homeprice_live_mae", dataset="california", variant="champion",
                      model_version="1") is None
        result = runner.invoke(app, ["ab", "evaluate", "-d", "california", "--apply"])
        assert result.exit_code == 0, result.output
        published = json.loads(latest_path(load_settings(), "california").read_text())
        after = scrape_client(client)
    for role, variant, model_version in [("champion", "champion", "1"),
                                         ("challenger", "challenger", version)]:
        stats = published[role]
        labels = dict(dataset="california", variant=variant, model_version=model_version)
        assert sample(after, "homeprice_live_mae", **labels) == stats["mae"]["mean"]
        assert sample(after, "homeprice_live_mae_lower", **labels) == stats["mae"]["lower"]
        assert sample(after, "homeprice_live_mae_upper", **labels) == stats["mae"]["upper"]
        assert sample(after, "homeprice_live_labelled", **labels) == stats["labelled"]
        assert stats["mae"]["lower"] <= stats["mae"]["mean"] <= stats["mae"]["upper"]
    assert published["evaluated_at"]


def test_report_only_evaluation_leaves_the_published_one(serving_settings: Settings) -> None:
    # Guards: an on-demand evaluation (no --apply; the insights view too) never replaces what
    # the scheduled one published, so the gauges show the evidence decisions were made on.
    version = register_variant(serving_settings, registry.load_model("california", "1"))
    seed(load_settings(), 150, version, 3.0, "split")
    assert runner.invoke(app, ["ab", "evaluate", "-d", "california"]).exit_code == 0
    assert not latest_path(load_settings(), "california").exists()
    assert runner.invoke(app, ["ab", "evaluate", "-d", "california", "--apply"]).exit_code == 0
    published = latest_path(load_settings(), "california").read_text()
    seed(load_settings(), 150, version, 0.5, "split")
    assert runner.invoke(app, ["ab", "evaluate", "-d", "california"]).exit_code == 0
    assert latest_path(load_settings(), "california").read_text() == published
