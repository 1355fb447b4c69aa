"""Prometheus metrics of one serving app (its own registry, so several apps can coexist)."""

from __future__ import annotations

import json
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class ServingMetrics:
    """Request, model, reload and prediction-log metrics."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("homeprice_requests_total", "HTTP requests answered",
                                ["dataset", "endpoint", "variant", "status"], registry=r)
        self.latency = Histogram("homeprice_request_latency_seconds", "Request latency",
                                 ["dataset", "endpoint"], buckets=LATENCY_BUCKETS, registry=r)
        self.predictions = Counter("homeprice_predictions_total", "Homes priced",
                                   ["dataset", "variant"], registry=r)
        self.shadow_predictions = Counter("homeprice_shadow_predictions_total",
                                          "Homes priced by the challenger in shadow (logged, "
                                          "not returned)", ["dataset"], registry=r)
        self.shadow_skipped = Counter("homeprice_shadow_skipped_total",
                                      "Homes not shadow-priced: the shadow backlog was full",
                                      ["dataset"], registry=r)
        self.challenger_failures = Counter("homeprice_challenger_failures_total",
                                           "Challenger predictions that raised (the champion "
                                           "answered instead, or in shadow: nothing logged)",
                                           ["dataset", "mode"], registry=r)
        self.shadow_backlog = Gauge("homeprice_shadow_backlog",
                                    "Shadow scoring jobs queued or running", registry=r)
        self.model_version = Gauge("homeprice_model_version", "Loaded model version",
                                   ["dataset", "alias"], registry=r)
        self.fast_path = Gauge("homeprice_model_fast_path",
                               "1 when the loaded model serves through the fast path",
                               ["dataset", "alias"], registry=r)
        self.fast_path_refused = Counter("homeprice_fast_path_refused_total",
                                         "Models whose fast path disagreed with the pipeline",
                                         ["dataset"], registry=r)
        self.reloads = Counter("homeprice_model_reloads_total", "Model loads by outcome",
                               ["dataset", "alias", "outcome"], registry=r)
        self.log_queue_depth = Gauge("homeprice_log_queue_depth",
                                     "Prediction log rows waiting to be written", registry=r)
        self.log_rows_written = Gauge("homeprice_log_rows_written",
                                      "Prediction log rows written since start", registry=r)
        self.log_rows_dropped = Gauge("homeprice_log_rows_dropped",
                                      "Prediction log rows that could not be written", registry=r)

        self.drift_share = Gauge("homeprice_drift_share",
                                 "Share of model inputs drifted in the latest drift check",
                                 ["dataset"], registry=r)
        self.drift_column = Gauge("homeprice_drift_score",
                                  "Latest drift score per input column (test statistic)",
                                  ["dataset", "column"], registry=r)
        self.drift_column_drifted = Gauge("homeprice_drift_detected",
                                          "1 when the latest drift check flagged the column",
                                          ["dataset", "column"], registry=r)

def export_drift(metrics: "ServingMetrics", reports_dir: Path, datasets: list[str]) -> None:
    """Copy the latest drift results (written by `homeprice monitor drift`) into the gauges."""
    for dataset in datasets:
        path = reports_dir / dataset / "drift-latest.json"
        try:
            result = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        metrics.drift_share.labels(dataset).set(float(result.get("drift_share", 0.0)))
        for column, score in result.get("column_scores", {}).items():
            metrics.drift_column.labels(dataset, column).set(float(score.get("score", 0.0)))
            metrics.drift_column_drifted.labels(dataset, column).set(
                1.0 if score.get("drifted") else 0.0)
