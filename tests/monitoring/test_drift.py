"""Drift: a shifted sample alerts (report, gauges, webhook); an unshifted one does not."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from homeprice import registry, tracking
from homeprice.cli import app
from homeprice.config import Settings, load_settings
from homeprice.datasets import get_dataset
from homeprice.predictionlog import PredictionLog, PredictionRecord
from homeprice.serving.app import create_app
from homeprice.training.runner import load_split

runner = CliRunner()


def log_requests(settings: Settings, rows: pd.DataFrame) -> None:
    log = PredictionLog(settings.log_url)
    log.start()
    now = datetime.now(UTC)
    log.enqueue([PredictionRecord(
        prediction_id=uuid.uuid4().hex, request_id=uuid.uuid4().hex, ts=now,
        dataset="california", variant="champion", model_version="1", served=True,
        prediction=1.0, lower=0.0, upper=2.0, features=row)
        for row in rows.to_dict(orient="records")])
    log.close()


def _test_rows(settings: Settings) -> pd.DataFrame:
    dataset = get_dataset("california")
    split, _ = load_split(dataset, settings)
    # A random sample: the file (and so each split) is ordered by region.
    rows = split.test[list(dataset.feature_columns)].sample(600, random_state=1)
    return rows.astype(object).where(rows.notna(), None)


def _shifted_rows(settings: Settings) -> pd.DataFrame:
    """Test rows with five inputs shifted: well above the 30% drift-share threshold."""
    rows = _test_rows(settings)
    for column in ("median_income", "total_rooms", "population", "households"):
        rows[column] = rows[column].astype(float) * 1.8
    rows["housing_median_age"] = rows["housing_median_age"].astype(float) * 0.5
    return rows


def test_unshifted_requests_do_not_alert(serving_settings: Settings, webhook: list) -> None:
    log_requests(serving_settings, _test_rows(serving_settings))
    result = runner.invoke(app, ["monitor", "drift", "-d", "california", "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["alert"] is False and body["drift_share"] < 0.3
    assert body["rows_current"] == 600 and webhook == []


def test_shifted_requests_alert_with_report_gauges_and_webhook(serving_settings: Settings,
                                                              webhook: list) -> None:
    log_requests(serving_settings, _shifted_rows(serving_settings))
    result = runner.invoke(app, ["monitor", "drift", "-d", "california", "--window", "1h"])
    assert result.exit_code == 0, result.output
    assert "drift share" in result.output
    latest = json.loads((serving_settings.reports_dir / "california" /
                         "drift-latest.json").read_text())
    assert latest["alert"] and latest["drift_share"] >= 0.3
    assert "median_income" in latest["drifted_columns"]
    assert latest["html"].endswith(".html") and json.loads(open(latest["json"]).read())
    assert [(w["event"], w["dataset"], w["drift_share"]) for w in webhook] == [
        ("drift-alert", "california", latest["drift_share"])]
    with TestClient(create_app(load_settings())) as client:
        metrics = client.get("/metrics").text
    assert f'homeprice_drift_share{{dataset="california"}} {latest["drift_share"]}' in metrics
    assert 'homeprice_drift_detected{column="median_income",dataset="california"} 1.0' in metrics


def test_too_few_requests_is_a_clear_error(serving_settings: Settings) -> None:
    log_requests(serving_settings, _test_rows(serving_settings).head(5))
    result = runner.invoke(app, ["monitor", "drift", "-d", "california"])
    assert result.exit_code == 1 and "too few to test for drift" in result.output


def test_retrain_runs_the_pipeline_when_drift_alerts(serving_settings: Settings,
                                                     real_data_dir: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOMEPRICE_DATA_DIR", str(real_data_dir))
    log_requests(serving_settings, _shifted_rows(serving_settings))
    client = tracking.configure(serving_settings)
    before = {v["version"] for v in registry.list_versions(client, "california")}
    result = runner.invoke(app, ["monitor", "drift", "-d", "california", "--retrain",
                                 "--budget", "fast"])
    assert result.exit_code == 0, result.output
    assert "retraining california (fast budget)" in result.output
    new = [v for v in registry.list_versions(client, "california") if v["version"] not in before]
    assert len(new) == 1
    assert f"registered v{new[0]['version']} of homeprice-california" in result.output
    # The same data and config train the same model, which cannot beat the champion by the
    # gate's margin: in live gate mode (the default) it is rejected, never exposed live.
    assert new[0]["aliases"] == []
    assert new[0]["gate_outcome"] == registry.GATE_REJECTED
    assert new[0]["stage"] == "retired" and new[0]["stage_detail"].startswith("by gate-reject")


def test_retrain_with_an_unknown_budget_is_a_clear_error(serving_settings: Settings) -> None:
    result = runner.invoke(app, ["monitor", "drift", "-d", "california", "--retrain",
                                 "--budget", "huge"])
    assert result.exit_code != 0 and "unknown budget 'huge'" in result.output


def test_simulator_refuses_to_drift_a_text_field(serving_settings: Settings) -> None:
    from homeprice.errors import UserInputError
    from homeprice.monitoring.simulate import simulate

    with pytest.raises(UserInputError, match="cannot drift 'location'"):
        simulate("bengaluru", serving_settings, "http://127.0.0.1:9", 10,
                 drift={"location": 0.1})
