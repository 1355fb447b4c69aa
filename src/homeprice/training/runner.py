"""Training on a split: tune, fit and calibrate candidates, evaluate, register, gate.

Plain functions of settings plus lake versions or MLflow run ids; the pipeline's train,
evaluate, register and gate steps (declared in homeprice.steps) are thin calls into them.
"""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd

from homeprice import artifacts, registry, tracking
from homeprice.comparables import comparables_of
from homeprice.config import Settings
from homeprice.data.lake import Lake
from homeprice.data.splitting import Split, materialise_split
from homeprice.datasets import Dataset
from homeprice.errors import UserInputError
from homeprice.masking import mask_tree
from homeprice.training import comparables
from homeprice.training.candidates import CANDIDATES, build_pipeline
from homeprice.training.evaluation import (
    evaluate,
    interval_metrics,
    point_metrics,
    predict_with_interval,
    residuals_by_segment,
    save_plots,
)
from homeprice.training.fitting import fit_calibrated, fitting_rows
from homeprice.training.tuning import tune

log = logging.getLogger(__name__)


@dataclass
class CandidateResult:
    """One tuned, fitted and calibrated candidate."""

    name: str
    params: dict[str, Any]
    cv_rmse: float
    cv_rmse_std: float
    n_trials: int
    test: dict[str, float]
    run_id: str
    model_uri: str
    seconds: float
    capped: bool = False
    """The tuning safety cap stopped it before its trial count."""
    cv_score: float = float("nan")
    """Cross-validated tuning metric (the dataset's `tuning_metric`): what candidates are
    chosen on."""


@dataclass
class TrainingOutcome:
    """What a training run produced."""

    dataset: str
    parent_run_id: str
    candidates: list[CandidateResult]
    best: str
    test: dict[str, float] = field(default_factory=dict)
    version: str | None = None
    gate: registry.GateDecision | None = None
    seconds: float = 0.0
    tuning_metric: str = "rmse"
    """What the candidates were tuned and chosen on (the dataset's `tuning_metric`)."""


def load_split(dataset: Dataset, settings: Settings, clean_version: str | None = None
               ) -> tuple[Split, dict[str, Any]]:
    """The deterministic split of a clean version (the latest by default) and its lineage."""
    lake = Lake(settings.lake_root)
    entry = lake.clean_entry(dataset.name, clean_version)
    split, split_entry = materialise_split(lake, dataset, entry["version"], settings.split)
    lineage = {"clean_version": entry["version"], "clean_path": entry["path"],
               "data_sha256": entry["raw_sha256"], "split_key": split_entry["key"],
               "raw_path": lake.url_of(lake.raw_path(dataset.name, entry["raw_sha256"]))}
    return split, lineage


def _budget(settings: Settings, name: str):  # noqa: ANN202 - BudgetSettings
    try:
        return settings.training.budgets[name]
    except KeyError:
        known = ", ".join(settings.training.budgets)
        raise UserInputError(f"unknown budget {name!r} (known: {known})") from None


