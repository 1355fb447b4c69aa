"""The Spark engine: the dataset's own pandas rules per Arrow batch through mapInPandas, the
whole-dataset rules (duplicates) as Spark window functions over a file-order row id, so the
result is the local engine's whatever the partitioning and batch size."""

from __future__ import annotations

import json
import pickle
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from pandas._libs.parsers import STR_NA_VALUES  # the list pandas' CSV reader treats as missing

from homeprice.config import Settings
from homeprice.data.validation import QualityReport
from homeprice.datasets import Dataset
from homeprice.datasets.rules import CleanPlan, DuplicateRule, first_broken_rule
from homeprice.engines.base import (
    PREDICTION_COLUMNS,
    CleanReport,
    Engine,
    ScoreReport,
    check_score_input,
    existing_file,
    first_missing,
    missing_input_error,
    normalise_raw,
    rounded,
    score_frame,
)
from homeprice.engines.session import require_pyspark, spark_session
from homeprice.errors import UserInputError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import StructType

ROW = "_homeprice_row"
REASON = "_homeprice_reason"
# Rows parsed on the driver to learn the parsed columns' types (mapInPandas needs its output
# schema up front).
SCHEMA_SAMPLE_ROWS = 1_000
SCORERS = ("homeprice", "mlflow")
# Parsed model inputs beside the source columns of the same names (California's are equal).
FEATURE = "_homeprice_feature_"


