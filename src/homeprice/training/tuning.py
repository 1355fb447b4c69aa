"""Hyperparameter tuning with Optuna: cross-validated error of the whole pipeline on train.

The error a study minimises (and candidates are chosen on) is the dataset's `tuning_metric`:
RMSE of the price, or RMSE of the log price where errors are relative (a few dear listings
then do not decide which model wins). The price RMSE of each trial is recorded either way.

The budget is work (a number of trials), so a study gives the same result on any machine;
trials that are clearly worse than the median after a fold are pruned (deterministically:
the decision depends only on earlier trials' scores), which buys more trials for the same
time. A wall-time cap stops a study early only as a safety net, and the result says so.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import root_mean_squared_error
from sklearn.model_selection import KFold

from homeprice.config import BudgetSettings, TuningMetric
from homeprice.training.candidates import Candidate, Params, build_pipeline

log = logging.getLogger(__name__)


@dataclass
class TuningResult:
    """The best parameters a study found, and what it cost."""

    candidate: str
    best_params: Params
    cv_rmse: float
    """The best trial's cross-validated price RMSE (whatever the study minimised)."""
    cv_rmse_std: float
    n_trials: int
    """Trials run, pruned ones included (what a replay must run again)."""
    n_pruned: int
    capped: bool
    """The safety cap stopped the study before its trial count: machine-dependent result."""
    seconds: float
    trials: list[dict[str, Any]] = field(default_factory=list)
    metric: TuningMetric = "rmse"
    cv_score: float = float("nan")
    """The best trial's cross-validated `metric`: what the study minimised."""


def score(metric: TuningMetric, actual: np.ndarray, predicted: np.ndarray) -> float:
    """A fold's error by `metric`: RMSE of the price, or of the log price."""
    actual, predicted = np.asarray(actual, dtype=float), np.asarray(predicted, dtype=float)
    if metric == "rmse":
        return float(root_mean_squared_error(actual, predicted))
    if metric == "log_rmse":
        if (actual <= 0).any() or (predicted <= 0).any():
            raise ValueError("tuning_metric 'log_rmse' needs positive prices and predictions")
        return float(root_mean_squared_error(np.log(actual), np.log(predicted)))
    raise ValueError(f"tuning_metric must be 'rmse' or 'log_rmse', got {metric!r}")


def tune(
    dataset: str,
    candidate: Candidate,
    X: pd.DataFrame,
    y: pd.Series,
    budget: BudgetSettings,
    *,
    seed: int,
    n_jobs: int,
    log_target: bool,
    trials: int | None = None,
    metric: TuningMetric = "rmse",
) -> TuningResult:
    """Run the candidate's study: `trials` (the budget's count for it by default) trials, the
    first being its defaults, each scored by K-fold CV `metric` and pruned after a fold when
    its running mean is worse than the median of earlier trials at that fold."""
    n_trials = budget.trials_for(candidate.name) if trials is None else trials
    folds = list(KFold(budget.cv_folds, shuffle=True, random_state=seed).split(X))

    def objective(trial: optuna.Trial) -> float:
        params = candidate.suggest(trial)
        pipeline = build_pipeline(dataset, candidate, params, seed=seed, n_jobs=n_jobs,
                                  log_target=log_target)
        scores: list[float] = []
        rmses: list[float] = []
        for step, (fit_rows, score_rows) in enumerate(folds):
            fold_model = clone(pipeline)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                fold_model.fit(X.iloc[fit_rows], y.iloc[fit_rows])
                predicted = fold_model.predict(X.iloc[score_rows])
            actual = y.iloc[score_rows].to_numpy(dtype=float)
            scores.append(score(metric, actual, predicted))
            rmses.append(score("rmse", actual, predicted))
            trial.report(float(np.mean(scores)), step)
            if step < len(folds) - 1 and trial.should_prune():
                raise optuna.TrialPruned()
        trial.set_user_attr("cv_rmse", float(np.mean(rmses)))
        trial.set_user_attr("cv_rmse_std", float(np.std(rmses)))
        return float(np.mean(scores))

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # Startup trials are never pruned: the median needs a few complete trials to mean much.
    study = optuna.create_study(direction="minimize",
                                sampler=optuna.samplers.TPESampler(seed=seed),
                                pruner=optuna.pruners.MedianPruner(n_startup_trials=3),
                                study_name=f"{dataset}-{candidate.name}")
    study.enqueue_trial(candidate.defaults)
    study.optimize(objective, n_trials=n_trials, timeout=budget.cap_seconds)
    finished = [t for t in study.trials if t.state.is_finished()]
    pruned = len([t for t in finished if t.state == optuna.trial.TrialState.PRUNED])
    capped = len(finished) < n_trials
    best = study.best_trial
    seconds = sum((t.duration.total_seconds() for t in finished if t.duration), 0.0)
    if capped:
        log.warning("%s/%s: the %.0f s safety cap stopped tuning after %d of %d trials; this "
                    "model depends on the machine's speed (raise cap_seconds or lower trials)",
                    dataset, candidate.name, budget.cap_seconds, len(finished), n_trials)
    log.info("%s/%s: %d trials (%d pruned), best CV %s %.4g", dataset, candidate.name,
             len(finished), pruned, metric, best.value)
    return TuningResult(
        candidate=candidate.name,
        best_params=dict(best.params),
        cv_rmse=float(best.user_attrs["cv_rmse"]),
        cv_rmse_std=float(best.user_attrs.get("cv_rmse_std", 0.0)),
        n_trials=len(finished),
        n_pruned=pruned,
        capped=capped,
        seconds=seconds,
        trials=[{"number": t.number, "state": t.state.name, f"cv_{metric}": t.value,
                 "cv_rmse": t.user_attrs.get("cv_rmse"), **t.params} for t in finished],
        metric=metric,
        cv_score=float(best.value),
    )
