"""Validation on Spark gives the local engine's quality report (every field but created_at)
on both real datasets with rows breaking range and domain checks, an unparseable value and
copies, whatever the partitioning, Arrow batch size and CSV splits; and `data validate
--engine spark` answers as the local engine does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from homeprice.cli import app
from homeprice.config import Settings
from homeprice.datasets import get_dataset
from homeprice.engines import get_engine
from homeprice.errors import UserInputError

# Source rows kept from each real file: several 997-row batches and CSV splits, fast to check.
ROWS = 2_500
BREAKS = {
    "california": [{"latitude": "10.5"}, {"households": "0"}, {"total_rooms": "-3"},
                   {"ocean_proximity": "MARS"}, {"median_income": "250"},
                   {"median_house_value": ""}],
    "bengaluru": [{"bath": "99"}, {"balcony": "-1"}, {"area_type": "Moon Area"},
                  {"total_sqft": "huge"}, {"price": "0"}, {"size": "lots"},
                  {"availability": "someday"}],
}
UNPARSEABLE = {"california": ("median_income", "lots"), "bengaluru": ("bath", "two")}
LAYOUTS = [{}, {"partitions": 7, "batch": 997, "split_bytes": 65_536}]
LAYOUT_IDS = ["as-read", "7-partitions-997-rows-64k-splits"]


def broken_copy(name: str, folder: Path, unparseable: bool = False) -> Path:
    """The first ROWS rows of the dataset's real file, each rule broken twice in rows spread
    through it, copies of earlier rows, and (if asked) one unparseable value at row 1501 and
    one at row 2001."""
    sample = pd.read_csv(get_dataset(name).sample_path, dtype=str, keep_default_na=False)
    rows = sample.head(ROWS).copy()
    for i, change in enumerate(BREAKS[name] * 2):
        for column, value in change.items():
            rows.loc[100 + i * 311, column] = value
    if unparseable:
        column, value = UNPARSEABLE[name]
        rows.loc[[2000, 1500], column] = value
    path = folder / f"broken-{name}.csv"
    pd.concat([rows, rows.iloc[::53]], ignore_index=True).to_csv(path, index=False)
    return path


def reports(name: str, source: Path, spark: Any, settings: Settings,
            layout: dict[str, int]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The local and Spark reports of `source` (without created_at), Spark laid out as asked."""
    dataset = get_dataset(name)
    local = get_engine("local").validate(dataset, settings, source).to_dict()
    conf = {"spark.sql.execution.arrow.maxRecordsPerBatch": str(layout.get("batch", 10_000))}
    if "split_bytes" in layout:  # the CSV read in several partitions: row numbers by offsets
        conf["spark.sql.files.maxPartitionBytes"] = str(layout["split_bytes"])
    for key, value in conf.items():
        spark.conf.set(key, value)
    try:
        remote = get_engine("spark", session=spark, partitions=layout.get("partitions")
                            ).validate(dataset, settings, source).to_dict()
    finally:
        for key in conf:
            spark.conf.unset(key)
    local.pop("created_at")
    remote.pop("created_at")
    return local, remote


@pytest.mark.xdist_group("spark")
@pytest.mark.parametrize("name", ["california", "bengaluru"])
@pytest.mark.parametrize("layout", LAYOUTS, ids=LAYOUT_IDS)
def test_spark_report_equals_local(name: str, layout: dict[str, int], spark: Any,
                                   settings: Settings, tmp_path: Path) -> None:
    """Guards per-batch validation: counts, first examples, missing values, duplicates and
    outlier fences computed per batch or partition would differ here."""
    local, remote = reports(name, broken_copy(name, tmp_path), spark, settings, layout)
    assert remote == local
    assert local["status"] == "warnings" and local["duplicates"] >= ROWS // 53
    violations = local["range_violations"] | local["domain_violations"]
    assert len(violations) >= 4  # the injected rows break several checks
    assert local["outliers"] and local["missing"]
    first = next(iter(violations.values()))["examples"][0]["row"]
    assert first >= 101  # 1-based rows of the injected breaks (the real rows pass)


