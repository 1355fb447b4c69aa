"""Spark batch scoring gives the local engine's predictions (within 1e-9) on both real
datasets, and refuses bad input with the local engine's errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from homeprice.datasets import get_dataset
from homeprice.engines import get_engine
from homeprice.errors import UserInputError
from tests.engines.conftest import scoreable

pytestmark = pytest.mark.xdist_group("spark")


@pytest.mark.parametrize("name", ["california", "bengaluru"])
@pytest.mark.parametrize("partitions", [None, 7])
def test_spark_scores_equal_local(name: str, partitions: int | None, spark: Any,
                                  tiny_models: dict[str, Any], tmp_path: Path) -> None:
    """Guards the mapInPandas scorer: same rows in the same order, same source values, and
    predictions and bounds equal to the local engine's within 1e-9."""
    dataset = get_dataset(name)
    source, rows = scoreable(name, tmp_path)
    model = tiny_models[name]
    local = get_engine("local", batch_rows=4_096).score(dataset, model, source,
                                                         tmp_path / "local.parquet", "7")
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", "997")
    try:
        remote = get_engine("spark", session=spark, partitions=partitions).score(
            dataset, model, source, tmp_path / "spark.parquet", "7")
    finally:
        spark.conf.unset("spark.sql.execution.arrow.maxRecordsPerBatch")

    assert remote.rows == local.rows == len(rows)
    mine = pd.read_parquet(tmp_path / "spark.parquet")
    theirs = pd.read_parquet(tmp_path / "local.parquet")
    assert list(mine.columns) == list(theirs.columns) == [*rows.columns, "prediction",
                                                           "lower", "upper", "model_version"]
    pd.testing.assert_frame_equal(mine[list(rows.columns)], rows)
    pd.testing.assert_frame_equal(theirs[list(rows.columns)], rows)
    for column in ("prediction", "lower", "upper"):
        np.testing.assert_allclose(mine[column], theirs[column], rtol=1e-9, atol=0)
    assert theirs["prediction"].nunique() > 10  # a model that actually varies by home
    assert set(mine["model_version"]) == {"7"}


def bad_inputs(folder: Path) -> dict[str, Path]:
    """Files each engine must refuse, by what is wrong with them."""
    source, rows = scoreable("california", folder)
    missing_value = rows.copy()
    missing_value.loc[1234, "median_income"] = "n/a"
    missing_value.loc[2345, "latitude"] = None  # later row, earlier column: still the second
    paths = {"absent": folder / "absent.parquet", "not_parquet": folder / "text.parquet",
             "no_rows": folder / "empty.parquet", "missing_column": folder / "narrow.parquet",
             "missing_value": folder / "holes.parquet"}
    paths["not_parquet"].write_text("longitude,latitude\n1,2\n")
    rows.iloc[:0].to_parquet(paths["no_rows"], index=False)
    rows.drop(columns=["households"]).to_parquet(paths["missing_column"], index=False)
    missing_value.to_parquet(paths["missing_value"], index=False)
    return paths


def test_bad_input_is_refused_with_the_local_engines_errors(
        spark: Any, tiny_models: dict[str, Any], tmp_path: Path) -> None:
    """Guards the shared checks: each bad file gets the same message from both engines, and
    a missing value is reported at its row (the first bad one) and source column."""
    dataset = get_dataset("california")
    model = tiny_models["california"]
    engines = [get_engine("local", batch_rows=1_000), get_engine("spark", session=spark,
                                                                  partitions=3)]
    for kind, path in bad_inputs(tmp_path).items():
        messages = []
        for engine in engines:
            with pytest.raises(UserInputError) as error:
                engine.score(dataset, model, path, tmp_path / f"{kind}-out.parquet", "1")
            messages.append(str(error.value))
            assert not (tmp_path / f"{kind}-out.parquet").exists()
        assert messages[0] == messages[1], kind
    assert messages[0].endswith("row 1235, column 'median_income': missing or unparseable "
                                "value (required to predict)")


@pytest.mark.parametrize("name", ["california", "bengaluru"])
def test_mlflow_spark_udf_scores_equal_local(name: str, spark: Any,
                                             tiny_models: dict[str, Any],
                                             tmp_path: Path) -> None:
    """Guards the MLflow-native scorer: MLflow's spark_udf over the features parsed in pandas
    gives the local engine's predictions within 1e-9, in file order across 7 partitions, with
    the interval left empty (a pyfunc model has none)."""
    import mlflow.sklearn

    dataset = get_dataset(name)
    source, rows = scoreable(name, tmp_path)
    model = tiny_models[name]
    saved = tmp_path / "model"
    mlflow.sklearn.save_model(model, saved, serialization_format="cloudpickle")
    get_engine("local", batch_rows=4_096).score(dataset, model, source,
                                                tmp_path / "local.parquet", "7")
    get_engine("spark", session=spark, partitions=7, scorer="mlflow").score(
        dataset, model, source, tmp_path / "udf.parquet", "7", model_uri=str(saved))

    mine = pd.read_parquet(tmp_path / "udf.parquet")
    theirs = pd.read_parquet(tmp_path / "local.parquet")
    assert list(mine.columns) == list(theirs.columns)
    pd.testing.assert_frame_equal(mine[list(rows.columns)], rows)
    np.testing.assert_allclose(mine["prediction"], theirs["prediction"], rtol=1e-9, atol=0)
    assert mine["lower"].isna().all() and mine["upper"].isna().all()
    assert set(mine["model_version"]) == {"7"}


def test_the_mlflow_scorer_needs_a_model_uri(spark: Any, tiny_models: dict[str, Any],
                                             tmp_path: Path) -> None:
    source, _ = scoreable("california", tmp_path)
    with pytest.raises(UserInputError, match="needs its URI"):
        get_engine("spark", session=spark, scorer="mlflow").score(
            get_dataset("california"), tiny_models["california"], source,
            tmp_path / "out.parquet", "1")
    with pytest.raises(UserInputError, match="unknown Spark scorer 'pandas'"):
        get_engine("spark", session=spark, scorer="pandas")
    assert not (tmp_path / "out.parquet").exists()
