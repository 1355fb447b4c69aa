"""Batch prediction: a file in a dataset's source format -> the same rows with predictions."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from homeprice import registry, tracking
from homeprice.atomic import replacing
from homeprice.comparables import comparables_of
from homeprice.config import Settings
from homeprice.data.sources import read_table
from homeprice.data.validation import build_report
from homeprice.datasets import Dataset
from homeprice.engines.base import first_missing, missing_input_error, score_frame
from homeprice.errors import DataValidationError, UserInputError


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
    # The same check, hence the same message, as the engines' batch scoring.
    missing = first_missing(dataset, parsed)
    if missing is not None:
        raise missing_input_error(label, missing[0] + 1, missing[1])
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


def comparables_columns(model: object, X: pd.DataFrame, k: int, version: str,
                        dataset: Dataset, price: pd.Series) -> pd.DataFrame:
    """The comps' estimate, range and agreement, then id, price and distance of each of the
    k comparables (comp_1 the most similar), one row per home of X."""
    index = comparables_of(model)
    if index is None:
        raise UserInputError(f"--comparables: model v{version} of {dataset.name} has no "
                             "comparables (registered before they existed); train a new "
                             f"version with `homeprice pipeline run --dataset {dataset.name}`")
    if not 1 <= k <= index.max_k:
        raise UserInputError(f"--comparables: must be between 1 and {index.max_k} (the homes "
                             f"model v{version} indexes), got {k}")
    found = index.query(X, k)
    estimate = index.estimate(found)
    out = pd.DataFrame({"comps_estimate": estimate.price, "comps_low": estimate.low,
                        "comps_high": estimate.high}, index=X.index)
    out["comps_agreement"] = np.where(price > out["comps_high"], "above",
                                      np.where(price < out["comps_low"], "below", "within"))
    coordinates = index.similarity.coordinates is not None
    for j in range(k):
        rows = found.rows[:, j]
        out[f"comp_{j + 1}_id"] = index.ids_[rows]
        out[f"comp_{j + 1}_price"] = index.price_[rows]
        # km where the dataset has coordinates; otherwise whether it shares the locality.
        out[f"comp_{j + 1}_distance"] = (np.round(found.km[:, j], 3) if coordinates else
                                         np.where(found.same_locality[:, j], "same locality",
                                                  "other locality"))
    return out


def predict_file(dataset: Dataset, settings: Settings, input_path: str, output_path: str,
                 model_ref: str = "champion", comparables: int = 0) -> BatchResult:
    """Predict every row of `input_path`; write it atomically with prediction, lower, upper
    (and, with `comparables` > 0, that many comps' ids, prices and distances per row)."""
    raw = read_table(input_path)
    if raw.empty:
        raise DataValidationError(f"{input_path}: the file has no data rows")
    parsed = check_inputs(raw, dataset, settings, input_path)
    version = resolve_version(settings, dataset, model_ref)
    model = registry.load_model(dataset.name, version)
    result = score_frame(dataset, model, raw, parsed, version)
    if comparables:
        # Agreement judged on the price as written (rounded), so it matches the file.
        comps = comparables_columns(model, parsed[list(dataset.feature_columns)], comparables,
                                    version, dataset, result["prediction"])
        result = pd.concat([result, comps.set_axis(result.index)], axis=1)
    output = Path(output_path)
    with replacing(output) as temp:
        if output.suffix == ".parquet":
            result.to_parquet(temp, index=False)
        else:
            result.to_csv(temp, index=False)
    return BatchResult(rows=len(result), output=output, model_version=version)


def predict_with_engine(dataset: Dataset, settings: Settings, input_path: str,
                        output_path: str, model_ref: str, engine: str,
                        comparables: int = 0, scorer: str | None = None) -> BatchResult:
    """Predict every row of a source-format Parquet file on a data engine (homeprice.engines):
    local streams record batches, spark scores partitions in parallel (with homeprice's
    scorer, or `scorer` "mlflow": MLflow's spark_udf, prediction only)."""
    from homeprice.engines import engine_for

    if comparables:
        raise UserInputError("--comparables works without --engine only")
    if scorer is not None and engine != "spark":
        raise UserInputError("--scorer chooses how the spark engine scores: use it with "
                             "--engine spark")
    for path, what in ((input_path, "--input"), (output_path, "--output")):
        if not path.endswith(".parquet"):
            raise UserInputError(f"{what} {path}: with --engine, input and output are Parquet "
                                 "(.parquet)")
    version = resolve_version(settings, dataset, model_ref)
    model = registry.load_model(dataset.name, version)
    options = {"scorer": scorer} if scorer is not None else {}
    report = engine_for(engine, settings, **options).score(
        dataset, model, input_path, output_path, version,
        model_uri=registry.model_uri(dataset.name, version))
    return BatchResult(rows=report.rows, output=report.output, model_version=version)
