"""The live-evaluation DAG's drift task: it runs the drift check where requests were logged and
skips (not fails) a dataset with too little data."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from homeprice.config import Settings
from homeprice.datasets import get_dataset
from homeprice.monitoring.drift import latest_path
from homeprice.predictionlog import PredictionLog, PredictionRecord
from homeprice.training.runner import load_split


def log_california_requests(settings: Settings, n: int) -> None:
    """n served California requests with real inputs (a random sample of the test split)."""
    dataset = get_dataset("california")
    split, _ = load_split(dataset, settings)
    rows = split.test[list(dataset.feature_columns)].sample(n, random_state=3)
    rows = rows.astype(object).where(rows.notna(), None)
    log = PredictionLog(settings.log_url)
    log.start()
    try:
        log.enqueue([PredictionRecord(
            prediction_id=uuid.uuid4().hex, request_id=uuid.uuid4().hex, ts=datetime.now(UTC),
            dataset="california", variant="champion", model_version="1", served=True,
            prediction=1.0, lower=0.0, upper=2.0, features=row)
            for row in rows.to_dict(orient="records")])
    finally:
        log.close()


@pytest.mark.slow
def test_drift_runs_where_requests_were_logged_and_skips_where_none_were(
        dagbag: Any, serving_settings: Settings, served_home: Path) -> None:
    """Guards the task and its skip: California (600 logged requests) gets a drift report;
    Bengaluru (none) is skipped, so the run still succeeds. A task that swallowed every error
    as a skip, or failed on too little data, fails here."""
    log_california_requests(serving_settings, 600)
    started = datetime.now(UTC)

    # The whole DAG (a mapped task cannot run without its upstream): the decisions keep (no
    # challenger, no labels) and the drift task follows them.
    run = dagbag.dags["homeprice_live_evaluation"].test()

    from homeprice.orchestration.airflow_support import DATASET_NAMES

    # The task is mapped over the datasets in DATASET_NAMES order.
    states = {DATASET_NAMES[ti.map_index]: str(ti.state) for ti in run.get_task_instances()
              if ti.task_id == "monitor_drift"}
    assert {name: states.get(name) for name in ("california", "bengaluru")} == {
        "california": "success", "bengaluru": "skipped"}, states
    assert str(run.state) == "success"
    latest = json.loads(latest_path(serving_settings, "california").read_text())
    assert latest["rows_current"] == 600 and latest["model_version"] == "1"
    assert datetime.fromisoformat(latest["created_at"]) >= started
    assert Path(latest["html"]).is_file() and Path(latest["html"]).stat().st_size > 0
    assert not latest_path(serving_settings, "bengaluru").exists()
