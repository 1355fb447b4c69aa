"""Hyperparameter tuning with Optuna: cross-validated RMSE of the whole pipeline on train."""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna
import pandas as pd
from sklearn.model_selection import KFold, cross_val_score

from homeprice.config import BudgetSettings
from homeprice.training.candidates import Candidate, Params, build_pipeline

log = logging.getLogger(__name__)


@dataclass
class TuningResult:
    """The best parameters a study found, and what it cost."""

    candidate: str
    best_params: Params
    cv_rmse: float
    cv_rmse_std: float
    n_trials: int
    seconds: float
    trials: list[dict[str, Any]] = field(default_factory=list)


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
) -> TuningResult:
    """Search the candidate's space within the budget; the first trial is its defaults."""
    folds = KFold(budget.cv_folds, shuffle=True, random_state=seed)

    def objective(trial: optuna.Trial) -> float:
        params = candidate.suggest(trial)
        pipeline = build_pipeline(dataset, candidate, params, seed=seed, n_jobs=n_jobs,
                                  log_target=log_target)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            scores = -cross_val_score(pipeline, X, y, cv=folds,
                                      scoring="neg_root_mean_squared_error", n_jobs=1)
        trial.set_user_attr("cv_rmse_std", float(np.std(scores)))
        return float(np.mean(scores))

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="minimize",
                                sampler=optuna.samplers.TPESampler(seed=seed),
                                study_name=f"{dataset}-{candidate.name}")
    study.enqueue_trial(candidate.defaults)
    study.optimize(objective, n_trials=budget.trials, timeout=budget.timeout_seconds)
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    best = study.best_trial
    seconds = sum((t.duration.total_seconds() for t in done if t.duration), 0.0)
    log.info("%s/%s: %d trials, best CV RMSE %.4g", dataset, candidate.name, len(done), best.value)
    return TuningResult(
        candidate=candidate.name,
        best_params=dict(best.params),
        cv_rmse=float(best.value),
        cv_rmse_std=float(best.user_attrs.get("cv_rmse_std", 0.0)),
        n_trials=len(done),
        seconds=seconds,
        trials=[{"number": t.number, "cv_rmse": t.value, **t.params} for t in done],
    )
