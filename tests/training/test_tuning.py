"""Tuning budgets are work (trials), pruning is deterministic, the time cap is a logged net."""

from __future__ import annotations

import logging
import time
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from homeprice.config import BudgetSettings, Settings
from homeprice.datasets import get_dataset
from homeprice.errors import UserInputError
from homeprice.training import runner
from homeprice.training.candidates import CANDIDATES, Candidate
from homeprice.training.tuning import score, tune


@pytest.fixture(scope="module")
def rows(real_data_dir: Path) -> tuple[pd.DataFrame, pd.Series]:
    """600 California rows with a price (enough to rank trials, quick to fit); the pipeline's
    own feature builder imputes what is missing, as in training."""
    dataset = get_dataset("california")
    frame = pd.read_csv(real_data_dir / "california" / "housing.csv").dropna(
        subset=[dataset.target]).sample(600, random_state=0)
    return frame[list(dataset.feature_columns)], frame[dataset.target]


def _tune(candidate: Candidate, rows: tuple[pd.DataFrame, pd.Series],
          budget: BudgetSettings, **kwargs):  # noqa: ANN202 - TuningResult
    X, y = rows
    return tune("california", candidate, X, y, budget, seed=7, n_jobs=1, log_target=True,
                **kwargs)


def test_the_budget_is_a_trial_count_per_candidate(rows) -> None:
    budget = BudgetSettings(trials={"ridge": 3, "tree": 5}, cap_seconds=None, cv_folds=2)
    assert _tune(CANDIDATES["ridge"], rows, budget).n_trials == 3
    assert _tune(CANDIDATES["tree"], rows, budget).n_trials == 5
    # An explicit count (reproduction replays the logged one) wins over the budget's.
    assert _tune(CANDIDATES["tree"], rows, budget, trials=2).n_trials == 2


def test_the_same_budget_gives_the_same_study_whatever_the_speed(rows) -> None:
    """Guards the point of work budgets: a slow machine runs the same trials and ends with
    the same parameters (a wall-time budget ran fewer trials when slower)."""
    budget = BudgetSettings(trials=6, cap_seconds=None, cv_folds=3)
    tree = CANDIDATES["tree"]
    fast = _tune(tree, rows, budget)

    def slow_build(params, seed, n_jobs):  # noqa: ANN001, ANN202 - Candidate.build signature
        time.sleep(0.05)  # a busy machine
        return tree.build(params, seed, n_jobs)

    slow = _tune(replace(tree, build=slow_build), rows, budget)
    assert slow.n_trials == fast.n_trials == 6
    assert slow.best_params == fast.best_params and slow.cv_rmse == fast.cv_rmse
    assert [t["state"] for t in slow.trials] == [t["state"] for t in fast.trials]


def test_trials_worse_than_the_median_after_a_fold_are_pruned(rows) -> None:
    budget = BudgetSettings(trials=12, cap_seconds=None, cv_folds=3)
    result = _tune(CANDIDATES["tree"], rows, budget)
    states = [t["state"] for t in result.trials]
    assert result.n_trials == 12 and result.n_pruned == states.count("PRUNED") > 0
    # The first three trials (the defaults among them) run every fold: the median needs them.
    assert states[:3] == ["COMPLETE"] * 3
    assert not result.capped
    completed = [t["cv_rmse"] for t in result.trials if t["state"] == "COMPLETE"]
    assert result.cv_rmse == min(completed)



def test_a_study_on_log_rmse_minimises_it_and_still_records_the_price_rmse(rows) -> None:
    """tuning_metric log_rmse: the best trial is the one with the least CV log-price RMSE
    (`cv_score`, what candidates are chosen on), and `cv_rmse` is that trial's price RMSE."""
    budget = BudgetSettings(trials=6, cap_seconds=None, cv_folds=2)
    result = _tune(CANDIDATES["tree"], rows, budget, metric="log_rmse")
    completed = [t for t in result.trials if t["state"] == "COMPLETE"]
    best = min(completed, key=lambda t: t["cv_log_rmse"])
    assert result.metric == "log_rmse" and result.cv_score == best["cv_log_rmse"]
    assert result.cv_rmse == best["cv_rmse"]
    # Log-price errors of California homes are fractions; price errors are dollars.
    assert 0 < result.cv_score < 1 < 10_000 < result.cv_rmse
    plain = _tune(CANDIDATES["tree"], rows, budget)
    assert plain.metric == "rmse" and plain.cv_score == plain.cv_rmse


def test_log_rmse_is_the_rmse_of_log_prices_and_needs_positive_ones() -> None:
    actual, predicted = np.array([100.0, 200.0]), np.array([110.0, 180.0])
    assert score("log_rmse", actual, predicted) == pytest.approx(
        np.sqrt(np.mean(np.log(predicted / actual) ** 2)))
    assert score("rmse", actual, predicted) == pytest.approx(np.sqrt((100 + 400) / 2))
    with pytest.raises(ValueError, match="positive prices"):
        score("log_rmse", actual, np.array([110.0, -1.0]))
    with pytest.raises(ValueError, match="'rmse' or 'log_rmse'"):
        score("mape", actual, predicted)  # type: ignore[arg-type]

def test_the_safety_cap_stops_a_study_and_says_so(rows, caplog) -> None:
    tree = CANDIDATES["tree"]

    def slow_build(params, seed, n_jobs):  # noqa: ANN001, ANN202 - Candidate.build signature
        time.sleep(0.3)
        return tree.build(params, seed, n_jobs)

    budget = BudgetSettings(trials=50, cap_seconds=0.5, cv_folds=2)
    with caplog.at_level(logging.WARNING, logger="homeprice.training.tuning"):
        result = _tune(replace(tree, build=slow_build), rows, budget)
    assert result.capped and 1 <= result.n_trials < 50
    assert any("safety cap stopped tuning" in r.getMessage() and "of 50 trials" in r.getMessage()
               for r in caplog.records)


def test_budget_settings_are_checked() -> None:
    with pytest.raises(ValidationError, match="at least 1"):
        BudgetSettings(trials={"ridge": 0}, cv_folds=2)
    with pytest.raises(ValueError, match="no trial count for candidate 'forest'"):
        BudgetSettings(trials={"ridge": 3}, cv_folds=2).trials_for("forest")
    # The old key keeps its cap (configs and logged resolved.json of older runs), with a warning.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        old = BudgetSettings.model_validate({"trials": 20, "timeout_seconds": 40, "cv_folds": 3})
    assert old.cap_seconds == 40 and old.trials_for("lightgbm") == 20
    assert any("cap_seconds" in str(w.message) for w in caught)


def test_a_budget_without_a_count_for_a_candidate_is_a_clear_error(settings: Settings) -> None:
    settings.training.budgets["partial"] = BudgetSettings(trials={"ridge": 2}, cv_folds=2)
    with pytest.raises(UserInputError, match="budget 'partial'.*candidate 'tree'"):
        runner.train(get_dataset("california"), settings, "partial")
