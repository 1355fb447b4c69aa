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

ProgressHook = Callable[[str, str], None]
"""Called with (dataset, step name) as each step starts."""


@dataclass
class DatasetRun:
    """What one pipeline run produced for one dataset."""

    dataset: str
    fetched: FetchResult | None = None
    quality: QualityReport | None = None
    cleaned: CleanSummary | None = None
    extra: dict[str, Any] = field(default_factory=dict)


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


def run_pipeline(
    selection: str, settings: Settings, progress: ProgressHook | None = None
) -> list[DatasetRun]:
    """Run every step for the selected datasets."""
    return [run_data_steps(name, settings, progress) for name in resolve_datasets(selection)]