def train(dataset: Dataset, settings: Settings, budget: str = "default",
          clean_version: str | None = None, progress: Any = None,
          trials: dict[str, int] | None = None, tags: dict[str, str] | None = None,
          ) -> TrainingOutcome:
    """Tune every candidate, fit and calibrate it, log one child run each under a parent run.

    `trials` replays a fixed number of tuning trials per candidate with no safety cap (a cap
    that bites makes the trial count, and so the model, depend on the machine's speed).
    `tags` are added to the parent run.
    """
    started = time.perf_counter()
    budget_settings = _budget(settings, budget)
    for name in settings.training.candidates:
        if name not in CANDIDATES:
            raise UserInputError(f"unknown candidate {name!r} (known: {', '.join(CANDIDATES)})")
    try:
        counts = trials or {name: budget_settings.trials_for(name)
                            for name in settings.training.candidates}
    except ValueError as error:
        raise UserInputError(f"budget {budget!r}: {error}") from None
    client = tracking.configure(settings)
    split, lineage = load_split(dataset, settings, clean_version)
    seed, n_jobs = settings.split.seed, settings.training.n_jobs
    log_target = dataset.rules(settings).log_target
    metric = dataset.rules(settings).tuning_metric
    features = list(dataset.feature_columns)
    train_rows = split.train[features], split.train[dataset.target]
    calibration_rows = split.calibration[features], split.calibration[dataset.target]
    calibration = settings.training.interval_calibration
    # Tuning sees the rows the served model will be fitted on (never the test split).
    X_train, y_train = (fitting_rows(train_rows, calibration_rows) if calibration == "cross"
                        else train_rows)
    lake = Lake(settings.lake_root)
    # One index for every candidate: it depends on the fitting rows only, never on the model.
    comps_index = comparables.fit_index(dataset, split, calibration)

    results: list[CandidateResult] = []
    experiment = tracking.experiment_id(client, dataset.name, settings)
    with mlflow.start_run(experiment_id=experiment, run_name=f"{dataset.name}-{budget}") as parent:
        # Lineage holds lake URLs, which may carry object-store credentials.
        mlflow.set_tags(mask_tree({"dataset": dataset.name, "budget": budget, "kind": "pipeline",
                                   "git_commit": tracking.git_commit(), "seed": str(seed),
                                   **lineage, **(tags or {})}))
        mlflow.log_params({"budget": budget, "seed": seed, "log_target": log_target,
                           "cv_folds": budget_settings.cv_folds, "tuning_metric": metric,
                           "cap_seconds": None if trials else budget_settings.cap_seconds,
                           "interval_calibration": calibration,
                           "interval_folds": settings.training.interval_folds,
                           "rows_fit": len(X_train),
                           "comparables_rows": comps_index.size_ if comps_index else 0,
                           **{f"trials_{name}": count for name, count in counts.items()},
                           **{f"rows_{k}": v for k, v in split.sizes().items()}})
        # resolved() masks passwords, tokens and the webhook URL: run artifacts are shared.
        tracking.log_json(settings.resolved(), artifacts.RESOLVED_CONFIG)
        tracking.log_json(lake.clean_report(dataset.name, lineage["clean_version"]),
                          artifacts.CLEAN_REPORT)
        for name in settings.training.candidates:
            if progress:
                progress(dataset.name, f"tuning {name}")
            candidate = CANDIDATES[name]
            t0 = time.perf_counter()
            # A replay runs exactly the logged trials, so no cap may cut it short.
            candidate_budget = budget_settings if trials is None else budget_settings.model_copy(
                update={"cap_seconds": None})
            tuned = tune(dataset.name, candidate, X_train, y_train, candidate_budget, seed=seed,
                         n_jobs=n_jobs, log_target=log_target, trials=counts[name],
                         metric=metric)
            model = build_pipeline(dataset.name, candidate, tuned.best_params, seed=seed,
                                   n_jobs=n_jobs, log_target=log_target,
                                   alpha=settings.training.interval_alpha,
                                   interval_bins=settings.training.interval_bins,
                                   interval_score=settings.training.interval_score)
            model = fit_calibrated(model, train_rows, calibration_rows, how=calibration,
                                   folds=settings.training.interval_folds, seed=seed)
            comparables.attach(model, comps_index)
            test_metrics = evaluate(model, dataset, split.test)
            with mlflow.start_run(experiment_id=experiment, run_name=name, nested=True) as child:
                mlflow.set_tags(mask_tree({"dataset": dataset.name, "candidate": name,
                                           "kind": "candidate",
                                           "tuning_capped": str(tuned.capped).lower(),
                                           **lineage}))
                mlflow.log_params(tuned.best_params | {"candidate": name})
                mlflow.log_metrics({"cv_rmse": tuned.cv_rmse, "cv_rmse_std": tuned.cv_rmse_std,
                                    "cv_score": tuned.cv_score,
                                    "n_trials": tuned.n_trials, "n_pruned": tuned.n_pruned,
                                    "tuning_seconds": tuned.seconds,
                                    **{f"test_{k}": v for k, v in test_metrics.items()}})
                tracking.log_table(pd.DataFrame(tuned.trials), artifacts.TUNING_TRIALS)
                info = tracking.log_model(model, X_train)
            results.append(CandidateResult(
                name=name, params=tuned.best_params, cv_rmse=tuned.cv_rmse,
                cv_rmse_std=tuned.cv_rmse_std, n_trials=tuned.n_trials, test=test_metrics,
                run_id=child.info.run_id, model_uri=info.model_uri,
                seconds=time.perf_counter() - t0, capped=tuned.capped, cv_score=tuned.cv_score))
        # Choose on cross-validation, never on the test set (that is for reporting and gating).
        best = min(results, key=lambda r: r.cv_score)
        mlflow.set_tags({"best_candidate": best.name, "best_run_id": best.run_id,
                         "best_model_uri": best.model_uri})
        mlflow.log_metrics({f"{r.name}_cv_rmse": r.cv_rmse for r in results})
        capped = [r.name for r in results if r.capped]
        if capped:  # the model depends on this machine's speed: say so where a team looks
            mlflow.set_tag("tuning_capped", ",".join(capped))
        tracking.log_table(pd.DataFrame([{"candidate": r.name, "cv_rmse": r.cv_rmse,
                                          f"cv_{metric}": r.cv_score,
                                          "n_trials": r.n_trials,
                                          **{f"test_{k}": v for k, v in r.test.items()}}
                                         for r in results]), artifacts.CANDIDATES_TABLE)
    return TrainingOutcome(dataset=dataset.name, parent_run_id=parent.info.run_id,
                           candidates=results, best=best.name,
                           seconds=time.perf_counter() - started, tuning_metric=metric)


