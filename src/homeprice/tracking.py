"""MLflow tracking setup and run logging: experiments, parent/child runs, models, lineage."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import tempfile
import warnings
from importlib.metadata import version
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient
from sklearn.pipeline import Pipeline

from homeprice import artifacts
from homeprice.config import Settings

log = logging.getLogger(__name__)
_REPO = Path(__file__).resolve().parents[2]


def registry_client(uri: str) -> MlflowClient:
    """A client of the store at `uri` (tracking and registry) that leaves MLflow's
    process-global URIs alone, so a long-lived holder (the server) is safe to keep it."""
    # Artifact downloads draw progress bars on stderr: noise in CLI output and server logs.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def configure(settings: Settings) -> MlflowClient:
    """Point MLflow (tracking and registry) at the configured store; return a client for it."""
    uri = settings.tracking_uri
    client = registry_client(uri)
    # mlflow.set_tracking_uri() also exports MLFLOW_TRACKING_URI; put the user's value back so
    # the environment keeps meaning "what the user chose" for the next Settings.
    user_value = os.environ.get("MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    if user_value is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    else:
        os.environ["MLFLOW_TRACKING_URI"] = user_value
    return client


def experiment_id(client: MlflowClient, dataset: str, settings: Settings) -> str:
    """The dataset's experiment, created with an explicit artifact location (never ./mlruns)."""
    name = f"homeprice-{dataset}"
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    location = f"{settings.artifacts_uri}/{dataset}"
    return client.create_experiment(name, artifact_location=location)


def git_commit() -> str:
    """The code version: the checkout's commit (with -dirty when modified), or 'unknown'."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=_REPO, capture_output=True,
                                text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=_REPO, capture_output=True, text=True, timeout=10).stdout
        return f"{commit}-dirty" if dirty.strip() else commit
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def pip_requirements() -> list[str]:
    """Pinned runtime requirements of a logged model (skips MLflow's slow inference)."""
    packages = ("scikit-learn", "lightgbm", "pandas", "numpy", "scipy", "cloudpickle")
    return [f"{name}=={version(name)}" for name in packages]


def log_model(model: Pipeline, X_example: pd.DataFrame) -> Any:
    """Log a fitted pipeline (cloudpickle: skops cannot load tree models) with signature."""
    example = X_example.head(5)
    # The pickle-safety warning is expected: skops cannot load tree models (see the issue).
    logging.getLogger("mlflow.sklearn").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        signature = infer_signature(example, model.predict(example))
        return mlflow.sklearn.log_model(
            model, name=artifacts.MODEL, serialization_format="cloudpickle", signature=signature,
            input_example=example, pip_requirements=pip_requirements(),
        )


def log_json(payload: Any, artifact_file: str) -> None:
    """Log a JSON document as a run artifact."""
    mlflow.log_dict(json.loads(json.dumps(payload, default=str)), artifact_file)


def log_table(frame: pd.DataFrame, artifact_file: str) -> None:
    """Log a table as a run artifact: Parquet (exact types) for .parquet, else CSV."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / Path(artifact_file).name
        if path.suffix == ".parquet":
            frame.to_parquet(path, index=False)
        else:
            frame.to_csv(path, index=False)
        folder = str(Path(artifact_file).parent)
        mlflow.log_artifact(str(path), artifact_path=None if folder == "." else folder)
