"""What each declared pipeline step does: settings and ids in, ids (plus the rich result) out.

homeprice.steps declares the order and the inputs; these functions are thin calls into the
data, training and registry code. Each returns a StepResult: the JSON ids the next step starts
from, and the object `homeprice pipeline run` renders (orchestrators drop it).
"""

from __future__ import annotations

from homeprice import registry
from homeprice.config import Settings
from homeprice.data.cleaning import clean, validate_raw
from homeprice.data.ingest import fetch
from homeprice.data.lake import Lake
from homeprice.data.splitting import store_split
from homeprice.datasets import get_dataset
from homeprice.steps import ProgressHook, StepResult
from homeprice.training import runner


def fetch_step(settings: Settings, dataset: str) -> StepResult:
    """Source -> raw zone. `new` says whether these bytes were not in the lake before."""
    fetched = fetch(get_dataset(dataset), settings)
    return StepResult(fetched.to_dict(), fetched)


def validate_step(settings: Settings, dataset: str, sha256: str) -> StepResult:
    """Quality report of one raw table; DataValidationError (with the report) when critical."""
    report, path = validate_raw(get_dataset(dataset), settings, raw_sha256=sha256)
    return StepResult({"dataset": dataset, "sha256": sha256, "report_path": str(path),
                       "status": report.status, "rows": report.rows}, report)


def clean_step(settings: Settings, dataset: str, sha256: str) -> StepResult:
    """Raw table -> clean version, every dropped row counted by reason."""
    summary = clean(get_dataset(dataset), settings, sha256)
    return StepResult(summary.to_dict(), summary)


def split_step(settings: Settings, dataset: str, clean_version: str) -> StepResult:
    """Clean version -> train / calibration / test in the lake (written once)."""
    entry = store_split(Lake(settings.lake_root), get_dataset(dataset), clean_version,
                        settings.split)
    return StepResult({"dataset": dataset, "clean_version": clean_version,
                       "split_key": entry["key"], "sizes": entry["sizes"],
                       "paths": entry["paths"]}, entry)


def train_step(settings: Settings, dataset: str, clean_version: str, *, budget: str,
               progress: ProgressHook | None = None) -> StepResult:
    """Tune and fit every candidate on the split; returns the MLflow parent run id.

    `progress`, called with (dataset, "tuning <candidate>"), is how `pipeline run` shows
    which candidate is being tuned; orchestrators leave it out.
    """
    outcome = runner.train(get_dataset(dataset), settings, budget, clean_version,
                           progress=progress)
    return StepResult({"dataset": dataset, "run_id": outcome.parent_run_id, "best": outcome.best,
                       "cv_rmse": {c.name: c.cv_rmse for c in outcome.candidates},
                       "seconds": outcome.seconds}, outcome)


def evaluate_step(settings: Settings, dataset: str, run_id: str) -> StepResult:
    """Test metrics of the run's best model, and the champion's on the same rows."""
    evaluation = runner.evaluate_run(get_dataset(dataset), settings, run_id)
    return StepResult({"dataset": dataset, "run_id": run_id, "test": evaluation["test"],
                       "champion": evaluation["champion"],
                       "champion_version": evaluation["champion_version"]}, evaluation)


def register_step(settings: Settings, dataset: str, run_id: str) -> StepResult:
    """Register the run's best model as the new `challenger` version."""
    version = runner.register_run(get_dataset(dataset), settings, run_id)
    return StepResult({"dataset": dataset, "run_id": run_id, "version": version}, version)


def gate_step(settings: Settings, dataset: str, version: str, run_id: str) -> StepResult:
    """Gate the version by gate.mode: champion, challenger awaiting live evidence, rejected
    (challenger alias cleared) or kept as challenger; the reasons either way.

    `outcome` is the registry's GATE_* value, `promoted` whether it became champion now and
    `passed` whether it passed every rule of the gate.
    """
    decision = runner.gate_version(get_dataset(dataset), settings, version, run_id)
    return StepResult({"dataset": dataset, "version": version, "run_id": run_id,
                       "mode": settings.gate.mode, "outcome": decision.outcome,
                       "promoted": decision.outcome == registry.GATE_CHAMPION,
                       "passed": decision.promote, "summary": decision.summary(),
                       "reasons": decision.reasons}, decision)
