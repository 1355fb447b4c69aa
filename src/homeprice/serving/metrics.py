"""Prometheus metrics of one serving app.

With one server process every metric lives in the app's own registry (several apps can
coexist, as in tests). With several worker processes (`homeprice serve --workers N`, which
sets PROMETHEUS_MULTIPROC_DIR before the workers start) prometheus_client writes every value to
per-process files in that folder, and a scrape answered by any worker merges all of them: the
counters are totals of the whole server, not of the worker that happened to answer.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from homeprice import artifacts
from homeprice.config import TrafficSettings
from homeprice.predictionlog import PredictionLog
from homeprice.predictionlog.health import LOG_STATES

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
TRAFFIC_MODES = ("off", "split", "shadow", "auto")


class BoundChildren:
    """A labelled metric's children, bound once per label values and then only looked up.

    `metric.labels(...)` validates the values and takes the metric's lock on every call
    (about 1.6 µs); the request path updates three labelled metrics per request, with a handful
    of label combinations (datasets x variants), so each is bound once and kept here.
    """

    def __init__(self, metric: Any) -> None:
        self._metric = metric
        self._children: dict[tuple[str, ...], Any] = {}

    def __call__(self, *values: str) -> Any:
        """The metric's child for these label values (bound at the first call)."""
        child = self._children.get(values)
        if child is None:
            # Two threads may both get here: labels() returns the same child to both.
            child = self._children[values] = self._metric.labels(*values)
        return child


def multiprocess_enabled() -> bool:
    """Whether prometheus_client writes values to shared files (decided by it at import)."""
    return bool(os.environ.get(MULTIPROC_ENV))


