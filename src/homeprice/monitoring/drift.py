"""Data drift: recent logged requests vs the training reference sample stored with the model.

Uses Evidently 0.7 (`Report([DataDriftPreset()])`): per-column drift tests chosen by type and
size, and the share of drifted columns. Reports are saved as HTML and JSON under
`$HOMEPRICE_HOME/reports/<dataset>/`; `drift-latest.json` is what servers export as gauges.
"""

from __future__ import annotations

import json
import tempfile
import warnings
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from homeprice import artifacts, registry, tracking
from homeprice.atomic import write_text
from homeprice.config import Settings
from homeprice.datasets import get_dataset
from homeprice.errors import NotEnoughDataError
from homeprice.monitoring.notify import notify
from homeprice.monitoring.reporttext import safe_columns
from homeprice.predictionlog import PredictionLog


@dataclass
class DriftResult:
    """What a drift check found."""

    dataset: str
    model_version: str
    rows_current: int
    rows_reference: int
    sampled_from: int | None
    drift_share: float
    drifted_columns: list[str]
    column_scores: dict[str, dict[str, Any]]
    threshold: float
    alert: bool
    html: str
    json: str
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    notified: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return asdict(self)


def latest_path(settings: Settings, dataset: str) -> Path:
    """Where the latest drift result of a dataset is kept (read by servers for gauges)."""
    return artifacts.report_path(settings.reports_dir, dataset, artifacts.DRIFT_LATEST)


def reference_sample(settings: Settings, dataset: str, version: str) -> pd.DataFrame:
    """The training inputs sample stored with the version's run."""
    client = tracking.configure(settings)
    with tempfile.TemporaryDirectory() as tmp:
        path = registry.download_version_artifact(client, dataset, version,
                                                  artifacts.REFERENCE_SAMPLE, tmp)
        return pd.read_parquet(path)


def check_drift(dataset_name: str, settings: Settings, window: timedelta | None = None
                ) -> DriftResult:
    """Compare the window's logged requests with the champion's reference; save and alert."""
    from evidently import DataDefinition, Report
    from evidently import Dataset as EvidentlyDataset
    from evidently.presets import DataDriftPreset

    dataset = get_dataset(dataset_name)
    client = tracking.configure(settings)
    version = registry.alias_version(client, dataset.name, registry.CHAMPION)
    if version is None:
        raise NotEnoughDataError(f"{dataset.name} has no champion: nothing to monitor yet")
    reference = reference_sample(settings, dataset.name, version)
    since = datetime.now(UTC) - window if window else None
    log = PredictionLog(settings.log_url)
    log.start()
    try:
        current = log.recent_features(dataset.name, limit=1_000_000, since=since)
    finally:
        log.close()
    if len(current) < 30:
        raise NotEnoughDataError(f"only {len(current)} logged {dataset.name} requests in the "
                                 "window: too few to test for drift (need 30)")
    sampled_from = None
    limit = settings.monitoring.max_rows
    if len(current) > limit:
        sampled_from = len(current)
        current = current.sample(limit, random_state=0)
    columns = [c for c in dataset.feature_columns if c in current.columns]
    numeric = [c for c in columns if pd.api.types.is_numeric_dtype(reference[c])]
    categorical = [c for c in columns if c not in numeric]
    definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)
    # Category values are client input and end up inside the report's <script> block.
    current = safe_columns(current[columns].astype({c: float for c in numeric}), categorical)
    reference = safe_columns(reference[columns].astype({c: float for c in numeric}), categorical)
    with warnings.catch_warnings():
        # A category absent from the reference makes scipy divide by zero: the test still
        # reports that column as drifted, which is the right answer.
        warnings.simplefilter("ignore", RuntimeWarning)
        evaluation = Report([DataDriftPreset()]).run(
            EvidentlyDataset.from_pandas(current, data_definition=definition),
            EvidentlyDataset.from_pandas(reference, data_definition=definition))
    scores: dict[str, dict[str, Any]] = {}
    share = 0.0
    for metric in evaluation.dict()["metrics"]:
        config = metric.get("config", {})
        if config.get("type", "").endswith("DriftedColumnsCount"):
            share = float(metric["value"]["share"])
        elif config.get("type", "").endswith("ValueDrift"):
            value, threshold = float(metric["value"]), float(config.get("threshold", 0.1))
            method = str(config.get("method", ""))
            # p-value tests drift when small; distance measures when large.
            drifted = value < threshold if "p_value" in method or "test" in method.lower() \
                else value >= threshold
            scores[config["column"]] = {"score": value, "method": method,
                                        "threshold": threshold, "drifted": drifted}
    folder = artifacts.report_folder(settings.reports_dir, dataset.name)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    html = folder / artifacts.drift_report(stamp, "html")
    raw_json = folder / artifacts.drift_report(stamp, "json")
    evaluation.save_html(str(html))
    evaluation.save_json(str(raw_json))
    threshold = settings.monitoring.drift_share_threshold
    result = DriftResult(
        dataset=dataset.name, model_version=version, rows_current=len(current),
        rows_reference=len(reference), sampled_from=sampled_from, drift_share=share,
        drifted_columns=sorted(c for c, s in scores.items() if s["drifted"]),
        column_scores=scores, threshold=threshold, alert=share >= threshold,
        html=str(html), json=str(raw_json))
    if result.alert:
        result.notified = notify(settings, {"event": "drift-alert", **result.to_dict()})
    write_text(latest_path(settings, dataset.name), json.dumps(result.to_dict(), indent=2))
    return result
