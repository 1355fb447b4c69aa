"""Monitoring (traffic, errors, live A/B, drift) and Data (quality and cleaning reports)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families
from streamlit.testing.v1 import AppTest

from tests.support.ui import SEEDED_HOMES, open_page


def _california_requests(api_url: str) -> tuple[float, float]:
    """(requests, refused requests) of California the server counted so far."""
    text = httpx.get(f"{api_url}/metrics", timeout=30).text
    samples = [s for family in text_string_to_metric_families(text)
               if family.name == "homeprice_requests" for s in family.samples
               if s.name.endswith("_total") and s.labels.get("dataset") == "california"]
    return (sum(s.value for s in samples),
            sum(s.value for s in samples if not s.labels["status"].startswith("2")))


def test_monitoring_shows_traffic_errors_live_error_and_drift(ui: AppTest, drift_checked: None,
                                                             ui_home: Path, api_url: str) -> None:
    requests, refused = _california_requests(api_url)
    app = open_page(ui, "monitoring")
    assert not app.error, [e.value for e in app.error]
    shown = {m.label: m.value for m in app.metric}
    # Guards the value: refused over all requests as the server counted them (the seeding
    # sent one refused request), not merely some non-zero figure.
    assert refused >= 1
    assert shown["Error rate since the server started"] == f"{refused / requests:.1%}"
    drift = json.loads((ui_home / "reports" / "california" / "drift-latest.json").read_text())
    assert shown["Drifted inputs"] == f"{drift['drift_share']:.0%}"
    assert shown["Requests checked"] == f"{drift['rows_current']:,}"
    decision = app.info[0].value
    # The seeded server has no challenger: the decision is keep, for that reason.
    assert decision.startswith("**keep**") and "no challenger is being evaluated" in decision, (
        decision)
    # Traffic (2 line charts), live MAE and coverage, drift scores.
    assert len(app.get("vega_lite_chart")) >= 5
    assert any(f"(n={SEEDED_HOMES})" in str(c.proto) for c in app.get("vega_lite_chart"))
    assert app.get("download_button")  # the HTML drift report


def test_data_shows_the_latest_reports(ui: AppTest, ui_home: Path) -> None:
    app = open_page(ui, "data")
    quality = json.loads((ui_home / "reports" / "california" / "quality-latest.json").read_text())
    cleaning = json.loads((ui_home / "reports" / "california" / "clean-latest.json").read_text())
    shown = {m.label: m.value for m in app.metric}
    assert shown["Rows"] == f"{quality['rows']:,}"
    assert shown["Status"] == quality["status"]
    assert shown["Rows out"] == f"{cleaning['rows_out']:,}"
    assert len(app.get("vega_lite_chart")) >= 2


def test_monitoring_replays_the_challenger_or_a_chosen_version(ui: AppTest) -> None:
    app = open_page(ui, "monitoring")
    # The seeded server has no challenger: the API's reason is shown, the page still works.
    assert any("no 'challenger' alias" in i.value for i in app.info), [i.value for i in app.info]
    model = next(t for t in app.text_input if t.label == "Model to replay")
    model.set_value("1").run()
    assert not app.exception, [e.value for e in app.exception]
    decision = next(i.value for i in app.info if "offline evidence" in i.value)
    assert decision.startswith("**keep** (replay: offline evidence, nothing applied)")
    table = app.dataframe[0].value
    assert list(table["variant"]) == ["champion", "replay"]
    assert list(table["labelled"]) == [SEEDED_HOMES, SEEDED_HOMES]
    assert list(table["version"]) == ["1", "1"]
