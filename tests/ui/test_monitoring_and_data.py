"""Monitoring (traffic, errors, live A/B, drift) and Data (quality and cleaning reports)."""

from __future__ import annotations

import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.support.ui import SEEDED_HOMES, open_page


def test_monitoring_shows_traffic_errors_live_error_and_drift(ui: AppTest, drift_checked: None,
                                                             ui_home: Path) -> None:
    app = open_page(ui, "monitoring")
    assert not app.error, [e.value for e in app.error]
    shown = {m.label: m.value for m in app.metric}
    assert shown["Error rate since the server started"] != "0.0%"
    drift = json.loads((ui_home / "reports" / "california" / "drift-latest.json").read_text())
    assert shown["Drifted inputs"] == f"{drift['drift_share']:.0%}"
    assert shown["Requests checked"] == f"{drift['rows_current']:,}"
    decision = app.info[0].value
    assert decision.startswith("**keep**"), decision
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
