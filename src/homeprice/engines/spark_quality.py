"""The quality report on Spark, equal to the local one (homeprice.data.validation) but for
created_at: the dataset's own pandera schema runs per Arrow batch, indexed by file row, and
Spark aggregates what must see every row (counts, first examples, missing values,
duplicates, quartiles), so nothing depends on partitioning or batch size."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pandas as pd
import pandera.pandas as pa

from homeprice.config import Settings
from homeprice.data.validation import (
    CASE_COLUMNS,
    QualityReport,
    classify,
    failure_cases,
    no_rows_issue,
    outlier_columns,
    tukey_fences,
)
from homeprice.datasets import Dataset
from homeprice.engines.base import normalise_raw
from homeprice.engines.spark import ROW
from homeprice.errors import UserInputError

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

EXAMPLES = 5  # validation._MAX_EXAMPLES: the local summary keeps as many per (column, check)
CASES_SCHEMA = ("column string, check string, check_number long, row long, shown string, "
                "text string")
QUARTILES = (0.25, 0.75)


def require_row_local(dataset: Dataset, schema: pa.DataFrameSchema) -> None:
    """Refuse a schema with checks that need every row at once (unique columns, whole-frame
    checks): per batch they would miss what spans batches."""
    unique = [name for name, column in schema.columns.items() if column.unique]
    if unique or schema.unique or schema.checks:
        what = f"unique {', '.join(unique)}" if unique else "whole-table checks"
        raise UserInputError(f"{dataset.name}'s raw schema has checks over all rows ({what}), "
                             "so it validates only with --engine local")


def quality_report(raw: DataFrame, dataset: Dataset, settings: Settings, source: str,
                   text_source: bool) -> QualityReport:
    """The report of `raw`: source columns plus ROW, the 0-based file row of each.

    `text_source`: the file is CSV, read as text (missing values become NaN, as pandas'
    CSV reader gives them); Parquet batches keep what Arrow gives, as pandas' reader does.
    """
    columns = [c for c in raw.columns if c != ROW]
    rows = raw.count()
    report = QualityReport(dataset=dataset.name, source=source, rows=rows, columns=columns)
    if rows == 0:
        report.critical.append(no_rows_issue())
        return report
    schema = dataset.raw_schema(settings)
    require_row_local(dataset, schema)
    kept, counts = _summarised_cases(raw, columns, schema, text_source)
    classify(kept, counts, list(schema.columns), report)
    report.missing = _missing(raw, columns)
    report.duplicates = rows - raw.select(*columns).distinct().count()
    report.outliers = _outliers(raw, outlier_columns(schema, columns),
                                settings.validation.iqr_factor)
    return report


def _summarised_cases(raw: DataFrame, columns: list[str], schema: pa.DataFrameSchema,
                      text_source: bool) -> tuple[pd.DataFrame, dict[tuple[str, str], int]]:
    """validation.summarise_cases over every batch's failure cases, by Spark aggregates."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    def cases(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            frame = batch[columns].set_axis(pd.Index(batch[ROW].to_numpy()), axis=0)
            found = failure_cases(normalise_raw(frame) if text_source else frame, schema)
            # Arrow takes a nullable column of Python ints, not pandas' masked Int64.
            rows = found["row"].astype(object)
            yield found.assign(row=rows.where(rows.notna(), None))

    found = raw.mapInPandas(cases, CASES_SCHEMA).persist()
    try:
        with_row = found.filter(F.col("row").isNotNull())
        counts = {(r["column"], r["check"]): int(r["count"])
                  for r in with_row.groupBy("column", "check").count().collect()}
        critical = F.col("check").startswith("coerce_dtype") | (
            F.col("check") == "column_in_dataframe")
        first = F.row_number().over(Window.partitionBy("column", "check").orderBy("row"))
        examples = (with_row.filter(~critical).withColumn("_rank", first)
                    .filter(F.col("_rank") <= EXAMPLES).drop("_rank"))
        kept = (found.filter(F.col("row").isNull()).distinct()
                .unionByName(with_row.filter(critical)).unionByName(examples))
        frame = pd.DataFrame([r.asDict() for r in kept.collect()], columns=list(CASE_COLUMNS))
    finally:
        found.unpersist()
    frame["row"] = frame["row"].astype("Int64")
    frame["check_number"] = frame["check_number"].astype("int64")
    return frame, counts


def _missing(raw: DataFrame, columns: list[str]) -> dict[str, int]:
    """Missing values per column, as pandas' isna counts them (null, and NaN in floats)."""
    from pyspark.sql import functions as F

    kinds = dict(raw.dtypes)

    def missing(column: str) -> Column:
        value = F.col(f"`{column}`")
        is_missing = value.isNull()
        if kinds[column] in ("double", "float"):
            is_missing = is_missing | F.isnan(value)
        return F.count_if(is_missing).alias(column)

    totals = raw.select(*[missing(c) for c in columns]).first().asDict()
    return {c: int(totals[c]) for c in columns if totals[c]}


