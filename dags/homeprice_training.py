"""homeprice_training: fetch -> validate -> clean -> split -> train -> evaluate -> register -> gate.

Thin on purpose: each task is one call into `homeprice.steps`, the same functions
`homeprice pipeline run` uses. Tasks hand each other dataset names, lake sha256s and versions,
MLflow run ids and registry versions (small JSON in XCom), never data frames.

Runs weekly, and when another producer announces new raw data for a dataset (an event on
`homeprice://lake/raw/<dataset>`). Params: `dataset` (one name or "all") and `budget`.
The datasets are mapped tasks, so one bad dataset does not stop the other.
"""

from __future__ import annotations

import logging
from typing import Any

import pendulum
from airflow.sdk import (
    AssetAny,
    AssetOrTimeSchedule,
    CronTriggerTimetable,
    Param,
    dag,
    get_current_context,
    task,
)
from airflow.sdk.exceptions import AirflowSkipException

from homeprice.errors import DataValidationError
from homeprice.orchestration.airflow_support import (
    DATASET_NAMES,
    DEFAULT_ARGS,
    RAW_ASSETS,
    RAW_DATA_ALIAS,
    TRAINING_DAG_ID,
    datasets_from_events,
    is_asset_triggered,
    log_quality_report,
    raw_asset,
)

# homeprice.steps imports MLflow and LightGBM: imported inside the tasks (see airflow_support).

log = logging.getLogger(__name__)


def run_step(name: str, previous: dict[str, Any]) -> dict[str, Any]:
    """One homeprice step on the previous step's result, with this worker's HOMEPRICE_* settings.

    `homeprice.steps.step_arguments` knows which ids each step takes from its predecessor, the
    same binding `homeprice pipeline step --after` uses for DVC.
    """
    from homeprice.config import load_settings
    from homeprice.steps import step_arguments

    budget = get_current_context()["params"]["budget"]
    return step_arguments(name, previous["dataset"], previous, budget)(load_settings())


@dag(
    dag_id=TRAINING_DAG_ID,
    description="Retrain, evaluate, register and gate the house-price models.",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("0 3 * * 1", timezone="UTC"),  # Mondays 03:00 UTC
        assets=AssetAny(*RAW_ASSETS),
    ),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    params={
        "dataset": Param("all", enum=[*DATASET_NAMES, "all"], description="Dataset to train."),
        "budget": Param("default", enum=["fast", "default", "thorough"],
                        description="Tuning budget."),
    },
    tags=["homeprice", "training"],
)
def homeprice_training() -> None:
    @task
    def select_datasets() -> list[str]:
        """The `dataset` param, or the datasets whose raw data another producer announced."""
        context = get_current_context()
        if is_asset_triggered(context["dag_run"]):
            names = datasets_from_events(context["triggering_asset_events"], TRAINING_DAG_ID)
            if not names:
                raise AirflowSkipException("triggered only by this DAG's own fetch: the run "
                                           "that fetched the new data is training on it")
            return names
        selection = context["params"]["dataset"]
        return list(DATASET_NAMES) if selection == "all" else [selection]

    @task(outlets=[RAW_DATA_ALIAS])
    def fetch(dataset: str) -> dict[str, Any]:
        result = run_step("fetch", {"dataset": dataset})
        if result["new"]:
            # Announce the new raw data (other DAGs may be scheduled on it).
            outlet_events = get_current_context()["outlet_events"]
            outlet_events[RAW_DATA_ALIAS].add(raw_asset(dataset), extra={
                "sha256": result["sha256"], "rows": result["rows"]})
        return result

    @task
    def validate(fetched: dict[str, Any]) -> dict[str, Any]:
        try:
            return run_step("validate", fetched)
        except DataValidationError as error:
            log_quality_report(error.report)
            raise

    @task
    def clean(validated: dict[str, Any]) -> dict[str, Any]:
        return run_step("clean", validated)

    @task
    def split(cleaned: dict[str, Any]) -> dict[str, Any]:
        return run_step("split", cleaned)

    @task
    def train(split_done: dict[str, Any]) -> dict[str, Any]:
        return run_step("train", split_done)

    @task
    def evaluate(trained: dict[str, Any]) -> dict[str, Any]:
        return run_step("evaluate", trained)

    @task
    def register(evaluated: dict[str, Any]) -> dict[str, Any]:
        return run_step("register", evaluated)

    @task
    def gate(registered: dict[str, Any]) -> dict[str, Any]:
        decision = run_step("gate", registered)
        log.info("%s v%s: %s", decision["dataset"], decision["version"],
                 "promoted" if decision["promoted"] else "kept as challenger")
        return decision

    fetched = fetch.expand(dataset=select_datasets())
    gate.expand(registered=register.expand(evaluated=evaluate.expand(trained=train.expand(
        split_done=split.expand(cleaned=clean.expand(validated=validate.expand(
            fetched=fetched)))))))


homeprice_training()
