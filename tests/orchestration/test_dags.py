"""The Airflow DAGs: they import cleanly with the expected graph, and run end to end."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import mlflow
import pandas as pd
import pytest

from homeprice import registry, tracking
from homeprice.config import Settings, load_settings
from homeprice.datasets import DATASETS
from homeprice.steps import step_names
from tests.support.registry import register_variant, seed

# The training DAG is built from the step declaration: the selection, then a task per step.
TRAINING_STEPS = ["select_datasets", *step_names()]


def test_dagbag_imports_with_the_expected_graph(dagbag: Any) -> None:
    from airflow.sdk import AssetOrTimeSchedule

    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == {"homeprice_training", "homeprice_live_evaluation",
                                   "homeprice_ingest"}

    training = dagbag.dags["homeprice_training"]
    assert [t.task_id for t in sorted(training.tasks, key=lambda t: TRAINING_STEPS.index(
        t.task_id))] == TRAINING_STEPS
    for upstream, downstream in zip(TRAINING_STEPS, TRAINING_STEPS[1:], strict=False):
        assert training.get_task(upstream).downstream_task_ids == {downstream}
    # Only the fetch task announces new raw data.
    assert [t.task_id for t in training.tasks if t.outlets] == ["fetch"]
    assert [o.name for o in training.get_task("fetch").outlets] == ["homeprice_raw_data"]
    assert isinstance(training.timetable, AssetOrTimeSchedule)
    assert training.timetable.timetable.expression == "0 3 * * 1"  # weekly
    assert {a.uri for a in training.timetable.asset_condition.objects} == {
        f"homeprice://lake/raw/{name}" for name in DATASETS}
    assert set(training.params) == {"dataset", "budget"}
    assert training.params["dataset"] == "all"

    live = dagbag.dags["homeprice_live_evaluation"]
    assert live.timetable.expression == "0 * * * *"  # hourly
    assert live.get_task("ab_evaluate").downstream_task_ids == {"monitor_drift"}
    # Retention runs every hour whatever the decision and drift tasks do.
    prune = live.get_task("prune_log")
    assert prune.upstream_task_ids == set() and prune.downstream_task_ids == set()

    for dag in (training, live):
        assert dag.catchup is False and dag.max_active_runs == 1
        for task in dag.tasks:
            assert task.retries == 2 and task.retry_exponential_backoff, task.task_id
            assert task.retry_policy is not None, task.task_id


def test_dag_dataset_names_are_the_known_datasets() -> None:
    from homeprice.orchestration.airflow_support import DATASET_NAMES

    assert list(DATASET_NAMES) == list(DATASETS)


def test_own_asset_events_do_not_retrigger_training() -> None:
    from homeprice.orchestration.airflow_support import datasets_from_events, raw_asset

    def event(dataset: str, dag_id: str | None) -> SimpleNamespace:
        return SimpleNamespace(asset=SimpleNamespace(uri=raw_asset(dataset).uri),
                               source_dag_id=dag_id)

    events = {"alias": [event("california", "homeprice_training"),
                        event("bengaluru", "listings_scraper")],
              "other": [event("bengaluru", None)]}
    assert datasets_from_events(events, "homeprice_training") == ["bengaluru"]
    assert datasets_from_events({"a": [event("california", "homeprice_training")]},
                                "homeprice_training") == []


def test_asset_triggered_runs_are_recognised() -> None:
    from airflow.sdk.api.datamodels._generated import DagRunType

    from homeprice.orchestration.airflow_support import is_asset_triggered

    assert is_asset_triggered(SimpleNamespace(run_type=DagRunType.ASSET_TRIGGERED))
    assert is_asset_triggered(SimpleNamespace(run_type="asset_triggered"))
    assert not is_asset_triggered(SimpleNamespace(run_type=DagRunType.MANUAL))
    assert not is_asset_triggered(SimpleNamespace(run_type=DagRunType.SCHEDULED))


def _states(run: Any) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in run.get_task_instances()}


@pytest.mark.slow
def test_training_dag_registers_a_new_version(dagbag: Any, settings: Settings,
                                              caplog: pytest.LogCaptureFixture) -> None:
    run = dagbag.dags["homeprice_training"].test(
        run_conf={"dataset": "california", "budget": "fast"})
    assert str(run.state) == "success", _states(run)
    assert set(_states(run).values()) == {"success"}
    client = tracking.configure(settings)
    version = client.get_model_version(registry.model_name("california"), "1")
    assert version.tags["data_sha256"]
    # The gate ran: with no champion yet, a model within the thresholds is promoted.
    assert registry.alias_version(client, "california", registry.CHAMPION) == "1"
    assert "california v1: promoted" in caplog.text  # the gate task's log line
    # The fetch task announced the new raw data as an asset event.
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        uris = [uri for (uri,) in session.query(AssetModel.uri).join(
            AssetEvent, AssetEvent.asset_id == AssetModel.id)]
    assert "homeprice://lake/raw/california" in uris


@pytest.mark.slow
def test_corrupt_input_fails_at_validate_and_registers_nothing(
        dagbag: Any, home: Path, real_data_dir: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    corrupt = tmp_path / "corrupt"
    shutil.copytree(real_data_dir, corrupt)
    source = corrupt / "california" / "housing.csv"
    pd.read_csv(source).drop(columns=["median_income"]).to_csv(source, index=False)
    monkeypatch.setenv("HOMEPRICE_DATA_DIR", str(corrupt))

    run = dagbag.dags["homeprice_training"].test(
        run_conf={"dataset": "california", "budget": "fast"})
    states = _states(run)
    assert str(run.state) == "failed"
    assert states["fetch"] == "success" and states["validate"] == "failed"
    assert {states[t] for t in TRAINING_STEPS[3:]} == {"upstream_failed"}
    # The task log carries the quality report that stopped the run.
    assert "quality report" in caplog.text and "median_income" in caplog.text
    tracking.configure(load_settings())
    assert mlflow.tracking.MlflowClient().search_registered_models() == []


@pytest.mark.slow
def test_live_evaluation_dag_promotes_and_notifies(dagbag: Any, serving_settings: Settings,
                                                   webhook: list[dict]) -> None:
    better = register_variant(serving_settings, registry.load_model("california", "1"))
    seed(serving_settings, 800, better, 0.6, "shadow")

    run = dagbag.dags["homeprice_live_evaluation"].test()
    states = {(ti.task_id, ti.map_index): str(ti.state) for ti in run.get_task_instances()}
    assert str(run.state) == "success", states
    client = tracking.configure(load_settings())
    assert registry.alias_version(client, "california", registry.CHAMPION) == better
    assert any(m.get("event") == "ab-promote" and m.get("dataset") == "california"
               for m in webhook), webhook


@pytest.mark.slow
def test_live_evaluation_dag_applies_a_retirement(dagbag: Any, serving_settings: Settings,
                                                  webhook: list[dict],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # Guards that the hourly DAG applies "retire" (gate.mode live hands it the challengers):
    # the decision is forced, since which evidence retires is abtest's business, not the DAG's.
    from homeprice.monitoring import live

    worse = register_variant(serving_settings, registry.load_model("california", "1"))
    seed(serving_settings, 200, worse, 1.6, "shadow")
    # Bengaluru has no challenger: kept (retiring nothing would be a conflict).
    monkeypatch.setattr(live, "decide", lambda mode, champion, challenger, *rest: (
        ("retire", "proven worse (forced)") if challenger is not None
        else ("keep", "no challenger is being evaluated")))

    run = dagbag.dags["homeprice_live_evaluation"].test()
    states = {(ti.task_id, ti.map_index): str(ti.state) for ti in run.get_task_instances()}
    assert str(run.state) == "success", states
    client = tracking.configure(load_settings())
    assert registry.alias_version(client, "california", registry.CHALLENGER) is None
    assert registry.alias_version(client, "california", registry.CHAMPION) == "1"
    retired = [e for e in registry.history(client, "california") if e.action == "ab-retire"]
    assert [(e.from_version, e.actor) for e in retired] == [(worse, "ab-evaluate")]
    assert any(m.get("event") == "ab-retire" and m.get("dataset") == "california"
               for m in webhook), webhook


def test_bad_input_fails_at_once_and_other_errors_retry() -> None:
    from airflow.sdk import RetryAction

    from homeprice.errors import DataValidationError, LakeError, SourceError
    from homeprice.orchestration.airflow_support import RETRY_POLICY

    for error in (DataValidationError("missing column"), SourceError("no such file")):
        assert RETRY_POLICY.evaluate(error, 1, 3).action == RetryAction.FAIL
    for error in (LakeError("bucket unreachable"), ConnectionError("refused")):
        assert RETRY_POLICY.evaluate(error, 1, 3).action == RetryAction.DEFAULT


def test_live_evaluation_dag_prunes_the_log_into_the_lake(dagbag: Any, settings: Settings,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    from homeprice.data.lake import Lake
    from homeprice.predictionlog import PredictionLog
    from homeprice.predictionlog.archive import PREDICTIONS, read_archive
    from tests.support.logrows import seed as seed_rows

    log = PredictionLog(settings.log_url)
    log.start()
    try:
        seeded = seed_rows(log, "california", datetime.now(UTC), old=3, new=2)
    finally:
        log.close()
    monkeypatch.setenv("HOMEPRICE_LOG_RETENTION__OLDER_THAN", "30d")

    # Only the prune task: the others need a registry this test does not build.
    run = dagbag.dags["homeprice_live_evaluation"].partial_subset(
        task_ids=["prune_log"], include_upstream=False).test()
    assert str(run.state) == "success", _states(run)
    archived = read_archive(Lake(settings.lake_root), PREDICTIONS, "california")
    assert set(archived["prediction_id"]) == set(seeded.old)
    log = PredictionLog(settings.log_url)
    log.start()
    try:
        assert log.count("california") == len(seeded.new)
    finally:
        log.close()
