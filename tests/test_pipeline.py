"""`pipeline run` walks the declared steps; on the fast budget: tracking, registry, gate, batch."""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import mlflow
import pandas as pd
import pytest
from typer.testing import CliRunner

from homeprice import registry, tracking
from homeprice.cli import app
from homeprice.config import Settings
from homeprice.datasets import get_dataset
from homeprice.pipeline import run_pipeline
from homeprice.steps import STEPS, StepResult, declared, step_names
from tests.support.paths import REPO
from tests.support.postgres import fresh_pg_database

runner = CliRunner()


def test_pipeline_run_walks_the_declaration(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each declared step in order, given the declared ids from its predecessor's result."""
    calls: list[tuple[str, tuple, dict]] = []
    keys = {key for step in STEPS for key in step.inputs}
    details: dict[str, Any] = {"train": SimpleNamespace(test=None, version=None, gate=None),
                               "evaluate": {"test": {"rmse": 1.0}}, "register": "7",
                               "gate": "decision"}

    def fake(name: str) -> Any:
        def step(settings: Any, dataset: str, *inputs: Any, **params: Any) -> StepResult:
            calls.append((name, inputs, params))
            return StepResult({"dataset": dataset, **{k: f"{name}.{k}" for k in keys}},
                              details.get(name, name))
        return step

    for step in STEPS:
        module, _, attribute = step.function.partition(":")
        monkeypatch.setattr(importlib.import_module(module), attribute, fake(step.name))
    started: list[tuple[str, str]] = []
    runs = run_pipeline("california", "S", "fast", lambda d, s: started.append((d, s)))

    assert started == [("california", name) for name in step_names()]
    assert [name for name, _, _ in calls] == step_names()
    assert calls[0][1] == ()  # the first step starts from the dataset name alone
    for before, step, (name, inputs, _) in zip(STEPS[:-1], STEPS[1:], calls[1:], strict=True):
        assert inputs == tuple(f"{before.name}.{key}" for key in step.inputs), name
    for step, (name, _, params) in zip(STEPS, calls, strict=True):
        assert set(params) == set(step.params), name
    assert calls[step_names().index("train")][2]["budget"] == "fast"
    run = runs[0]
    assert list(run.results) == step_names() and run.results["gate"]["version"] == "gate.version"
    assert (run.fetched, run.quality, run.cleaned) == ("fetch", "validate", "clean")
    assert run.training is details["train"] and run.evaluation == details["evaluate"]
    assert (run.training.test, run.training.version, run.training.gate) == (
        {"rmse": 1.0}, "7", "decision")


def test_data_only_run_stops_after_cleaning(settings: Settings) -> None:
    started: list[str] = []
    [run] = run_pipeline("california", settings, None, lambda _d, step: started.append(step))
    assert started == [step.name for step in declared(data_only=True)]
    assert run.fetched is not None and run.quality is not None and run.cleaned is not None
    # Each step worked on the bytes the fetch stored, through the declared ids.
    assert run.results["validate"]["sha256"] == run.fetched.sha256 == run.cleaned.raw_sha256
    assert run.quality.status == run.results["validate"]["status"]
    assert run.training is None and "split" not in run.results


def test_champions_registered_with_lineage(trained: Settings, real_data_dir: Path) -> None:
    client = tracking.configure(trained)
    for dataset in ("california", "bengaluru"):
        versions = registry.list_versions(client, dataset)
        assert len(versions) == 1
        assert versions[0]["aliases"] == ["champion"]
        # Guards lineage: the version names the exact bytes it was trained on (the one source
        # file of the dataset), not merely some hash-looking value. (The bundled samples that
        # stand in for ../shared/data in a bare clone have a README beside them.)
        source = real_data_dir / dataset / get_dataset(dataset).source.filename
        assert versions[0]["data_sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
        parent_id = client.get_model_version(registry.model_name(dataset), "1").tags[
            "pipeline_run_id"]
        parent = client.get_run(parent_id)
        tags = parent.data.tags
        # Guards the code version: the commit of this checkout (with -dirty when modified), so
        # a constant or "unknown" fails.
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True,
                              text=True, check=True).stdout.strip()
        assert tags["dataset"] == dataset and tags["git_commit"] in (head, f"{head}-dirty")
        assert tags["clean_path"].endswith(f"{tags['clean_version']}.parquet")
        assert {"test_rmse", "test_mae", "test_r2", "test_mape", "test_interval_coverage"} <= set(
            parent.data.metrics)
        artifacts = {a.path for a in client.list_artifacts(parent_id)}
        assert {"config", "data", "plots", "evaluation", "candidates.csv"} <= artifacts
        plots = {a.path for a in client.list_artifacts(parent_id, "plots")}
        assert plots == {"plots/predicted_vs_actual.png", "plots/residuals.png",
                         "plots/feature_importance.png"}
        children = client.search_runs([parent.info.experiment_id],
                                      f"tags.mlflow.parentRunId = '{parent_id}'")
        assert sorted(r.data.tags["candidate"] for r in children) == [
            "forest", "lightgbm", "ridge", "tree"]
        for child in children:
            assert {"cv_rmse", "test_rmse"} <= set(child.data.metrics)
    # Artifacts land in the home (nothing in the repository: the session-wide guard of
    # tests/support/fixtures.py checks that for every test, whatever the working directory).
    artifacts_root = Path(trained.home) / "artifacts"
    assert any(path.is_file() for path in artifacts_root.rglob("*"))


def test_models_cli(trained: Settings) -> None:
    result = runner.invoke(app, ["models", "list", "--dataset", "california"])
    assert result.exit_code == 0, result.output
    # The table names the registered champion's candidate (whichever won on CV).
    [version] = registry.list_versions(tracking.configure(trained), "california")
    assert "champion" in result.output and version["candidate"] in result.output
    result = runner.invoke(app, ["models", "history", "--dataset", "bengaluru", "--json"])
    entries = json.loads(result.output)
    assert [(e["action"], e["alias"]) for e in entries] == [
        ("register", "challenger"), ("gate-promote", "champion"), ("gate-promote", "challenger")]


def _source_rows(real_data_dir: Path, dataset: str, n: int = 30) -> pd.DataFrame:
    files = {"california": "california/housing.csv",
             "bengaluru": "bengaluru/Bengaluru_House_Data.csv"}
    return pd.read_csv(real_data_dir / files[dataset], dtype=str).head(n)


def _with_a_plot(rows: pd.DataFrame, real_data_dir: Path) -> pd.DataFrame:
    """Bengaluru source rows plus the first listing without a size (a plot): priced too."""
    every = pd.read_csv(real_data_dir / "bengaluru/Bengaluru_House_Data.csv", dtype=str)
    plot = every[every["size"].isna()].head(1)
    return pd.concat([rows, plot[rows.columns.intersection(plot.columns)]], ignore_index=True)


@pytest.mark.parametrize("dataset", ["california", "bengaluru"])
def test_predict_source_format_file(trained: Settings, real_data_dir: Path, tmp_path: Path,
                                    dataset: str) -> None:
    rows = _source_rows(real_data_dir, dataset)
    if dataset == "bengaluru":
        rows = _with_a_plot(rows, real_data_dir)
        assert rows["size"].isna().any()
    rows = rows.assign(my_id=lambda d: range(len(d)))
    rows = rows[rows.columns[::-1]]  # column order must not matter
    source = tmp_path / "in.csv"
    rows.to_csv(source, index=False)
    target = tmp_path / "out" / "predictions.csv"
    result = runner.invoke(app, ["predict", "--dataset", dataset, "--input", str(source),
                                 "--output", str(target)])
    assert result.exit_code == 0, result.output
    out = pd.read_csv(target)
    assert len(out) == len(rows)
    assert list(out.columns) == [*rows.columns, "prediction", "lower", "upper", "model_version"]
    assert (out["my_id"] == rows["my_id"].to_numpy()).all()
    assert (out["lower"] <= out["prediction"]).all() and (out["prediction"] <= out["upper"]).all()
    assert (out["model_version"] == 1).all()
    assert [p.name for p in target.parent.iterdir()] == ["predictions.csv"]


@pytest.mark.parametrize(
    ("dataset", "column", "value", "message"),
    [("california", "median_income", "lots", "cannot be parsed as float64"),
     ("california", "latitude", "51.5", "out of range"),
     ("california", "ocean_proximity", "MOON", "not allowed"),
     ("bengaluru", "size", "many rooms", "not allowed"),
     ("bengaluru", "total_sqft", "", "missing or unparseable value")],
)
def test_predict_bad_row(trained: Settings, real_data_dir: Path, tmp_path: Path, dataset: str,
                         column: str, value: str, message: str) -> None:
    rows = _source_rows(real_data_dir, dataset, 10).dropna(subset=["size"] if dataset ==
                                                           "bengaluru" else [])
    rows = rows.reset_index(drop=True)
    rows.loc[6, column] = value if value else None
    source = tmp_path / "in.csv"
    rows.to_csv(source, index=False)
    target = tmp_path / "out.csv"
    result = runner.invoke(app, ["predict", "--dataset", dataset, "--input", str(source),
                                 "--output", str(target)])
    assert result.exit_code == 2, result.output
    assert "row 7" in result.output and f"'{column}'" in result.output
    assert message in result.output
    assert not target.exists() and list(tmp_path.iterdir()) == [source]


def test_predict_without_model_is_clear(home: Path, tmp_path: Path, real_data_dir: Path) -> None:
    source = tmp_path / "in.csv"
    _source_rows(real_data_dir, "california", 3).to_csv(source, index=False)
    result = runner.invoke(app, ["predict", "-d", "california", "--input", str(source),
                                 "--output", str(tmp_path / "o.csv")])
    assert result.exit_code == 2
    assert "no 'champion' alias yet" in result.output


def test_unknown_budget(home: Path) -> None:
    result = runner.invoke(app, ["pipeline", "run", "--budget", "lavish"])
    assert result.exit_code == 2 and "unknown budget 'lavish'" in result.output


@pytest.mark.postgres
def test_postgresql_backend_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  real_data_dir: Path) -> None:
    """The same pipeline with MLflow's backend store on PostgreSQL (a fresh database)."""
    with fresh_pg_database("homeprice_mlflow") as url:
        monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
        monkeypatch.setenv("HOMEPRICE_HOME", str(tmp_path / "home"))
        monkeypatch.setenv("HOMEPRICE_DATA_DIR", str(real_data_dir))
        try:
            result = runner.invoke(app, ["pipeline", "run", "-d", "bengaluru", "--budget",
                                         "fast"])
            assert result.exit_code == 0, result.output
            client = tracking.configure(Settings())
            assert registry.alias_version(client, "bengaluru", registry.CHAMPION) == "1"
            assert not (tmp_path / "home" / "mlflow.db").exists()
        finally:
            # MLflow's URIs are process-global and the database is dropped below: forget it,
            # pass or fail, so no later test talks to a dropped database.
            mlflow.set_tracking_uri(None)
            mlflow.set_registry_uri(None)
            os.environ.pop("MLFLOW_REGISTRY_URI", None)
