"""GET /v1/insights/...: the read-only views the web UI draws, and error counting."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from homeprice.api import create_api
from homeprice.cli import app
from homeprice.config import Settings
from tests.support.bodies import BODIES, CALIFORNIA
from tests.support.tokens import FEEDBACK_AUTH

runner = CliRunner()


def test_models_lists_versions_and_the_audit_trail_newest_first(client: TestClient) -> None:
    body = client.get("/v1/insights/california/models").json()
    champion = body["versions"][-1]
    assert champion["version"] == "1" and "champion" in champion["aliases"]
    assert champion["metrics"]["rmse"] > 0
    stamps = [entry["at"] for entry in body["history"]]
    assert stamps == sorted(stamps, reverse=True)
    assert {"register", "gate-promote"} <= {entry["action"] for entry in body["history"]}


def test_unknown_dataset_is_named(client: TestClient) -> None:
    answer = client.get("/v1/insights/paris/models")
    assert answer.status_code == 404
    assert answer.json()["detail"] == "unknown dataset 'paris' (served: california, bengaluru)"


def test_locations_are_the_champions_known_locations(client: TestClient) -> None:
    body = client.get("/v1/insights/bengaluru/locations").json()
    counts = [entry["listings"] for entry in body["locations"]]
    assert counts == sorted(counts, reverse=True) and counts[0] > 1
    assert "Whitefield" in {entry["location"] for entry in body["locations"]}
    california = client.get("/v1/insights/california/locations")
    assert california.status_code == 404
    assert california.json()["detail"] == "california models have no named locations"


def test_traffic_counts_requests_and_items(client: TestClient) -> None:
    client.post("/v1/california/predict", json=CALIFORNIA)
    client.post("/v1/california/predict", json={"instances": [CALIFORNIA] * 3})
    body = client.get("/v1/insights/california/traffic",
                      params={"minutes": 5, "bucket_seconds": 60}).json()
    busy = [b for b in body["buckets"] if b["requests"]]
    assert sum(b["requests"] for b in busy) == 2 and sum(b["predictions"] for b in busy) == 4
    assert all(b["latency_p95_ms"] >= b["latency_p50_ms"] > 0 for b in busy)
    assert client.get("/v1/insights/california/traffic", params={"minutes": 0}).status_code == 422


def test_ab_reports_live_error_once_labelled(client: TestClient) -> None:
    answers = client.post("/v1/california/predict",
                          json={"instances": [CALIFORNIA] * 5}).json()["predictions"]
    for answer in answers:
        client.post("/v1/california/feedback", headers=FEEDBACK_AUTH,
                    json={"prediction_id": answer["prediction_id"], "actual_price": 400_000})
    body = client.get("/v1/insights/california/ab").json()
    champion = body["decision"]["champion"]
    assert champion["labelled"] == 5
    assert champion["mae"]["lower"] <= champion["mae"]["mean"] <= champion["mae"]["upper"]
    # Guards the evidence and the reason, not just some "keep": the live MAE is these five
    # errors' mean, and with no challenger the decision says so.
    assert champion["mae"]["mean"] == pytest.approx(
        sum(abs(a["price"] - 400_000) for a in answers) / 5, rel=1e-9)
    assert (body["decision"]["action"], body["decision"]["reason"]) == (
        "keep", "no challenger is being evaluated")
    assert body["coverage_target"] == 0.9
    assert body["last_applied"] is None


def test_quality_and_drift_reports(client: TestClient, serving_settings: Settings) -> None:
    body = client.get("/v1/insights/bengaluru/quality").json()
    saved = json.loads((serving_settings.reports_dir / "bengaluru" / "quality-latest.json")
                       .read_text())
    assert body["quality"] == saved and sum(body["cleaning"]["dropped"].values()) > 0
    missing = client.get("/v1/insights/california/drift")
    assert missing.status_code == 404
    assert "run `homeprice monitor drift --dataset california`" in missing.json()["detail"]
    folder: Path = serving_settings.reports_dir / "california"
    (folder / "drift-x.html").write_text("<html>report</html>")
    (folder / "drift-latest.json").write_text(json.dumps(
        {"drift_share": 0.5, "html": str(folder / "drift-x.html")}))
    assert client.get("/v1/insights/california/drift").json()["drift_share"] == 0.5
    assert client.get("/v1/insights/california/drift/report").text == "<html>report</html>"


def test_refused_requests_are_counted_in_metrics(settings: Settings) -> None:
    # Refusals come before any model is needed: no trained home required.
    with TestClient(create_api(settings, load_models=False)) as client:
        client.post("/v1/california/predict", json=CALIFORNIA | {"latitude": 99})
        client.post("/v1/bengaluru/predict",
                    json={"instances": [BODIES["bengaluru"]] * 10_001})
        client.post("/v1/paris/predict", json={})
        text = client.get("/metrics").text
    counted = {(s.labels["dataset"], s.labels["endpoint"], s.labels["status"]): s.value
               for family in text_string_to_metric_families(text)
               if family.name == "homeprice_requests"
               for s in family.samples if s.name == "homeprice_requests_total"}
    assert counted == {("california", "predict", "422"): 1.0,
                       ("bengaluru", "predict", "413"): 1.0,
                       ("unknown", "predict", "404"): 1.0}



def test_ab_reports_the_champion_move_the_last_apply_made(client: TestClient,
                                                          serving_settings: Settings) -> None:
    from homeprice import registry
    from tests.support.registry import register_variant, seed

    version = register_variant(serving_settings, registry.load_model("california", "1"))
    seed(serving_settings, 800, version, 0.6, "shadow")
    applied = runner.invoke(app, ["ab", "evaluate", "-d", "california", "--apply"])
    assert applied.exit_code == 0 and "promote (applied)" in applied.output, applied.output
    last = client.get("/v1/insights/california/ab").json()["last_applied"]
    # Not the entry that cleared the challenger alias (to_version None) that the promotion
    # also wrote after it.
    assert last["alias"] == "champion" and last["to_version"] == version
    assert last["action"] == "ab-promote" and last["from_version"] == "1"


def test_replay_rebuilds_served_requests_and_is_cached(client: TestClient) -> None:
    homes = [CALIFORNIA | {"median_income": 2.0 + i / 10} for i in range(6)]
    answers = client.post("/v1/california/predict",
                          json={"instances": homes}).json()["predictions"]
    log = client.app.state.context.log
    assert log.flush(10)
    for answer in answers:
        log.add_feedback(answer["prediction_id"], 300_000.0)
    body = client.get("/v1/insights/california/replay",
                      params={"model": "1", "since": "1h"}).json()
    # The served model replayed on its own logged features answers what it answered then.
    assert body["mode"] == "replay" and body["note"].startswith("replay: offline evidence")
    assert body["champion"]["labelled"] == body["challenger"]["labelled"] == 6
    assert body["difference_mae"]["mean"] == pytest.approx(0, abs=1e-3)
    assert body["champion"]["mae"]["mean"] == pytest.approx(
        sum(abs(a["price"] - 300_000) for a in answers) / 6, rel=1e-6)
    assert body["applied"] is False and body["action"] == "keep"
    assert client.get("/v1/insights/california/replay",
                      params={"model": "1", "since": "1h"}).json() == body
    missing = client.get("/v1/insights/california/replay", params={"model": "challenger"})
    assert missing.status_code == 404 and "no 'challenger' alias" in missing.json()["detail"]
    bad = client.get("/v1/insights/california/replay", params={"model": "1", "since": "soon"})
    assert bad.status_code == 400 and "since 'soon'" in bad.json()["detail"]
