"""homeprice_training: the declared pipeline steps (homeprice.steps), one task each, per dataset.

Built in a loop over `homeprice.steps.STEPS`: each task is one call into the step it is named
after, bound to the previous task's result by `steps.step_arguments`, as `homeprice pipeline
step --after` does for DVC. Tasks hand each other dataset names, lake sha256s and versions,
MLflow run ids and registry versions (small JSON in XCom), never data frames.

Runs weekly, and when another producer announces new raw data for a dataset (an event on
`homeprice://lake/raw/<dataset>`). Params: `dataset` (one name or "all") and `budget`.
The datasets are mapped tasks, so one bad dataset does not stop the other.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
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
from homeprice.steps import STEPS, step_arguments

# homeprice.steps is the declaration only (names, order, inputs) and imports nothing heavy;
# the step functions (MLflow, LightGBM) are imported when a task runs (see airflow_support).

log = logging.getLogger(__name__)


def run_step(name: str, previous: dict[str, Any]) -> dict[str, Any]:
    """One homeprice step on the previous step's result, with this worker's HOMEPRICE_* settings.

    `homeprice.steps.step_arguments` knows which ids each step takes from its predecessor, the
    same binding `homeprice pipeline step --after` uses for DVC.
    """
    from homeprice.config import load_settings

    budget = get_current_context()["params"]["budget"]
    try:
        return step_arguments(name, previous["dataset"], previous, budget)(load_settings())
    except DataValidationError as error:
        # Put the quality report that stopped the run where whoever reads the failure looks.
        log_quality_report(error.report)
        raise


def announce_raw_data(fetched: dict[str, Any]) -> None:
    """Announce new raw data (other DAGs may be scheduled on it); the same bytes again are not."""
    if fetched["new"]:
        outlet_events = get_current_context()["outlet_events"]
        outlet_events[RAW_DATA_ALIAS].add(raw_asset(fetched["dataset"]), extra={
            "sha256": fetched["sha256"], "rows": fetched["rows"]})


def log_gate_decision(decision: dict[str, Any]) -> None:
    """One line saying what the gate made of the new version (the summary's lead: promoted,
    challenger awaiting live evidence, rejected or kept as challenger)."""
    log.info("%s v%s: %s", decision["dataset"], decision["version"], decision["summary"])


# What a step's task does in Airflow besides running the step (all else comes from the
# declaration): the assets it may emit events on, and what it does with the step's result.
OUTLETS: dict[str, list[Any]] = {"fetch": [RAW_DATA_ALIAS]}
AFTER: dict[str, Callable[[dict[str, Any]], None]] = {
    "fetch": announce_raw_data, "gate": log_gate_decision}


def step_task(name: str) -> Any:
    """The task that runs one declared step, mapped over the datasets' previous results."""

    def run(previous: dict[str, Any]) -> dict[str, Any]:
        result = run_step(name, previous)
        if name in AFTER:
            AFTER[name](result)
        return result

    run.__doc__ = f"The `{name}` step on the previous task's result (homeprice.steps)."
    return task(task_id=name, outlets=OUTLETS.get(name, []))(run)


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
    def select_datasets() -> list[dict[str, Any]]:
        """The `dataset` param, or the datasets whose raw data another producer announced.

        Each as `{"dataset": name}`: the first step's "previous result", so every task in the
        loop below has the same shape.
        """
        context = get_current_context()
        if is_asset_triggered(context["dag_run"]):
            names = datasets_from_events(context["triggering_asset_events"], TRAINING_DAG_ID)
            if not names:
                raise AirflowSkipException("triggered only by this DAG's own fetch: the run "
                                           "that fetched the new data is training on it")
        else:
            from homeprice.config import load_settings
            from homeprice.pipeline import resolve_datasets

            # "all" as `pipeline run` reads it: a scraped dataset once the lake holds its data.
            names = resolve_datasets(context["params"]["dataset"], load_settings())
        return [{"dataset": name} for name in names]

    results = select_datasets()
    for step in STEPS:
        results = step_task(step.name).expand(previous=results)


homeprice_training()
