"""homeprice_live_evaluation: every hour, per served dataset (`serving.datasets`), the A/B
decision and the drift check;
and once per run, the prediction log's retention.

Each task is `homeprice ab evaluate --apply`, `homeprice monitor drift` or `homeprice log
prune` as a function call (imported inside the task, so the file parses fast).
Both notify the webhook themselves (HOMEPRICE_WEBHOOK_URL): a promotion, retirement or rollback
the decision applied, and a drift share over the threshold. With gate.mode live this is where a
version the gate left as challenger is promoted or retired. "Too little data yet" (no champion,
too few logged requests) skips the task instead of failing it.
"""

from __future__ import annotations

import logging
from typing import Any

import pendulum
from airflow.sdk import CronTriggerTimetable, Param, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowSkipException

from homeprice.errors import NotEnoughDataError
from homeprice.orchestration.airflow_support import (
    DATASET_NAMES,
    DEFAULT_ARGS,
    LIVE_EVALUATION_DAG_ID,
)

log = logging.getLogger(__name__)


@dag(
    dag_id=LIVE_EVALUATION_DAG_ID,
    description="Champion/challenger decisions on live errors, and drift monitoring.",
    schedule=CronTriggerTimetable("0 * * * *", timezone="UTC"),  # hourly
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    params={
        "window": Param(None, type=["null", "string"],
                        description="Drift window such as 24h (default: all logged requests)."),
    },
    tags=["homeprice", "monitoring"],
)
def homeprice_live_evaluation() -> None:
    @task
    def ab_evaluate(dataset: str) -> dict[str, Any]:
        """The anytime-valid promote / retire / rollback / keep decision, applied (evaluate_live
        moves the aliases for promote, retire and rollback)."""
        from homeprice.config import load_settings
        from homeprice.monitoring.live import evaluate_live

        decision = evaluate_live(dataset, load_settings(), None, apply=True)
        log.info("%s: %s (%s)", dataset, decision.action, decision.reason)
        return decision.to_dict()

    @task
    def monitor_drift(dataset: str) -> dict[str, Any]:
        """Logged requests vs the champion's training reference (Evidently)."""
        from homeprice.config import load_settings
        from homeprice.monitoring.drift import check_drift
        from homeprice.monitoring.live import parse_window

        window = parse_window(get_current_context()["params"].get("window"))
        try:
            result = check_drift(dataset, load_settings(), window)
        except NotEnoughDataError as error:
            raise AirflowSkipException(str(error)) from None
        log.info("%s: drift share %.0f%% (alert at %.0f%%); report %s", dataset,
                 100 * result.drift_share, 100 * result.threshold, result.html)
        return result.to_dict()

    @task
    def prune_log() -> dict[str, Any]:
        """Archive prediction log rows older than `log_retention.older_than` to the lake as
        Parquet, then delete them in short batches (`homeprice log prune`)."""
        from homeprice.config import load_settings
        from homeprice.predictionlog.retention import prune_log as prune

        report = prune(load_settings())
        totals = report.totals()
        log.info("prediction log older than %s: %d predictions and %d feedback rows archived "
                 "and deleted", report.older_than, totals["prediction_logs"]["deleted"],
                 totals["feedback"]["deleted"])
        return report.to_dict()

    @task
    def served_datasets() -> list[str]:
        """The datasets the servers serve (`serving.datasets`): those have live traffic. A
        scraped dataset joins once it is served; one never trained has nothing to evaluate."""
        from homeprice.config import load_settings

        return [name for name in load_settings().serving.datasets if name in DATASET_NAMES]

    names = served_datasets()
    # Decide first, so drift is measured against the champion that is in force afterwards.
    ab_evaluate.expand(dataset=names) >> monitor_drift.expand(dataset=names)
    # Independent of both: rows past the retention age are older than any window they read,
    # and a failed decision must not stop the log from being kept in bounds.
    prune_log()


homeprice_live_evaluation()
