"""The pipeline's steps one by one, with plain JSON in and out.

Orchestrators (the Airflow DAGs, the DVC stages through `homeprice pipeline step`) run each
step as its own task. They pass what these functions return between tasks: dataset names, lake
sha256s and versions, MLflow run ids and registry versions, never data frames. Every function
is a thin call into the same code `homeprice pipeline run` uses.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from homeprice.config import Settings
from homeprice.data.cleaning import clean, validate_raw
from homeprice.data.ingest import fetch
from homeprice.data.lake import Lake
from homeprice.data.splitting import store_split
from homeprice.datasets import get_dataset
from homeprice.errors import UserInputError
from homeprice.training import runner

Step = Callable[..., dict[str, Any]]


def fetch_step(settings: Settings, dataset: str) -> dict[str, Any]:
    """Source -> raw zone. `new` says whether these bytes were not in the lake before."""
    return fetch(get_dataset(dataset), settings).to_dict()


def validate_step(settings: Settings, dataset: str, sha256: str) -> dict[str, Any]:
    """Quality report of one raw table; DataValidationError (with the report) when critical."""
    report, path = validate_raw(get_dataset(dataset), settings, raw_sha256=sha256)
    return {"dataset": dataset, "sha256": sha256, "report_path": str(path),
            "status": report.status, "rows": report.rows}


def clean_step(settings: Settings, dataset: str, sha256: str) -> dict[str, Any]:
    """Raw table -> clean version, every dropped row counted by reason."""
    summary = clean(get_dataset(dataset), settings, sha256)
    return summary.to_dict()


def split_step(settings: Settings, dataset: str, clean_version: str) -> dict[str, Any]:
    """Clean version -> train / calibration / test in the lake (written once)."""
    entry = store_split(Lake(settings.lake_root), get_dataset(dataset), clean_version,
                        settings.split)
    return {"dataset": dataset, "clean_version": clean_version, "split_key": entry["key"],
            "sizes": entry["sizes"], "paths": entry["paths"]}


def train_step(settings: Settings, dataset: str, clean_version: str, budget: str
               ) -> dict[str, Any]:
    """Tune and fit every candidate on the split; returns the MLflow parent run id."""
    outcome = runner.train(get_dataset(dataset), settings, budget, clean_version)
    return {"dataset": dataset, "run_id": outcome.parent_run_id, "best": outcome.best,
            "cv_rmse": {c.name: c.cv_rmse for c in outcome.candidates},
            "seconds": outcome.seconds}


def evaluate_step(settings: Settings, dataset: str, run_id: str) -> dict[str, Any]:
    """Test metrics of the run's best model, and the champion's on the same rows."""
    evaluation = runner.evaluate_run(get_dataset(dataset), settings, run_id)
    return {"dataset": dataset, "run_id": run_id, "test": evaluation["test"],
            "champion": evaluation["champion"],
            "champion_version": evaluation["champion_version"]}


def register_step(settings: Settings, dataset: str, run_id: str) -> dict[str, Any]:
    """Register the run's best model as the new `challenger` version."""
    version = runner.register_run(get_dataset(dataset), settings, run_id)
    return {"dataset": dataset, "run_id": run_id, "version": version}


def gate_step(settings: Settings, dataset: str, version: str, run_id: str) -> dict[str, Any]:
    """Promote the version to champion when it passes the gate; the reasons either way."""
    decision = runner.gate_version(get_dataset(dataset), settings, version, run_id)
    return {"dataset": dataset, "version": version, "run_id": run_id,
            "promoted": decision.promote, "reasons": decision.reasons}


STEPS: dict[str, Step] = {
    "fetch": fetch_step, "validate": validate_step, "clean": clean_step, "split": split_step,
    "train": train_step, "evaluate": evaluate_step, "register": register_step,
    "gate": gate_step,
}


# The ids each step takes from the result of the step before it (plus the budget for train).
INPUTS: dict[str, tuple[str, ...]] = {
    "fetch": (), "validate": ("sha256",), "clean": ("sha256",), "split": ("version",),
    "train": ("clean_version",), "evaluate": ("run_id",), "register": ("run_id",),
    "gate": ("version", "run_id"),
}


def get_step(name: str) -> Step:
    """A step by name, or a clear error listing the steps."""
    try:
        return STEPS[name]
    except KeyError:
        raise UserInputError(f"unknown step {name!r} (steps: {', '.join(STEPS)})") from None


def step_arguments(step: str, dataset: str, previous: dict[str, Any], budget: str
                   ) -> Callable[[Settings], dict[str, Any]]:
    """Bind a step to its inputs, taken from the result of the step before it.

    Every orchestrator chains steps this way: the DVC stages through the JSON files
    `homeprice pipeline step --after` reads, the Airflow tasks through XCom.
    """
    function = get_step(step)
    missing = [key for key in INPUTS[step] if key not in previous]
    if missing:
        raise UserInputError(f"step {step} needs {', '.join(missing)} from the previous "
                             "step's result (pass it with --after FILE)")
    if previous.get("dataset", dataset) != dataset:
        raise UserInputError(f"the previous step's result is for {previous['dataset']}, "
                             f"not {dataset}")
    args = [previous[key] for key in INPUTS[step]]
    if step == "train":
        args.append(budget)
    return lambda settings: function(settings, dataset, *args)
