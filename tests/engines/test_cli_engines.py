"""--engine on the CLI: `data clean` over the lake and over files, `predict`'s Parquet-only
engine path, and the data_engine setting."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from homeprice.cli import app

runner = CliRunner()


def invoke(*args: str) -> Any:
    return runner.invoke(app, list(args))


@pytest.mark.xdist_group("spark")
def test_lake_clean_on_spark_writes_the_local_clean_version(
        home: Path, spark: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Guards the lake path: the Spark engine (chosen by the setting) validates and writes the
    clean version the local engine writes, same version id, same rows, counts and report."""
    assert invoke("data", "fetch", "--dataset", "bengaluru").exit_code == 0
    local = invoke("data", "clean", "--dataset", "bengaluru", "--engine", "local")
    assert local.exit_code == 0, local.output
    manifest_path = home / "lake/clean/bengaluru/manifest.json"
    first = json.loads(manifest_path.read_text())
    entry = first["versions"][first["latest"]]
    local_rows = pd.read_parquet(entry["path"])
    local_report = json.loads((home / "reports/bengaluru/clean-latest.json").read_text())

    monkeypatch.setenv("HOMEPRICE_DATA_ENGINE", "spark")
    remote = invoke("data", "clean", "--dataset", "bengaluru")
    assert remote.exit_code == 0, remote.output

    second = json.loads(manifest_path.read_text())
    assert second["latest"] == first["latest"]
    spark_rows = pd.read_parquet(second["versions"][second["latest"]]["path"])
    spark_rows["available_from"] = spark_rows["available_from"].astype("datetime64[ns]")
    local_rows["available_from"] = local_rows["available_from"].astype("datetime64[ns]")
    pd.testing.assert_frame_equal(spark_rows, local_rows)
    report = json.loads((home / "reports/bengaluru/clean-latest.json").read_text())
    assert report["dropped"] == local_report["dropped"] and report["notes"] == local_report["notes"]
    # Validated on Spark too (the raw table is not read whole on the driver): the same report.
    quality, local_quality = ({k: v for k, v in r["quality"].items() if k != "created_at"}
                              for r in (report, local_report))
    assert quality == local_quality and quality["rows"] > 0


@pytest.mark.xdist_group("spark")
def test_file_clean_on_both_engines(home: Path, spark: Any, tmp_path: Path) -> None:
    """Guards --input/--output: a file cleaned outside the lake, the same on both engines."""
    from homeprice.datasets import get_dataset

    source = str(get_dataset("california").sample_path)
    outputs = {}
    for engine in ("local", "spark"):
        outputs[engine] = tmp_path / f"{engine}.parquet"
        result = invoke("data", "clean", "--dataset", "california", "--engine", engine,
                        "--input", source, "--output", str(outputs[engine]))
        assert result.exit_code == 0, result.output
        assert "rows out" in result.output and f"{engine} engine" in result.output
    pd.testing.assert_frame_equal(pd.read_parquet(outputs["spark"]),
                                  pd.read_parquet(outputs["local"]))
    assert not (home / "lake/clean").exists()


@pytest.mark.parametrize(("args", "message"), [
    (["data", "clean", "--dataset", "california", "--engine", "dask"], "unknown engine 'dask'"),
    (["data", "clean", "--dataset", "california", "--input", "x.csv"],
     "--input and --output go together"),
    (["predict", "--dataset", "california", "--input", "in.csv", "--output", "out.parquet",
      "--engine", "local"], "--input in.csv: with --engine, input and output are Parquet"),
    (["predict", "--dataset", "california", "--input", "in.parquet", "--output", "o.parquet",
      "--engine", "local", "--comparables", "3"], "--comparables works without --engine only"),
    (["predict", "--dataset", "california", "--input", "in.parquet", "--output", "o.parquet",
      "--scorer", "mlflow"], "--scorer chooses how the spark engine scores"),
    (["predict", "--dataset", "california", "--input", "in.parquet", "--output", "o.parquet",
      "--engine", "local", "--scorer", "mlflow"], "use it with --engine spark"),
])
def test_engine_options_refuse_bad_values(home: Path, args: list[str], message: str) -> None:
    """Guards the option checks: each mistake is named before any work starts."""
    result = invoke(*args)
    assert result.exit_code == 2  # a user input error
    assert message in " ".join(result.output.split())


@pytest.mark.xdist_group("spark")
@pytest.mark.parametrize("name", ["california", "bengaluru"])
def test_predict_with_the_mlflow_scorer_gives_the_champions_prices(
        name: str, served_home: Path, spark: Any, tmp_path: Path) -> None:
    """Guards `predict --engine spark --scorer mlflow` on registered champions (whose MLflow
    signature spark_udf enforces): the prices of `--engine local`, no interval."""
    from tests.engines.conftest import scoreable

    source, rows = scoreable(name, tmp_path)
    outputs = {}
    for engine, extra in (("local", []), ("spark", ["--scorer", "mlflow"])):
        outputs[engine] = tmp_path / f"{engine}.parquet"
        result = invoke("predict", "--dataset", name, "--input", str(source), "--output",
                        str(outputs[engine]), "--engine", engine, *extra)
        assert result.exit_code == 0, result.output
    mine, theirs = (pd.read_parquet(outputs[engine]) for engine in ("spark", "local"))
    assert len(mine) == len(theirs) == len(rows)
    assert (mine["prediction"] - theirs["prediction"]).abs().max() <= 1e-9 * theirs[
        "prediction"].abs().max()
    assert mine["lower"].isna().all() and theirs["lower"].notna().all()
    assert list(mine["model_version"].unique()) == list(theirs["model_version"].unique())