def _champion_on(dataset: Dataset, split: Split) -> tuple[dict[str, float] | None, str | None]:
    """The current champion's metrics on this test split (None when there is no champion)."""
    client = mlflow.tracking.MlflowClient()
    version = registry.alias_version(client, dataset.name, registry.CHAMPION)
    if version is None:
        return None, None
    champion = registry.load_model(dataset.name, version)
    return evaluate(champion, dataset, split.test), version


def evaluate_run(dataset: Dataset, settings: Settings, parent_run_id: str) -> dict[str, Any]:
    """Full evaluation of a run's best model: metrics, segments, plots, champion comparison."""
    client = tracking.configure(settings)
    parent = client.get_run(parent_run_id)
    split, _ = load_split(dataset, settings, parent.data.tags["clean_version"])
    model = mlflow.sklearn.load_model(parent.data.tags["best_model_uri"])
    X = split.test[list(dataset.feature_columns)]
    prediction, lower, upper = predict_with_interval(model, X)
    actual = split.test[dataset.target].to_numpy(dtype=float)
    metrics = point_metrics(actual, prediction) | interval_metrics(actual, lower, upper)
    champion_metrics, champion_version = _champion_on(dataset, split)
    segments = residuals_by_segment(dataset, split.test, prediction)
    index = comparables_of(model)
    # Not test_*: those are the model's own metrics, which the registry and the gate read.
    comps = (comparables.score_on_test(index, dataset, split.test, prediction)
             if index is not None else None)
    with mlflow.start_run(run_id=parent_run_id):
        mlflow.log_metrics({f"test_{k}": v for k, v in metrics.items()})
        if comps is not None:
            mlflow.log_metrics({f"comps_test_{k}": v for k, v in comps.items()})
        if champion_metrics is not None:
            mlflow.log_metrics({f"champion_test_{k}": v for k, v in champion_metrics.items()})
            mlflow.set_tag("compared_with_champion", champion_version)
        tracking.log_table(segments, artifacts.RESIDUALS_BY_SEGMENT)
        sample = split.test.head(200).assign(prediction=prediction[:200], lower=lower[:200],
                                             upper=upper[:200])
        tracking.log_table(sample, artifacts.TEST_PREDICTIONS)
        # Drift monitoring compares live requests with this sample of the training inputs.
        tracking.log_table(split.train[list(dataset.feature_columns)].sample(
            min(len(split.train), 5000), random_state=settings.split.seed),
            artifacts.REFERENCE_SAMPLE)
        # Serving checks its fast path and smoke-tests new versions on this sample.
        tracking.log_table(split.test[[*dataset.feature_columns, dataset.target]].head(200),
                             artifacts.TEST_SAMPLE)
        with tempfile.TemporaryDirectory() as tmp:
            for path in save_plots(model, dataset, split.test, prediction, Path(tmp)):
                mlflow.log_artifact(str(path), artifact_path=artifacts.PLOTS)
        tracking.log_json({"test": metrics, "champion": champion_metrics,
                           "champion_version": champion_version, "comparables": comps},
                          artifacts.EVALUATION_METRICS)
    return {"test": metrics, "champion": champion_metrics, "champion_version": champion_version,
            "segments": segments, "comparables": comps}


def register_run(dataset: Dataset, settings: Settings, parent_run_id: str) -> str:
    """Register the run's best model as a new version with alias `challenger`."""
    client = tracking.configure(settings)
    tags = client.get_run(parent_run_id).data.tags
    metrics = {k.removeprefix("test_"): v for k, v in client.get_run(parent_run_id).data.metrics
               .items() if k.startswith("test_")}
    return registry.register(
        client, dataset.name, tags["best_model_uri"], tags["best_run_id"], metrics,
        {"candidate": tags["best_candidate"], registry.PIPELINE_RUN_TAG: parent_run_id,
         "data_sha256": tags["data_sha256"], "clean_version": tags["clean_version"],
         "git_commit": tags.get("git_commit", "unknown")})


def gate_version(dataset: Dataset, settings: Settings, version: str, parent_run_id: str
                 ) -> registry.GateDecision:
    """Apply the promotion gate to a registered version, from its run's evaluation, in
    gate.mode (the decision's `outcome` says what became of the version)."""
    client = tracking.configure(settings)
    run = client.get_run(parent_run_id)
    metrics = run.data.metrics
    challenger = {k.removeprefix("test_"): v for k, v in metrics.items() if k.startswith("test_")}
    champion = {k.removeprefix("champion_test_"): v for k, v in metrics.items()
                if k.startswith("champion_test_")} or None
    decision = registry.gate(dataset.name, challenger, champion,
                             run.data.tags.get("compared_with_champion"), settings)
    registry.apply_gate(client, dataset.name, version, decision, mode=settings.gate.mode)
    return decision


def predictions_frame(model: Any, X: pd.DataFrame) -> pd.DataFrame:
    """prediction, lower and upper columns for rows of model inputs."""
    prediction, lower, upper = predict_with_interval(model, X)
    return pd.DataFrame({"prediction": prediction, "lower": lower, "upper": upper},
                        index=X.index).astype(np.float64)
