"""What the Airflow DAGs in `dags/` share: assets, retry rules and dataset selection.

Only the DAG files import this module (it needs the `airflow` extra). Everything a task does
is a call into `homeprice.steps` or `homeprice.monitoring`; nothing here knows about models.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from airflow.sdk import Asset, AssetAlias, ExceptionRetryPolicy, RetryAction, RetryRule

from homeprice.datasets import dataset_names

log = logging.getLogger(__name__)

# The DAG files must parse fast (the DAG processor times out at 30 s by default), so they
# import neither the datasets' code (pandas, pandera) nor the step functions (MLflow, LightGBM)
# at the top: dataset_names() reads only the plug-ins' manifests, and homeprice.steps only
# declares the steps, resolving each function when its task runs.
DATASET_NAMES: tuple[str, ...] = tuple(dataset_names())

TRAINING_DAG_ID = "homeprice_training"
LIVE_EVALUATION_DAG_ID = "homeprice_live_evaluation"
INGEST_DAG_ID = "homeprice_ingest"

# One asset per dataset's raw data in the lake. The fetch task announces new raw data through
# the alias, and only when the fetched bytes were not in the lake before.
RAW_DATA_ALIAS = AssetAlias("homeprice_raw_data")
RAW_ASSET_PREFIX = "homeprice://lake/raw/"


def raw_asset(dataset: str) -> Asset:
    """The asset of a dataset's raw data."""
    return Asset(uri=f"{RAW_ASSET_PREFIX}{dataset}", name=f"homeprice_raw_{dataset}")


RAW_ASSETS = [raw_asset(name) for name in DATASET_NAMES]

# Bad data or a bad flag will not get better on retry: fail at once. Anything else (a lake
# on object storage, a database, the MLflow server) is retried with exponential backoff.
# The rule matches subclasses too: DataValidationError, SourceError, ChecksumMismatchError.
RETRY_POLICY = ExceptionRetryPolicy(rules=[
    RetryRule(exception="homeprice.errors.UserInputError", action=RetryAction.FAIL,
              reason="bad input or data does not heal on retry"),
])

DEFAULT_ARGS: dict[str, Any] = {
    "owner": "homeprice",
    "retries": 2,
    "retry_delay": timedelta(seconds=30),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=10),
    "retry_policy": RETRY_POLICY,
}


def is_asset_triggered(dag_run: Any) -> bool:
    """Whether a DAG run was started by asset events (run_type is an enum or its value)."""
    run_type = getattr(dag_run, "run_type", None)
    return str(getattr(run_type, "value", run_type)) == "asset_triggered"


def datasets_from_events(events: Mapping[Any, Iterable[Any]], own_dag_id: str) -> list[str]:
    """Datasets whose raw data changed, from a run's triggering asset events.

    Events this DAG emitted itself are ignored: the run whose fetch found the new data is
    training on it already, so a second run for the same bytes would train twice.
    """
    found: list[str] = []
    for asset in events:
        for event in events[asset]:
            uri = event.asset.uri
            if event.source_dag_id == own_dag_id or not uri.startswith(RAW_ASSET_PREFIX):
                continue
            name = uri.removeprefix(RAW_ASSET_PREFIX)
            if name in DATASET_NAMES and name not in found:
                found.append(name)
    return found


def log_quality_report(report: dict[str, Any] | None) -> None:
    """Put the quality report in the task log, where whoever looks at the failure will read."""
    if report:
        log.error("quality report:\n%s", json.dumps(report, indent=2, default=str))