class LatestReportCollector(Collector):
    """Gauges read at scrape time from each dataset's latest report file of one kind.

    The reports are written by other processes (`homeprice monitor drift`, `homeprice ab
    evaluate --apply`), so a running server shows a new result at the next scrape. A file is
    parsed again only when it changed.
    """

    report_name: str = ""

    def __init__(self, reports_dir: Path, datasets: Iterable[str]) -> None:
        self._reports_dir = reports_dir
        self._datasets = list(datasets)
        self._cache: dict[str, tuple[tuple[int, int, int], dict[str, Any]]] = {}

    def _latest(self, dataset: str) -> dict[str, Any] | None:
        # Where the writer keeps the dataset's latest result.
        path = artifacts.report_path(self._reports_dir, dataset, self.report_name)
        try:
            stat = path.stat()
            # The writer replaces the file (new inode), so this key changes with every result.
            key = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
            cached = self._cache.get(dataset)
            if cached is not None and cached[0] == key:
                return cached[1]
            result = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        self._cache[dataset] = (key, result)
        return result

    def describe(self) -> list:
        # Nothing to check for duplicates, and no file read when the collector is registered.
        return []

    def latest_results(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """(dataset, its latest result) of every dataset that has one."""
        for dataset in self._datasets:
            result = self._latest(dataset)
            if isinstance(result, dict):
                yield dataset, result


class DriftCollector(LatestReportCollector):
    """The latest drift results (`homeprice monitor drift`) as gauges."""

    report_name = artifacts.DRIFT_LATEST

    def collect(self) -> Iterator[GaugeMetricFamily]:
        share = GaugeMetricFamily("homeprice_drift_share",
                                  "Share of model inputs drifted in the latest drift check",
                                  labels=["dataset"])
        score = GaugeMetricFamily("homeprice_drift_score",
                                  "Latest drift score per input column (test statistic)",
                                  labels=["dataset", "column"])
        detected = GaugeMetricFamily("homeprice_drift_detected",
                                     "1 when the latest drift check flagged the column",
                                     labels=["dataset", "column"])
        for dataset, result in self.latest_results():
            share.add_metric([dataset], float(result.get("drift_share", 0.0)))
            for column, column_score in result.get("column_scores", {}).items():
                score.add_metric([dataset, column], float(column_score.get("score", 0.0)))
                detected.add_metric([dataset, column],
                                    1.0 if column_score.get("drifted") else 0.0)
        yield from (share, score, detected)


class LiveErrorCollector(LatestReportCollector):
    """The latest applied A/B evaluation (`homeprice ab evaluate --apply`, hourly) as gauges:
    each variant's live MAE with its anytime-valid interval, and how many labels it rests on."""

    report_name = artifacts.AB_LATEST

    def collect(self) -> Iterator[GaugeMetricFamily]:
        labels = ["dataset", "variant", "model_version"]
        mae = GaugeMetricFamily("homeprice_live_mae",
                                "Live MAE per variant in the latest applied A/B evaluation",
                                labels=labels)
        lower = GaugeMetricFamily("homeprice_live_mae_lower",
                                  "Lower end of the live MAE's anytime-valid interval",
                                  labels=labels)
        upper = GaugeMetricFamily("homeprice_live_mae_upper",
                                  "Upper end of the live MAE's anytime-valid interval",
                                  labels=labels)
        labelled = GaugeMetricFamily("homeprice_live_labelled",
                                     "Labelled predictions behind the live MAE",
                                     labels=labels)
        for dataset, result in self.latest_results():
            for role in ("champion", "challenger"):
                stats = result.get(role)
                if not isinstance(stats, dict) or not isinstance(stats.get("mae"), dict):
                    continue
                key = [dataset, str(stats.get("variant", role)),
                       str(stats.get("model_version"))]
                mae.add_metric(key, float(stats["mae"]["mean"]))
                lower.add_metric(key, float(stats["mae"]["lower"]))
                upper.add_metric(key, float(stats["mae"]["upper"]))
                labelled.add_metric(key, float(stats.get("labelled", 0)))
        yield from (mae, lower, upper, labelled)


class ServingMetrics:
    """Request, model, traffic, reload, prediction-log and drift metrics."""

    def __init__(self, reports_dir: Path, datasets: Iterable[str]) -> None:
        self.multiprocess = multiprocess_enabled()
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("homeprice_requests_total", "HTTP requests answered",
                                ["dataset", "endpoint", "variant", "status"], registry=r)
        self.latency = Histogram("homeprice_request_latency_seconds", "Request latency",
                                 ["dataset", "endpoint"], buckets=LATENCY_BUCKETS, registry=r)
        self.predictions = Counter("homeprice_predictions_total", "Homes priced",
                                   ["dataset", "variant"], registry=r)
        # The children the request path updates on every request (see BoundChildren).
        self.requests_of = BoundChildren(self.requests)
        self.latency_of = BoundChildren(self.latency)
        self.predictions_of = BoundChildren(self.predictions)
        self.shadow_predictions = Counter("homeprice_shadow_predictions_total",
                                          "Homes priced by the challenger in shadow (logged, "
                                          "not returned)", ["dataset"], registry=r)
        self.shadow_predictions_of = BoundChildren(self.shadow_predictions)
        self.shadow_skipped = Counter("homeprice_shadow_skipped_total",
                                      "Homes not shadow-priced: they did not fit in the shadow "
                                      "backlog (serving.shadow_max_rows homes)",
                                      ["dataset"], registry=r)
        self.challenger_failures = Counter("homeprice_challenger_failures_total",
                                           "Challenger predictions that raised (the champion "
                                           "answered instead, or in shadow: nothing logged)",
                                           ["dataset", "mode"], registry=r)
        self.nonfinite_outputs = Counter("homeprice_nonfinite_outputs_total",
                                         "Model answers refused for NaN or infinite prices",
                                         ["dataset", "variant"], registry=r)
        self.fast_path_refused = Counter("homeprice_fast_path_refused_total",
                                         "Models whose fast path disagreed with the pipeline",
                                         ["dataset"], registry=r)
        self.reloads = Counter("homeprice_model_reloads_total", "Model loads by outcome",
                               ["dataset", "alias", "outcome"], registry=r)
        # Multiprocess modes (ignored with one process): queues add up over the live workers;
        # rows written add up over every worker of the run; what each worker has loaded and
        # routes is shown per worker (a pid label), so a worker lagging behind is visible.
        self.shadow_backlog = Gauge("homeprice_shadow_backlog",
                                    "Homes of the shadow scoring jobs queued or running",
                                    registry=r,
                                    multiprocess_mode="livesum")
        self.log_queue_depth = Gauge("homeprice_log_queue_depth",
                                     "Prediction log rows waiting to be written", registry=r,
                                     multiprocess_mode="livesum")
        self.log_rows_written = Gauge("homeprice_log_rows_written",
                                      "Prediction log rows written since start", registry=r,
                                      multiprocess_mode="sum")
        self.log_rows_dropped = Gauge("homeprice_log_rows_dropped",
                                      "Prediction log rows lost: queue and spill full (or the "
                                      "spill failed), or refused by the database",
                                      registry=r, multiprocess_mode="sum")
        # The full-queue path: spilled to local files, replayed later (docs: README, log).
        self.log_rows_spilled = Gauge("homeprice_log_rows_spilled",
                                      "Prediction log rows spilled to local files (queue full, "
                                      "or unwritten at shutdown)", registry=r,
                                      multiprocess_mode="sum")
        self.log_rows_replayed = Gauge("homeprice_log_rows_replayed",
                                       "Spilled prediction log rows replayed into the database",
                                       registry=r, multiprocess_mode="sum")
        self.log_spill_records = Gauge("homeprice_log_spill_records",
                                       "Spilled prediction log rows waiting for replay",
                                       registry=r, multiprocess_mode="livesum")
        self.log_spill_bytes = Gauge("homeprice_log_spill_bytes",
                                     "Bytes of spill files waiting for replay", registry=r,
                                     multiprocess_mode="livesum")
        self.log_state = Gauge("homeprice_log_state",
                               "1 for the prediction log's state: ok, degraded (rows wait in "
                               "the spill) or down (writes fail)", ["state"], registry=r,
                               multiprocess_mode="liveall")
        self.model_version = Gauge("homeprice_model_version", "Loaded model version",
                                   ["dataset", "alias"], registry=r, multiprocess_mode="liveall")
        self.fast_path = Gauge("homeprice_model_fast_path",
                               "1 when the loaded model serves through the fast path",
                               ["dataset", "alias"], registry=r, multiprocess_mode="liveall")
        self.traffic_mode = Gauge("homeprice_traffic_mode",
                                  "1 for the configured champion/challenger traffic mode "
                                  "(auto: shadow while a challenger is loaded)",
                                  ["dataset", "mode"], registry=r, multiprocess_mode="liveall")
        self.traffic_share = Gauge("homeprice_traffic_share",
                                   "Share of clients the challenger answers in split mode",
                                   ["dataset"], registry=r, multiprocess_mode="liveall")
        # -- edge: refused requests and shared insight computations (README "Security") --
        self.admin_auth_failures = Counter("homeprice_admin_auth_failures_total",
                                           "Admin requests refused: token missing or wrong, or "
                                           "the client address locked out", ["reason"],
                                           registry=r)
        self.feedback_auth_failures = Counter("homeprice_feedback_auth_failures_total",
                                              "Feedback requests refused: token missing or "
                                              "wrong, or the client address locked out",
                                              ["reason"], registry=r)
        self.requests_refused = Counter("homeprice_requests_refused_total",
                                        "Requests refused before reaching a route",
                                        ["reason"], registry=r)
        self.insight_computations = Counter("homeprice_insight_computations_total",
                                            "Insight views computed (not served from cache "
                                            "or shared with a caller already computing)",
                                            ["view"], registry=r)
        self.insight_busy = Counter("homeprice_insight_busy_total",
                                    "Insight requests refused with 503: too many computations "
                                    "running", ["view"], registry=r)
        self._sampled: list[tuple[Gauge, Callable[[], float]]] = []
        datasets = list(datasets)
        reports = [DriftCollector(reports_dir, datasets),
                   LiveErrorCollector(reports_dir, datasets)]
        if self.multiprocess:
            from prometheus_client import multiprocess

            # Scrapes merge every worker's files; metrics registered above would be duplicates.
            self._scrape_registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(self._scrape_registry)
        else:
            self._scrape_registry = r
        for collector in reports:
            self._scrape_registry.register(collector)

    def watch(self, gauge: Gauge, read: Callable[[], float]) -> None:
        """Report `read()` as the gauge's value.

        One process: read at each scrape. Several: set_function cannot reach the shared files,
        so the value is copied by `sample()` (every second and at each scrape).
        """
        if self.multiprocess:
            self._sampled.append((gauge, read))
        else:
            gauge.set_function(read)

    def watch_log(self, prediction_log: PredictionLog) -> None:
        """Report the prediction log's queue, spill, counters and state."""
        self.watch(self.log_queue_depth, lambda: prediction_log.queue_depth)
        self.watch(self.log_rows_written, lambda: prediction_log.rows_written)
        self.watch(self.log_rows_dropped, lambda: prediction_log.rows_dropped)
        self.watch(self.log_rows_spilled, lambda: prediction_log.rows_spilled)
        self.watch(self.log_rows_replayed, lambda: prediction_log.rows_replayed)
        self.watch(self.log_spill_records, lambda: prediction_log.spill_records)
        self.watch(self.log_spill_bytes, lambda: prediction_log.spill_bytes)
        for state in LOG_STATES:
            self.watch(self.log_state.labels(state),
                       lambda state=state: float(prediction_log.health().state == state))

    def sample(self) -> None:
        """Copy the watched values into their gauges (multiprocess mode only)."""
        for gauge, read in self._sampled:
            gauge.set(read())

    def record_traffic(self, dataset: str, setting: TrafficSettings) -> None:
        """The traffic mode and share now in force for `dataset`."""
        for mode in TRAFFIC_MODES:
            self.traffic_mode.labels(dataset, mode).set(1.0 if setting.mode == mode else 0.0)
        self.traffic_share.labels(dataset).set(setting.share if setting.mode == "split" else 0.0)

    def exposition(self) -> bytes:
        """The text a scrape of /metrics answers: the whole server's metrics."""
        self.sample()
        return generate_latest(self._scrape_registry)

    def close(self) -> None:
        """At worker exit: drop this process's live gauges from the shared files."""
        if self.multiprocess:
            from prometheus_client import multiprocess

            multiprocess.mark_process_dead(os.getpid())