def quantile_ranks(count: int, q: float) -> tuple[int, int, float]:
    """The 0-based ranks below and above quantile `q` of `count` sorted values and the weight
    of the upper one, computed as numpy's linear method (pandas' default) computes them."""
    virtual = count * q + (1 + q * (1 - 1 - 1)) - 1  # numpy: n*q + (alpha + q*(1-alpha-beta)) - 1
    if virtual >= count - 1:
        return count - 1, count - 1, virtual - math.floor(virtual)
    below = max(math.floor(virtual), 0)
    return below, below + 1, virtual - below


def interpolate(low: float, high: float, weight: float) -> float:
    """The quantile between two neighbouring sorted values, by pandas' own arithmetic (a
    two-value Series has its `weight` quantile exactly between them)."""
    return float(pd.Series([low, high], dtype="float64").quantile(weight))


def _outliers(raw: DataFrame, columns: list[str], k: float) -> dict[str, dict[str, float]]:
    """Tukey-fence outliers per numeric column, as validation._outliers finds them: values
    parsed by pandas per batch, quartiles from the exact order statistics Spark selects."""
    from pyspark.sql import functions as F

    if not columns:
        return {}
    names = {c: f"_v{i}" for i, c in enumerate(columns)}

    def parse(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            yield pd.DataFrame({names[c]: pd.to_numeric(batch[c], errors="coerce")
                                .astype("float64") for c in columns})

    parsed = raw.mapInPandas(parse, ", ".join(f"{n} double" for n in names.values()))
    # NaN from a text "nan" is dropped locally (dropna), so it is no value here either.
    values = parsed.select(*[F.when(~F.isnan(n), F.col(n)).alias(n)
                             for n in names.values()]).persist()
    try:
        row = values.select(
            *[F.count(n).alias(f"n{n}") for n in names.values()],
            *[F.percentile(n, list(QUARTILES)).alias(f"p{n}") for n in names.values()],
        ).first()
        wanted: dict[tuple[str, int], float] = {}
        plans: dict[str, list[tuple[int, int, float]]] = {}
        for column, name in names.items():
            count = int(row[f"n{name}"])
            if count == 0:
                continue
            plans[column] = []
            for q, pivot in zip(QUARTILES, row[f"p{name}"], strict=True):
                below, above, weight = quantile_ranks(count, q)
                wanted[(name, below)] = wanted[(name, above)] = float(pivot)
                plans[column].append((below, above, weight))
        ranked = order_statistics(values, wanted)
        fences: dict[str, tuple[float, float]] = {}
        for column, ((b1, a1, w1), (b3, a3, w3)) in plans.items():
            name = names[column]
            fences[column] = tukey_fences(
                interpolate(ranked[(name, b1)], ranked[(name, a1)], w1),
                interpolate(ranked[(name, b3)], ranked[(name, a3)], w3), k)
        if not fences:
            return {}
        outside = values.select(*[
            F.count_if((F.col(names[c]) < low) | (F.col(names[c]) > high)).alias(names[c])
            for c, (low, high) in fences.items()]).first()
    finally:
        values.unpersist()
    return {c: {"count": int(outside[names[c]]), "low": float(low), "high": float(high)}
            for c, (low, high) in fences.items() if outside[names[c]]}


def order_statistics(values: DataFrame, pivots: dict[tuple[str, int], float]
                     ) -> dict[tuple[str, int], float]:
    """The exact value at each (column, 0-based rank) of `pivots`, by counts around its pivot
    (Spark's exact percentile there, whose interpolation may differ from numpy's in the last
    digit): the pivot itself, or the nearest value below or above it. A pivot not next to
    its rank moves one distinct value towards it and is counted again."""
    from pyspark.sql import functions as F

    found: dict[tuple[str, int], float] = {}
    pending = dict(pivots)
    while pending:
        keys = list(pending)
        aggregates = []
        for i, (name, _rank) in enumerate(keys):
            value, pivot = F.col(name), F.lit(pending[keys[i]])
            aggregates += [F.count_if(value < pivot).alias(f"lt{i}"),
                           F.count_if(value <= pivot).alias(f"le{i}"),
                           F.max(F.when(value < pivot, value)).alias(f"below{i}"),
                           F.min(F.when(value > pivot, value)).alias(f"above{i}")]
        counted = values.select(*aggregates).first()
        moved: dict[tuple[str, int], float] = {}
        for i, key in enumerate(keys):
            rank, less, upto = key[1], counted[f"lt{i}"], counted[f"le{i}"]
            below, above = counted[f"below{i}"], counted[f"above{i}"]
            if less <= rank < upto:
                found[key] = pending[key]
            elif rank == less - 1:
                found[key] = float(below)
            elif rank == upto:
                found[key] = float(above)
            else:
                moved[key] = float(below if rank < less else above)
        pending = moved
    return found
