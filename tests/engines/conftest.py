"""The one SparkSession the engine tests share (skipped cleanly without PySpark or Java),
and the samples and tiny models they compare engines on."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from homeprice.datasets import get_dataset
from homeprice.engines.session import find_java_home


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """A local[2] session for the whole run; every test using it is in the xdist group
    "spark", so one worker holds one JVM."""
    missing = None
    try:
        import pyspark  # noqa: F401
    except ImportError:
        missing = "PySpark is not installed (pip install 'homeprice[spark]')"
    if missing is None and find_java_home() is None and shutil.which("java") is None:
        missing = "no Java for Spark (JAVA_HOME unset, no JDK under /usr/lib/jvm)"
    if missing:
        # CI installs both, and a skipped engine check there would pass silently.
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the Spark tests: {missing}")
        pytest.skip(missing)
    from homeprice.engines.session import spark_session

    session = spark_session("local[2]", "1g", conf={"spark.sql.shuffle.partitions": "4"})
    yield session
    session.stop()


def tiny_model(name: str) -> Any:
    """A small calibrated model of the dataset's sample (seconds to fit): the pipeline shape
    homeprice serves, features then interval regressor over LightGBM."""
    from lightgbm import LGBMRegressor
    from sklearn.pipeline import Pipeline

    from homeprice.config import load_settings
    from homeprice.data.sources import read_table
    from homeprice.datasets import get_dataset
    from homeprice.training.fitting import fit_calibrated
    from homeprice.training.intervals import IntervalRegressor

    dataset = get_dataset(name)
    data = dataset.clean(read_table(dataset.sample_path), load_settings()).data
    X, y = data[list(dataset.feature_columns)], data[dataset.target]
    half = len(data) // 2
    model = Pipeline([
        ("features", dataset.feature_builder(random_state=0)),
        ("model", IntervalRegressor(LGBMRegressor(n_estimators=30, num_leaves=15, n_jobs=1,
                                                  verbose=-1, random_state=0))),
    ])
    return fit_calibrated(model, (X.iloc[:half], y.iloc[:half]),
                          (X.iloc[half:], y.iloc[half:]), how="split", folds=2, seed=0)


@pytest.fixture(scope="session")
def tiny_models() -> dict[str, Any]:
    """tiny_model of California and Bengaluru, fitted once per run."""
    return {name: tiny_model(name) for name in ("california", "bengaluru")}


# Enough rows for many Arrow batches and all partitions, few enough to keep the test quick.
SCORED_ROWS = 5_000


def scoreable(name: str, folder: Path) -> tuple[Path, pd.DataFrame]:
    """The dataset's first sample rows that hold every required input, as source-format
    Parquet, and those rows as read back."""
    dataset = get_dataset(name)
    raw = pd.read_csv(dataset.sample_path, dtype=str)
    parsed = dataset.parse(raw)
    usable = parsed[list(dataset.required_inputs)].notna().all(axis=1)
    rows = raw.loc[usable].drop(columns=[dataset.target]).head(SCORED_ROWS)
    path = folder / f"{name}.parquet"
    rows.to_parquet(path, index=False)
    return path, pd.read_parquet(path)