@pytest.mark.xdist_group("spark")
@pytest.mark.parametrize("name", ["california", "bengaluru"])
def test_an_unparseable_value_is_the_same_critical_error(name: str, spark: Any,
                                                         settings: Settings,
                                                         tmp_path: Path) -> None:
    """Guards the critical path: the same issues, and the first names the earlier row."""
    source = broken_copy(name, tmp_path, unparseable=True)
    local, remote = reports(name, source, spark, settings, LAYOUTS[1])
    assert remote == local and local["status"] == "failed"
    column, value = UNPARSEABLE[name]
    assert [(i["column"], i["row"]) for i in local["critical"]] == [(column, 1501),
                                                                     (column, 2001)]
    assert repr(value) in local["critical"][0]["message"]


@pytest.mark.xdist_group("spark")
def test_order_statistics_move_a_far_pivot_to_the_exact_value(spark: Any) -> None:
    """Guards the exact quartiles: a pivot several values from its rank still ends on the
    value at that rank (ties included)."""
    from homeprice.engines.spark_quality import order_statistics

    values = [5.0, 1.0, 3.0, 3.0, 9.0, 7.0, 2.0, 3.0, None]
    frame = spark.createDataFrame([(v,) for v in values], "x double")
    ranked = sorted(v for v in values if v is not None)
    pivots = {("x", rank): pivot for rank, pivot in [(0, 9.0), (3, 1.0), (6, 3.0), (7, 2.5)]}
    assert order_statistics(frame, pivots) == {("x", r): ranked[r] for (_, r) in pivots}


def test_quartiles_from_two_order_statistics_are_pandas_quartiles() -> None:
    """Guards the quartile arithmetic the Spark engine uses: exactly pandas' linear method,
    to the last bit, for every size and with ties."""
    from homeprice.engines.spark_quality import interpolate, quantile_ranks

    rng = np.random.default_rng(0)
    for size in range(1, 120):
        values = np.sort(np.round(rng.lognormal(3, 2, size), rng.integers(0, 6)))
        for q in (0.25, 0.75):
            below, above, weight = quantile_ranks(size, q)
            expected = pd.Series(values).quantile(q)
            assert interpolate(values[below], values[above], weight) == expected, (size, q)


def test_a_schema_with_whole_column_checks_is_refused_on_spark(settings: Settings) -> None:
    """Guards per-batch validation: a unique column cannot be checked batch by batch."""
    from homeprice.engines.spark_quality import require_row_local

    dataset = get_dataset("magicbricks")
    with pytest.raises(UserInputError, match="unique listing_id.*only with --engine local"):
        require_row_local(dataset, dataset.raw_schema(settings))


def run(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


@pytest.mark.xdist_group("spark")
def test_data_validate_on_spark_answers_as_local(home: Path, spark: Any,
                                                 tmp_path: Path) -> None:
    """Guards --engine on `data validate`: the lake's raw table gives the same JSON report
    on both engines, and a file with an unparseable value the same one-line error."""
    assert run("data", "fetch", "--dataset", "bengaluru").exit_code == 0
    printed = {}
    for engine in ("local", "spark"):
        result = run("data", "validate", "--dataset", "bengaluru", "--engine", engine,
                     "--json")
        assert result.exit_code == 0, result.output
        printed[engine] = json.loads(result.output)
        printed[engine].pop("created_at")
    assert printed["spark"] == printed["local"]
    assert printed["local"]["rows"] > 10_000 and printed["local"]["duplicates"] > 0

    source = broken_copy("bengaluru", tmp_path, unparseable=True)
    messages = []
    for engine in ("local", "spark"):
        result = run("data", "validate", "--dataset", "bengaluru", "--engine", engine,
                     "--input", str(source))
        assert result.exit_code == 2
        messages.append(" ".join(result.output.split()))
    assert messages[0] == messages[1]
    assert "column 'bath', row 1501: value 'two' cannot be parsed" in messages[0]
