"""`homeprice pipeline run`: the declared steps, walked in-process for each selected dataset.

The order and the inputs come from homeprice.steps; each step runs through the same binding
the orchestrators use, so a run here is the DAG's and DVC's run. What this module adds is what
a person at a terminal wants: progress as each step starts, and the steps' rich results
(quality report, clean summary, candidates, gate decision) kept for the CLI to render.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from homeprice import steps
from homeprice.config import Settings, load_settings
from homeprice.data.cleaning import CleanSummary
from homeprice.data.ingest import FetchResult
from homeprice.data.lake import Lake
from homeprice.data.validation import QualityReport
from homeprice.datasets import DATASETS, get_dataset
from homeprice.datasets.catalogue import scraped_dataset_names
from homeprice.steps import ProgressHook
from homeprice.training.runner import TrainingOutcome


@dataclass
class DatasetRun:
    """What one pipeline run produced for one dataset."""

    dataset: str
    fetched: FetchResult | None = None
    quality: QualityReport | None = None
    cleaned: CleanSummary | None = None
    # The train step's outcome, completed by the later steps: test metrics, version, gate.
    training: TrainingOutcome | None = None
    evaluation: dict[str, Any] = field(default_factory=dict)
    # Every step's JSON result by step name, as an orchestrator would have passed it on.
    results: dict[str, dict[str, Any]] = field(default_factory=dict)

    def keep(self, step: str, result: steps.StepResult) -> None:
        """Keep a step's result; its rich part goes where the CLI reads it."""
        self.results[step] = result.ids
        detail = result.detail
        match step:
            case "fetch":
                self.fetched = detail
            case "validate":
                self.quality = detail
            case "clean":
                self.cleaned = detail
            case "train":
                self.training = detail
            case "evaluate":
                self.evaluation = detail
                if self.training is not None:
                    self.training.test = detail["test"]
            case "register":
                if self.training is not None:
                    self.training.version = detail
            case "gate":
                if self.training is not None:
                    self.training.gate = detail
            # A step added to the declaration later needs nothing here to run: its JSON
            # result is in `results`.


def resolve_datasets(selection: str, settings: Settings | None = None) -> list[str]:
    """Dataset names for a selection: one name, or "all": every known dataset, but a scraped
    one only once the lake holds its raw data (so a fresh install trains what it ships)."""
    if selection != "all":
        return [get_dataset(selection).name]
    scraped = set(scraped_dataset_names())
    if not scraped:
        return list(DATASETS)
    lake = Lake((settings or load_settings()).lake_root)
    return [name for name in DATASETS
            if name not in scraped or lake.raw_manifest(name).get("latest")]


def run_dataset(name: str, settings: Settings, budget: str | None = "default",
                progress: ProgressHook | None = None) -> DatasetRun:
    """The declared steps in order for one dataset; budget None stops after cleaning."""
    notify = progress or (lambda _d, _s: None)
    run = DatasetRun(dataset=name)
    previous: dict[str, Any] = {"dataset": name}
    params = {"budget": budget, "progress": notify}
    for step in steps.declared(data_only=budget is None):
        notify(name, step.name)
        result = steps.bind(step.name, name, previous, params)(settings)
        run.keep(step.name, result)
        previous = result.ids
    return run


def run_pipeline(
    selection: str, settings: Settings, budget: str | None = "default",
    progress: ProgressHook | None = None,
) -> list[DatasetRun]:
    """Run every step for the selected datasets; budget None stops after cleaning."""
    return [run_dataset(name, settings, budget, progress)
            for name in resolve_datasets(selection, settings)]
