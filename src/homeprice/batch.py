"""Batch prediction: a file in a dataset's source format -> the same rows with predictions."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from homeprice import registry, tracking
from homeprice.atomic import replacing
from homeprice.config import Settings
from homeprice.data.sources import read_table
from homeprice.data.validation import build_report
from homeprice.datasets import Dataset
from homeprice.errors import DataValidationError, UserInputError
from homeprice.training.runner import predictions_frame


@dataclass(frozen=True)
class BatchResult:
    """What a batch prediction wrote."""

    rows: int
    output: Path
    model_version: str


def check_inputs(raw: pd.DataFrame, dataset: Dataset, settings: Settings, label: str
                 ) -> pd.DataFrame:
    """Validate source-format rows for prediction and parse them; the first bad row is an error."""
    report = build_report(raw, dataset, settings, label, for_prediction=True)
    if report.critical:
        raise DataValidationError(report.first_error())
    for kind, found in (("out of range", report.range_violations),
                        ("not allowed", report.domain_violations)):
        for column, entry in found.items():
            example = entry["examples"][0]
            raise DataValidationError(f"{label}: row {example['row']}, column {column!r}: value "
                                      f"{example['value']!r} is {kind} ({entry['check']})")
    parsed = dataset.parse(raw)
    for column, source_column in dataset.required_inputs.items():
        missing = parsed[column].isna().to_numpy().nonzero()[0]
        if len(missing):
            row = int(missing[0]) + 1
            raise DataValidationError(f"{label}: row {row}, column {source_column!r}: "
                                      "missing or unparseable value (required to predict)")
    return parsed


def resolve_version(settings: Settings, dataset: Dataset, ref: str) -> str:
    """The version number behind an alias or number."""
    client = tracking.configure(settings)
    if ref.isdigit():
        return ref
    version = registry.alias_version(client, dataset.name, ref)
    if version is None:
        raise UserInputError(f"{registry.model_name(dataset.name)} has no {ref!r} alias yet; "
                             "run `homeprice pipeline run` first")
    return version


def predict_file(dataset: Dataset, settings: Settings, input_path: str, output_path: str,
                 model_ref: str = "champion") -> BatchResult:
    """Predict every row of `input_path`; write it atomically with prediction, lower, upper."""
    raw = read_table(input_path)
    if raw.empty:
        raise DataValidationError(f"{input_path}: the file has no data rows")
    parsed = check_inputs(raw, dataset, settings, input_path)
    version = resolve_version(settings, dataset, model_ref)
    model = registry.load_model(dataset.name, version)
    predicted = predictions_frame(model, parsed[list(dataset.feature_columns)])
    result = raw.copy()
    for column in ("prediction", "lower", "upper"):
        result[column] = predicted[column].round(2 if dataset.target_unit == "USD" else 4)
    result["model_version"] = version
    output = Path(output_path)
    with replacing(output) as temp:
        if output.suffix == ".parquet":
            result.to_parquet(temp, index=False)
        else:
            result.to_csv(temp, index=False)
    return BatchResult(rows=len(result), output=output, model_version=version)
