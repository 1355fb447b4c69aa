"""End to end with a real server: simulated requests, `monitor drift`, its reports, the webhook
alert and the running server's drift gauges (no restart between checks)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from homeprice.cli import app
from tests.support.metrics import sample, scrape
from tests.support.servers import running_server, wait_for

pytestmark = pytest.mark.e2e

runner = CliRunner()
# One shifted field of nine is a drift share of 1/9: alert at one drifted column.
THRESHOLD = "0.1"


def _simulate(base: str, requests: int, *drift: str) -> None:
    args = ["simulate", "-d", "california", "--url", base, "--requests", str(requests),
            "--feedback-rate", "0", "--clients", "4"]
    for spec in drift:
        args += ["--drift", spec]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert f"answered {requests:,}" in result.output, result.output


def _logged(base: str, rows: int) -> None:
    # The log writer is asynchronous: the drift check reads what has reached the database.
    wait_for(lambda: sample(scrape(base), "homeprice_log_rows_written") == rows,
             f"{rows} prediction log rows")


def _check_drift() -> dict:
    result = runner.invoke(app, ["monitor", "drift", "-d", "california", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_drift_alert_reports_and_gauges_through_a_running_server(
        served_home: Path, webhook: list, log_backend: str, monkeypatch) -> None:
    monkeypatch.setenv("HOMEPRICE_MONITORING__DRIFT_SHARE_THRESHOLD", THRESHOLD)
    with running_server(served_home, "--datasets", "california") as base:
        # Control: the test split's homes as they are (enough of them that sampling noise
        # stays below the drift tests' thresholds).
        _simulate(base, 1000)
        _logged(base, 1000)
        control = _check_drift()
        assert control["alert"] is False and control["drift_share"] < float(THRESHOLD)
        assert "median_income" not in control["drifted_columns"]
        assert webhook == []
        metrics = scrape(base)
        assert sample(metrics, "homeprice_drift_share", dataset="california") == \
            control["drift_share"]
        assert sample(metrics, "homeprice_drift_detected", dataset="california",
                      column="median_income") == 0.0

        # Incomes up 40% in as many requests again: half the window is shifted.
        _simulate(base, 1000, "median_income:+40%")
        _logged(base, 2000)
        shifted = _check_drift()
        assert shifted["alert"] is True and shifted["rows_current"] == 2000
        assert shifted["drift_share"] >= float(THRESHOLD)
        assert "median_income" in shifted["drifted_columns"]

        reports = served_home / "reports" / "california"
        for key in ("html", "json"):
            path = Path(shifted[key])
            assert path.parent == reports and path.is_file() and path.stat().st_size > 0
        assert json.loads(Path(shifted["json"]).read_text())["metrics"]
        assert (reports / "drift-latest.json").is_file()

        alerts = [event for event in webhook if event["event"] == "drift-alert"]
        assert len(alerts) == 1 and shifted["notified"] is True
        assert alerts[0]["dataset"] == "california"
        assert alerts[0]["drift_share"] == shifted["drift_share"]
        assert "median_income" in alerts[0]["drifted_columns"]

        # The same server, not restarted, now shows the new result.
        metrics = scrape(base)
        assert sample(metrics, "homeprice_drift_share", dataset="california") == \
            shifted["drift_share"]
        assert sample(metrics, "homeprice_drift_detected", dataset="california",
                      column="median_income") == 1.0
