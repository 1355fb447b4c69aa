"""The engine interface of the data steps and what every engine shares: input checks, raw
rows normalised alike, and the per-batch scoring both engines run."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from homeprice.config import Settings
from homeprice.data.validation import QualityReport
from homeprice.datasets import Dataset
from homeprice.errors import DataValidationError, UserInputError

ENGINES = ("local", "spark")
PREDICTION_COLUMNS = ("prediction", "lower", "upper")


@dataclass(frozen=True)
class CleanReport:
    """What a clean wrote: rows in, drops by reason, notes on the kept rows, where."""

    rows_in: int
    dropped: dict[str, int]
    rows_out: int
    notes: dict[str, int] = field(default_factory=dict)
    output: Path = Path()

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return dict(vars(self)) | {"output": str(self.output)}


@dataclass(frozen=True)
class ScoreReport:
    """What a batch scoring wrote."""

    rows: int
    output: Path
    model_version: str


class Engine(ABC):
    """Runs a dataset's cleaning and a model's batch scoring over files."""

    name: str

    @abstractmethod
    def clean(self, dataset: Dataset, settings: Settings, input_path: str | Path,
              output_path: str | Path) -> CleanReport:
        """Clean a source-format file (CSV as text, or Parquet) into Parquet at `output_path`."""

    @abstractmethod
    def validate(self, dataset: Dataset, settings: Settings, input_path: str | Path,
                 source: str | None = None) -> QualityReport:
        """The quality report of a source-format file (CSV as text, or Parquet), labelled
        `source` (default: the path); equal on every engine but for created_at. Critical
        findings are in the report, not raised."""

    @abstractmethod
    def score(self, dataset: Dataset, model: Any, input_path: str | Path,
              output_path: str | Path, model_version: str,
              model_uri: str | None = None) -> ScoreReport:
        """Predict every row of a source-format Parquet file: the rows with prediction, lower,
        upper and model_version, as Parquet at `output_path`. `model_uri` (where MLflow can
        load `model`) is for engines that load the model their own way."""


def engine_for(name: str, settings: Settings, **options: Any) -> Engine:
    """The engine called `name`, configured by `settings` (Spark's master and driver memory)
    and `options` (its constructor's)."""
    if name == "spark":
        return get_engine(name, master=settings.spark_master,
                          driver_memory=settings.spark_driver_memory, **options)
    return get_engine(name, **options)


def get_engine(name: str, **options: Any) -> Engine:
    """The engine called `name` (local or spark); options go to its constructor."""
    if name == "local":
        from homeprice.engines.local import LocalEngine

        return LocalEngine(**options)
    if name == "spark":
        from homeprice.engines.spark import SparkEngine

        return SparkEngine(**options)
    raise UserInputError(f"unknown engine {name!r} (known: {', '.join(ENGINES)})")


def existing_file(path: str | Path, what: str) -> Path:
    """`path` as a Path, when it names an existing file."""
    found = Path(path)
    if not found.is_file():
        raise UserInputError(f"{what} {path}: no such file")
    return found


def normalise_raw(raw: pd.DataFrame) -> pd.DataFrame:
    """Text columns with NaN for missing values, as pandas' CSV reader gives them, whatever the
    reader (Parquet and Arrow give None): the plug-ins' parsers then see one kind of missing."""
    out = raw.copy()
    for column in out.columns:
        if out[column].dtype == object or isinstance(out[column].dtype, pd.StringDtype):
            values = out[column].astype(object)
            out[column] = values.where(values.notna(), np.nan)
    return out


def output_schema(schema: pa.Schema) -> pa.Schema:
    """The scored file's schema: the source's, then the prediction columns."""
    for column in PREDICTION_COLUMNS:
        schema = schema.append(pa.field(column, pa.float64()))
    return schema.append(pa.field("model_version", pa.string()))


def check_score_input(dataset: Dataset, path: str | Path) -> pq.ParquetFile:
    """The Parquet file to score, once it is known to hold rows and the source columns the
    model needs (the same checks, hence the same errors, on every engine)."""
    found = existing_file(path, "input")
    try:
        parquet = pq.ParquetFile(found)
    except Exception as error:  # noqa: BLE001 - pyarrow raises several kinds for a bad file
        raise UserInputError(f"{path}: not a Parquet file ({error})") from None
    names = set(parquet.schema_arrow.names)
    missing = [c for c in dataset.raw_columns if c != dataset.target and c not in names]
    if missing:
        raise DataValidationError(f"{path}: missing columns {', '.join(missing)} "
                                  f"(the {dataset.name} source format)")
    if parquet.metadata.num_rows == 0:
        raise DataValidationError(f"{path}: the file has no data rows")
    return parquet


def first_missing(dataset: Dataset, parsed: pd.DataFrame) -> tuple[int, str] | None:
    """(position, source column) of the first row missing an input the model needs (the first
    such column of that row), or None."""
    missing = pd.DataFrame({source: parsed[column].isna().to_numpy()
                            for column, source in dataset.required_inputs.items()})
    rows = missing.any(axis=1).to_numpy().nonzero()[0]
    if not len(rows):
        return None
    position = int(rows[0])
    column = str(missing.columns[missing.iloc[position].to_numpy().argmax()])
    return position, column


def missing_input_error(label: str, row: int, column: str) -> DataValidationError:
    """The error for a row (1-based) without a required input."""
    return DataValidationError(f"{label}: row {row}, column {column!r}: missing or "
                               "unparseable value (required to predict)")


def score_frame(dataset: Dataset, model: Any, raw: pd.DataFrame, parsed: pd.DataFrame,
                model_version: str) -> pd.DataFrame:
    """Source rows with prediction, lower, upper (rounded as `homeprice predict` does) and
    model_version, from the rows parsed; each must hold every required input (first_missing)."""
    from homeprice.training.runner import predictions_frame

    predicted = predictions_frame(model, parsed[list(dataset.feature_columns)])
    out = raw.copy()
    for column in PREDICTION_COLUMNS:
        out[column] = rounded(dataset, predicted[column])
    out["model_version"] = model_version
    return out


def rounded(dataset: Dataset, values: pd.Series) -> np.ndarray:
    """Prices rounded as `homeprice predict` writes them: cents, or 1e-4 lakh (numpy's
    rounding, which every engine applies in pandas so that their outputs stay equal)."""
    return values.round(2 if dataset.target_unit == "USD" else 4).to_numpy()
