"""The names of run artifacts and report files shared by writers and readers.

Run artifacts are paths inside an MLflow run: training writes them, serving, monitoring and
reproduction read them back (through `registry.download_version_artifact` for a registered
version). Reports are files under `<reports_dir>/<dataset>/`: data validation, cleaning and
the drift check write them, the API and the metrics endpoint read them.
"""

from __future__ import annotations

from pathlib import Path

# -- run artifacts: the pipeline (parent) run ---------------------------------------------------
# The settings the run trained with; `reproduce` replays its model-deciding sections.
RESOLVED_CONFIG = "config/resolved.json"
# The cleaning report of the clean table the run trained on.
CLEAN_REPORT = "data/clean_report.json"
# One row per candidate: cross-validation and test metrics.
CANDIDATES_TABLE = "candidates.csv"
# Test error per segment value (e.g. per location or price band).
RESIDUALS_BY_SEGMENT = "evaluation/residuals_by_segment.csv"
# The first test rows with their predictions and intervals, for people to read.
TEST_PREDICTIONS = "evaluation/test_sample.csv"
# Training inputs sample: the drift check compares live requests with it.
REFERENCE_SAMPLE = "evaluation/reference_sample.parquet"
# Test inputs and target: serving smoke-tests a new version and checks its fast path on it.
TEST_SAMPLE = "evaluation/test_sample.parquet"
# Test metrics of the best model, and the champion's on the same rows.
EVALUATION_METRICS = "evaluation/metrics.json"
# Folder of the diagnostic plots, and their file names.
PLOTS = "plots"
PREDICTED_VS_ACTUAL_PLOT = "predicted_vs_actual.png"
RESIDUALS_PLOT = "residuals.png"
FEATURE_IMPORTANCE_PLOT = "feature_importance.png"

# -- run artifacts: a candidate (child) run -----------------------------------------------------
# The logged pipeline (MLflow model); registered versions point at it.
MODEL = "model"
# Every tuning trial of the candidate.
TUNING_TRIALS = "tuning/trials.csv"

# -- reports under <reports_dir>/<dataset>/ -----------------------------------------------------
# The latest data-quality report (`data validate`, and every `data clean`).
QUALITY_LATEST = "quality-latest.json"
# The latest cleaning report: rows dropped by reason.
CLEAN_LATEST = "clean-latest.json"
# The latest drift result: servers export it as gauges and the insights API shows it.
DRIFT_LATEST = "drift-latest.json"
# The latest applied A/B evaluation (live error per variant): servers export it as gauges.
AB_LATEST = "ab-latest.json"


def quality_report(key: str) -> str:
    """The file name of the quality report of one input (a raw table's sha256 prefix, or a
    file's stem)."""
    return f"quality-{key}.json"


def drift_report(stamp: str, extension: str) -> str:
    """The file name of one drift check's Evidently report ("html" or "json")."""
    return f"drift-{stamp}.{extension}"


def report_folder(reports_dir: Path, dataset: str) -> Path:
    """The folder of a dataset's reports."""
    return reports_dir / dataset


def report_path(reports_dir: Path, dataset: str, name: str) -> Path:
    """Where the report file `name` of `dataset` is kept."""
    return report_folder(reports_dir, dataset) / name