class SparkEngine(Engine):
    """PySpark, on the given session, else on the process's (`spark_session`, started with
    `master` and `driver_memory` if it is not running yet).

    Scoring runs homeprice's own per-partition scorer (prediction and interval), or, with
    `scorer="mlflow"`, MLflow's `spark_udf` over the parsed features: the MLflow-native path,
    prediction only, since a pyfunc model has no interval.
    """

    name = "spark"

    def __init__(self, session: SparkSession | None = None, partitions: int | None = None,
                 master: str | None = None, driver_memory: str | None = None,
                 scorer: str = "homeprice") -> None:
        require_pyspark()
        if scorer not in SCORERS:
            raise UserInputError(f"unknown Spark scorer {scorer!r} (known: "
                                 f"{', '.join(SCORERS)})")
        self._session = session
        self.partitions = partitions
        """Repartition the input into this many partitions (None: as read)."""
        self.master = master
        """The Spark master URL (None: local[*])."""
        self.driver_memory = driver_memory
        """The driver's heap, set before its JVM starts (None: 2g)."""
        self.scorer = scorer

    @property
    def session(self) -> SparkSession:
        """The SparkSession, started on first use."""
        if self._session is None:
            self._session = spark_session(self.master, self.driver_memory)
        return self._session

    # -- reading ------------------------------------------------------------------------------

    def read_raw(self, path: str | Path) -> DataFrame:
        """A source file with a file-order row id: Parquet as typed, CSV as text with pandas'
        missing-value words as null (what `read_table` gives locally)."""
        from pyspark.sql import functions as F

        found = existing_file(path, "input")
        if found.suffix == ".parquet":
            frame = self.session.read.parquet(str(found))
            return frame.select("*", F.col("_metadata.row_index").alias(ROW))
        frame = (self.session.read.option("header", True).option("escape", '"')
                 .option("inferSchema", False).csv(str(found)))
        na_words = sorted(STR_NA_VALUES)
        columns = [F.when(F.col(c).isin(na_words), None).otherwise(F.col(c)).alias(c)
                   for c in frame.columns]
        # One file read in order: ids grow with the position in the file (they are not
        # consecutive, which only ordering needs).
        return frame.select(*columns, F.monotonically_increasing_id().alias(ROW))

    def numbered(self, path: str | Path) -> DataFrame:
        """read_raw with ROW as the 0-based position in the file (row numbers for messages).
        A CSV's monotonically increasing ids are consecutive within each partition of the
        read, which holds the file's splits in order: each partition's count gives the
        offset of the next."""
        from pyspark.sql import functions as F

        raw = self.read_raw(path)
        if Path(path).suffix == ".parquet":
            return raw  # _metadata.row_index is the position already
        part = F.shiftright(F.col(ROW), 33).alias("_homeprice_part")
        counts = sorted((r[0], r[1]) for r in raw.groupBy(part).count().collect())
        offsets, total = [], 0
        for number, count in counts:
            offsets.append((number, total))
            total += count
        if len(offsets) <= 1:
            return raw  # one partition: the ids count from 0 already
        table = self.session.createDataFrame(offsets, "_homeprice_part long, _offset long")
        return (raw.withColumn("_homeprice_part", part).join(F.broadcast(table), "_homeprice_part")
                .withColumn(ROW, F.col(ROW) - F.shiftleft(F.col("_homeprice_part"), 33)
                            + F.col("_offset"))
                .drop("_homeprice_part", "_offset"))

    def _spread(self, frame: DataFrame) -> DataFrame:
        return frame.repartition(self.partitions) if self.partitions else frame

    # -- clean --------------------------------------------------------------------------------

    def clean(self, dataset: Dataset, settings: Settings, input_path: str | Path,
              output_path: str | Path) -> CleanReport:
        """Row rules per batch, duplicates once over all rows, counts by a groupBy."""
        from pyspark.sql import Window
        from pyspark.sql import functions as F

        plan = dataset.clean_plan(settings)
        if plan is None:
            raise UserInputError(f"{dataset.name} declares no clean plan, so it cleans only "
                                 "with --engine local")
        raw = self._spread(self.read_raw(input_path))
        raw_columns = [c for c in raw.columns if c != ROW]
        flags: dict[str, str] = {}
        for index, rule in enumerate(plan.rules):
            if isinstance(rule, DuplicateRule) and rule.on == "raw":
                flags[rule.reason] = f"_homeprice_dup{index}"
                columns = list(rule.columns) if rule.columns is not None else raw_columns
                if set(columns) <= set(raw_columns):
                    later = F.row_number().over(Window.partitionBy(*columns).orderBy(ROW)) > 1
                else:
                    later = F.lit(False)
                raw = raw.withColumn(flags[rule.reason], later)
        parsed_sample = self._parsed_sample(dataset, raw, raw_columns)
        schema = spark_schema(parsed_sample)
        parsed_columns = list(parsed_sample.columns)
        # StructType.add changes the schema in place: extend a copy.
        out_schema = spark_schema(parsed_sample).add(ROW, "long").add(REASON, "string")

        def reasons(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
            for batch in batches:
                parsed = dataset.parse(normalise_raw(batch[raw_columns]))
                found = {reason: batch[column].astype(bool) for reason, column in flags.items()}
                reason = first_broken_rule(parsed, plan, found)
                yield conform(parsed[parsed_columns], schema).assign(
                    **{ROW: batch[ROW].to_numpy(), REASON: reason.to_numpy()})

        reasoned = raw.mapInPandas(reasons, out_schema)
        last = plan.rules[-1] if plan.rules else None
        if isinstance(last, DuplicateRule) and last.on == "parsed":
            columns = list(last.columns) if last.columns is not None else parsed_columns
            kept = F.col(REASON).isNull()
            window = Window.partitionBy(*columns, kept).orderBy(ROW)
            reasoned = reasoned.withColumn(
                REASON, F.when(kept & (F.row_number().over(window) > 1), F.lit(last.reason))
                .otherwise(F.col(REASON)))
        reasoned = reasoned.persist()
        try:
            counts = {row[REASON]: int(row["count"])
                      for row in reasoned.groupBy(REASON).count().collect()}
            kept_rows = reasoned.filter(F.col(REASON).isNull())
            notes = self._notes(kept_rows.select(*parsed_columns), plan, parsed_sample)
            output = Path(output_path)
            write_parquet(kept_rows.orderBy(ROW).select(*parsed_columns), output)
        finally:
            reasoned.unpersist()
        return CleanReport(rows_in=sum(counts.values()),
                           dropped={reason: counts.get(reason, 0) for reason in plan.reasons},
                           rows_out=counts.get(None, 0), notes=notes, output=output)

    @staticmethod
    def _parsed_sample(dataset: Dataset, raw: DataFrame, raw_columns: list[str]) -> pd.DataFrame:
        """The first rows parsed as the dataset parses them: the column types of what the
        pandas batches will yield (Spark needs a batch function's schema before it runs)."""
        sample = raw.select(*raw_columns).limit(SCHEMA_SAMPLE_ROWS).toPandas()
        return dataset.parse(normalise_raw(sample))

    def _notes(self, kept: DataFrame, plan: CleanPlan, sample: pd.DataFrame) -> dict[str, int]:
        """The plan's notes summed over per-batch counts (they are additive)."""
        def batch_notes(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
            for batch in batches:
                yield pd.DataFrame({"notes": [json.dumps(plan.notes(batch))]})

        totals: Counter[str] = Counter(dict.fromkeys(plan.notes(sample.iloc[:0]), 0))
        for row in kept.mapInPandas(batch_notes, "notes string").collect():
            totals.update(json.loads(row["notes"]))
        return dict(totals)

    # -- validate -----------------------------------------------------------------------------

    def validate(self, dataset: Dataset, settings: Settings, input_path: str | Path,
                 source: str | None = None) -> QualityReport:
        """The dataset's pandera schema per batch, the whole-data measures by Spark
        aggregates (engines.spark_quality); the local engine's report."""
        from homeprice.engines.spark_quality import quality_report

        found = existing_file(input_path, "input")
        raw = self._spread(self.numbered(found)).persist()
        try:
            return quality_report(raw, dataset, settings, source or str(input_path),
                                  text_source=found.suffix != ".parquet")
        finally:
            raw.unpersist()

    # -- score --------------------------------------------------------------------------------

    def score(self, dataset: Dataset, model: Any, input_path: str | Path,
              output_path: str | Path, model_version: str,
              model_uri: str | None = None) -> ScoreReport:
        """A check pass for rows without required inputs, then mapInPandas with the model
        unpickled once per partition (or MLflow's spark_udf loading `model_uri`)."""
        from pyspark.sql.types import DoubleType, LongType, StringType, StructType

        if self.scorer == "mlflow" and model_uri is None:
            raise UserInputError("the mlflow scorer loads the model itself: it needs its URI")

        check_score_input(dataset, input_path)
        raw = self._spread(self.read_raw(input_path))
        raw_columns = [c for c in raw.columns if c != ROW]

        def missing_rows(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
            for batch in batches:
                # In file order, so the batch's first bad row is its lowest row (a repartitioned
                # batch holds rows in shuffled order).
                batch = batch.sort_values(ROW, ignore_index=True)
                found = first_missing(dataset, dataset.parse(normalise_raw(batch[raw_columns])))
                if found is not None:
                    yield pd.DataFrame({ROW: [int(batch[ROW].iloc[found[0]])],
                                        "column": [found[1]]})

        bad = (raw.mapInPandas(missing_rows, f"{ROW} long, column string")
               .orderBy(ROW).limit(1).collect())
        if bad:
            # _metadata.row_index counts from 0 in the file.
            raise missing_input_error(str(input_path), bad[0][ROW] + 1, bad[0]["column"])

        if self.scorer == "mlflow" and model_uri is not None:  # None refused above
            scored = self._mlflow_scores(dataset, raw, raw_columns, model_uri, model_version)
            return self._write_scores(scored, Path(output_path), model_version)
        model_bytes = self.session.sparkContext.broadcast(pickle.dumps(model))

        def predict(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
            loaded = pickle.loads(model_bytes.value)  # once per partition, not per batch
            for batch in batches:
                source = batch[raw_columns]
                parsed = dataset.parse(normalise_raw(source))
                scored = score_frame(dataset, loaded, source, parsed, model_version)
                yield scored.assign(**{ROW: batch[ROW].to_numpy()})

        schema = StructType([f for f in raw.schema.fields if f.name != ROW])
        for column in PREDICTION_COLUMNS:
            schema = schema.add(column, DoubleType())
        schema = schema.add("model_version", StringType()).add(ROW, LongType())
        try:
            return self._write_scores(raw.mapInPandas(predict, schema), Path(output_path),
                                      model_version)
        finally:
            model_bytes.unpersist()

    def _mlflow_scores(self, dataset: Dataset, raw: DataFrame, raw_columns: list[str],
                       model_uri: str, model_version: str) -> DataFrame:
        """The source rows with MLflow's spark_udf prediction of the features parsed in pandas
        (Spark casts would refuse Bengaluru's "1200 - 1400"), rounded as the other scorer
        rounds; lower and upper are null."""
        import mlflow.pyfunc
        from pyspark.sql import functions as F
        from pyspark.sql.types import DoubleType, StringType, StructField, StructType

        features = list(dataset.feature_columns)
        parsed_sample = self._parsed_sample(dataset, raw, raw_columns)
        parsed_schema = StructType([
            StructField(FEATURE + field.name, field.dataType, True)
            for field in spark_schema(parsed_sample[features]).fields])
        with_features = StructType(raw.schema.fields + parsed_schema.fields)

        def parse(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
            for batch in batches:
                parsed = dataset.parse(normalise_raw(batch[raw_columns]))[features]
                parsed.columns = [FEATURE + column for column in features]
                parsed.index = batch.index
                yield pd.concat([batch, conform(parsed, parsed_schema)], axis=1)

        # env_manager="local": the workers run this interpreter, which has the model's
        # libraries already (a conda or virtualenv per model would need the internet).
        udf = mlflow.pyfunc.spark_udf(self.session, model_uri, result_type="double",
                                      env_manager="local")
        predicted = raw.mapInPandas(parse, with_features).withColumn(
            "prediction", udf(F.struct(*[F.col(FEATURE + c).alias(c) for c in features])))
        schema = StructType([f for f in raw.schema.fields if f.name != ROW])
        for column in PREDICTION_COLUMNS:
            schema = schema.add(column, DoubleType())
        schema = schema.add("model_version", StringType()).add(ROW, "long")

        def finish(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
            for batch in batches:
                out = batch[raw_columns].copy()
                out["prediction"] = rounded(dataset, batch["prediction"])
                out["lower"] = out["upper"] = None
                out["model_version"] = model_version
                out[ROW] = batch[ROW].to_numpy()
                yield out

        return predicted.select(*raw_columns, ROW, "prediction").mapInPandas(finish, schema)

    def _write_scores(self, scored: DataFrame, output: Path, model_version: str
                      ) -> ScoreReport:
        """Write the scored rows (in file order when repartitioned) without the row id."""
        if self.partitions:
            scored = scored.orderBy(ROW)
        scored = scored.drop(ROW).persist()
        try:
            rows = scored.count()
            write_parquet(scored, output)
        finally:
            scored.unpersist()
        return ScoreReport(rows=rows, output=output, model_version=model_version)


def spark_schema(parsed: pd.DataFrame) -> StructType:
    """The Spark schema of parsed rows: floats as doubles, datetimes as timestamps without a
    time zone (as pandas holds them), integers as longs, booleans, anything else as text."""
    from pyspark.sql.types import (
        BooleanType,
        DoubleType,
        LongType,
        StringType,
        StructField,
        StructType,
        TimestampNTZType,
    )

    fields = []
    for column, dtype in parsed.dtypes.items():
        if pd.api.types.is_bool_dtype(dtype):
            kind: Any = BooleanType()
        elif pd.api.types.is_float_dtype(dtype):
            kind = DoubleType()
        elif pd.api.types.is_integer_dtype(dtype):
            kind = LongType()
        elif pd.api.types.is_datetime64_any_dtype(dtype):
            kind = TimestampNTZType()
        else:
            kind = StringType()
        fields.append(StructField(str(column), kind, nullable=True))
    return StructType(fields)


def conform(frame: pd.DataFrame, schema: StructType) -> pd.DataFrame:
    """`frame` with its text columns as Python strings or None, so Arrow takes a batch whose
    values happen to be all missing (NaN, a float) as text too."""
    out = frame.copy()
    for field in schema.fields:
        if field.dataType.typeName() == "string":
            values = out[field.name].astype(object)
            out[field.name] = values.where(values.notna(), None)
    return out


def write_parquet(frame: DataFrame, output: Path) -> None:
    """Write `frame` as a Parquet folder at `output`, replacing what was there only once the
    write succeeded (Spark writes a folder of part files)."""
    temp = output.with_name(f".{output.name}.spark-tmp")
    shutil.rmtree(temp, ignore_errors=True)
    frame.write.mode("overwrite").parquet(str(temp))
    if output.is_dir():
        shutil.rmtree(output)
    elif output.exists():
        output.unlink()
    temp.rename(output)
