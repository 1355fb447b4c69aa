"""Retrain a logged pipeline run from what it recorded, and compare the metrics.

A run records the sha256 of its raw data (kept in the lake), its resolved config, its seed and
the number of tuning trials each candidate ran. Reproduction re-cleans that raw table with
that config, trains with the same trial counts and no time limit, and logs the result as a
new run tagged `reproduces=<run id>`. With deterministic candidates (LightGBM in deterministic
mode with fixed threads, seeded scikit-learn models) the test metrics agree to 1e-9.
"""

from __future__ import annotations

import json
import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mlflow
from mlflow.exceptions import MlflowException

from homeprice import artifacts, tracking
from homeprice.config import Settings
from homeprice.data.cleaning import clean
from homeprice.data.lake import Lake
from homeprice.datasets import get_dataset
from homeprice.errors import LakeError, UserInputError
from homeprice.masking import mask_url
from homeprice.training import runner
from homeprice.training.candidates import CANDIDATES

TOLERANCE = 1e-9
# The logged config sections that decide the model; paths, servers and tokens are this
# machine's business and come from the current settings.
MODEL_SECTIONS = ("split", "validation", "datasets", "training")


@dataclass
class MetricComparison:
    """One metric of one candidate, as logged and as reproduced."""

    candidate: str
    metric: str
    old: float
    new: float
    deterministic: bool

    @property
    def equal(self) -> bool:
        """Equal within the tolerance (relative, or absolute near zero)."""
        return math.isclose(self.old, self.new, rel_tol=TOLERANCE, abs_tol=TOLERANCE)


@dataclass
class Reproduction:
    """The outcome of reproducing a run."""

    run_id: str
    new_run_id: str
    dataset: str
    data_sha256: str
    clean_version: str
    comparisons: list[MetricComparison] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def reproduced(self) -> bool:
        """Every metric of every deterministic candidate matches."""
        return all(c.equal for c in self.comparisons if c.deterministic)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {"run_id": self.run_id, "new_run_id": self.new_run_id, "dataset": self.dataset,
                "data_sha256": self.data_sha256, "clean_version": self.clean_version,
                "reproduced": self.reproduced, "notes": self.notes,
                "metrics": [vars(c) | {"equal": c.equal} for c in self.comparisons]}


def _pipeline_run(client: mlflow.tracking.MlflowClient, run_id: str) -> Any:
    """The pipeline (parent) run of `run_id`; a candidate's run id leads to its parent."""
    try:
        run = client.get_run(run_id)
    except MlflowException:
        raise UserInputError(f"no run {run_id!r} in the tracking store "
                             f"{mask_url(mlflow.get_tracking_uri())}") from None
    parent = run.data.tags.get("mlflow.parentRunId")
    if run.data.tags.get("kind") == "candidate" and parent:
        run = client.get_run(parent)
    if run.data.tags.get("kind") != "pipeline" or "data_sha256" not in run.data.tags:
        raise UserInputError(f"run {run_id} is not a homeprice pipeline run "
                             "(it has no data_sha256 tag)")
    return run


def _logged_settings(client: mlflow.tracking.MlflowClient, run_id: str,
                     current: Settings) -> Settings:
    """The current settings with the model-deciding sections as the run logged them."""
    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = client.download_artifacts(run_id, artifacts.RESOLVED_CONFIG, tmp)
        except (MlflowException, OSError):
            raise UserInputError(f"run {run_id} has no {artifacts.RESOLVED_CONFIG} "
                                 "artifact") from None
        logged = json.loads(Path(path).read_text())
    merged = current.model_dump() | {k: logged[k] for k in MODEL_SECTIONS if k in logged}
    return type(current).model_validate(merged)


def _candidate_runs(client: mlflow.tracking.MlflowClient, run: Any) -> dict[str, Any]:
    """The run's candidate child runs by candidate name."""
    children = client.search_runs(
        [run.info.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{run.info.run_id}'")
    return {c.data.tags["candidate"]: c for c in children if "candidate" in c.data.tags}


def reproduce(run_id: str, settings: Settings) -> Reproduction:
    """Retrain `run_id` from its logged data, config and seed; compare test metrics."""
    client = tracking.configure(settings)
    run = _pipeline_run(client, run_id)
    tags = run.data.tags
    dataset = get_dataset(tags["dataset"])
    sha256 = tags["data_sha256"]
    lake = Lake(settings.lake_root)
    try:
        lake.raw_entry(dataset.name, sha256)
    except LakeError:
        raise LakeError(
            f"raw data sha256 {sha256} of {dataset.name} (run {run.info.run_id}) is not in the "
            f"lake {lake.url}; fetch the same source file again to restore it: homeprice data "
            f"fetch --dataset {dataset.name} --source FILE --sha256 {sha256}") from None
    replay = _logged_settings(client, run.info.run_id, settings)
    old = _candidate_runs(client, run)
    missing = [name for name in replay.training.candidates if name not in old]
    if missing:
        raise UserInputError(f"run {run.info.run_id} has no logged run for candidate(s) "
                             f"{', '.join(missing)}")
    trials = {name: int(old[name].data.metrics["n_trials"])
              for name in replay.training.candidates}

    cleaned = clean(dataset, replay, sha256)
    notes = []
    if cleaned.version != tags.get("clean_version"):
        notes.append(f"clean version {cleaned.version} differs from the logged "
                     f"{tags.get('clean_version')}: the cleaning rules changed since the run")
    if tags.get("git_commit") not in (None, "unknown", tracking.git_commit()):
        notes.append(f"code differs: the run was at commit {tags['git_commit']}, "
                     f"this is {tracking.git_commit()}")
    outcome = runner.train(dataset, replay, tags.get("budget", "default"), cleaned.version,
                           trials=trials, tags={"reproduces": run.info.run_id,
                                                "kind": "reproduction"})
    comparisons = [
        MetricComparison(candidate=result.name, metric=metric,
                         old=float(old[result.name].data.metrics[f"test_{metric}"]),
                         new=float(value), deterministic=CANDIDATES[result.name].deterministic)
        for result in outcome.candidates for metric, value in result.test.items()
        if f"test_{metric}" in old[result.name].data.metrics]
    return Reproduction(run_id=run.info.run_id, new_run_id=outcome.parent_run_id,
                        dataset=dataset.name, data_sha256=sha256, clean_version=cleaned.version,
                        comparisons=comparisons, notes=notes)
