"""The pipeline's steps in order, runnable in-process; each step is also callable alone.

The CLI, the Airflow DAGs and other engines call these same functions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from homeprice.config import Settings
from homeprice.data.cleaning import CleanSummary, clean, validate_raw
from homeprice.data.ingest import FetchResult, fetch
from homeprice.data.validation import QualityReport
from homeprice.datasets import DATASETS, get_dataset
from homeprice import steps
from homeprice.training import runner

ProgressHook = Callable[[str, str], None]
"""Called with (dataset, step name) as each step starts."""


@dataclass
class DatasetRun:
    """What one pipeline run produced for one dataset."""

    dataset: str
    fetched: FetchResult | None = None
    quality: QualityReport | None = None
    cleaned: CleanSummary | None = None
    training: runner.TrainingOutcome | None = None
    evaluation: dict[str, Any] = field(default_factory=dict)


def resolve_datasets(selection: str) -> list[str]:
    """Dataset names for a selection: one name or "all"."""
    if selection == "all":
        return list(DATASETS)
    return [get_dataset(selection).name]


def run_data_steps(name: str, settings: Settings, progress: ProgressHook | None = None) -> DatasetRun:
    """fetch -> validate -> clean for one dataset."""
    dataset = get_dataset(name)
    notify = progress or (lambda _d, _s: None)
    run = DatasetRun(dataset=name)
    notify(name, "fetch")
    run.fetched = fetch(dataset, settings)
    notify(name, "validate")
    run.quality, _ = validate_raw(dataset, settings)
    notify(name, "clean")
    run.cleaned = clean(dataset, settings, run.fetched.sha256)
    return run


def run_training_steps(run: DatasetRun, settings: Settings, budget: str,
                       progress: ProgressHook | None = None) -> DatasetRun:
    """split -> train -> evaluate -> register -> gate on the run's clean version."""
    dataset = get_dataset(run.dataset)
    notify = progress or (lambda _d, _s: None)
    clean_version = run.cleaned.version if run.cleaned else None
    if clean_version is not None:
        notify(run.dataset, "split")
        steps.split_step(settings, run.dataset, clean_version)
    notify(run.dataset, "train")
    run.training = runner.train(dataset, settings, budget, clean_version, progress=notify)
    notify(run.dataset, "evaluate")
    run.evaluation = runner.evaluate_run(dataset, settings, run.training.parent_run_id)
    run.training.test = run.evaluation["test"]
    notify(run.dataset, "register")
    run.training.version = runner.register_run(dataset, settings, run.training.parent_run_id)
    notify(run.dataset, "gate")
    run.training.gate = runner.gate_version(dataset, settings, run.training.version,
                                            run.training.parent_run_id)
    return run


def run_pipeline(
    selection: str, settings: Settings, budget: str | None = "default",
    progress: ProgressHook | None = None,
) -> list[DatasetRun]:
    """Run every step for the selected datasets; budget None stops after cleaning."""
    runs = []
    for name in resolve_datasets(selection):
        run = run_data_steps(name, settings, progress)
        if budget is not None:
            run_training_steps(run, settings, budget, progress)
        runs.append(run)
    return runs
