"""Validate raw data against a dataset's pandera schema and build the quality report.

Critical findings (missing required column, a value that cannot be parsed to its type, an empty
file) stop the pipeline. Everything else (missing values, duplicates, IQR outliers, range and
domain violations) is measured and reported; the cleaning step decides which rows to drop.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa

from homeprice.config import Settings
from homeprice.datasets import Dataset
from homeprice.errors import DataValidationError

_RANGE_CHECKS = ("in_range", "greater_than", "less_than", "ge(", "gt(", "le(", "lt(")
_MAX_EXAMPLES = 5


@dataclass
class Issue:
    """One critical finding."""

    column: str
    check: str
    message: str
    row: int | None = None
    """1-based data row (the header is not counted), when one row is at fault."""


@dataclass
class QualityReport:
    """The quality of one raw table, as written to JSON and shown as a table."""

    dataset: str
    source: str
    rows: int
    columns: list[str]
    critical: list[Issue] = field(default_factory=list)
    missing: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0
    outliers: dict[str, dict[str, float]] = field(default_factory=dict)
    range_violations: dict[str, dict[str, Any]] = field(default_factory=dict)
    domain_violations: dict[str, dict[str, Any]] = field(default_factory=dict)
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    @property
    def status(self) -> str:
        """failed (critical findings), warnings (data to clean) or ok."""
        if self.critical:
            return "failed"
        if self.range_violations or self.domain_violations or self.duplicates:
            return "warnings"
        return "ok"

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form of the report."""
        return {
            "dataset": self.dataset,
            "source": self.source,
            "status": self.status,
            "rows": self.rows,
            "columns": self.columns,
            "critical": [vars(i) for i in self.critical],
            "missing": self.missing,
            "duplicates": self.duplicates,
            "outliers": self.outliers,
            "range_violations": self.range_violations,
            "domain_violations": self.domain_violations,
            "created_at": self.created_at,
        }

    def first_error(self) -> str:
        """One line naming the file, the column and (where one row is at fault) the row."""
        issue = self.critical[0]
        where = f", row {issue.row}" if issue.row is not None else ""
        more = (f" (and {len(self.critical) - 1} more critical issues)"
                if len(self.critical) > 1 else "")
        return f"{self.source}: column {issue.column!r}{where}: {issue.message}{more}"


def _row_number(index: Any) -> int | None:
    """1-based data row from a pandas index label, for a default RangeIndex."""
    if index is None or (isinstance(index, float) and np.isnan(index)):
        return None
    try:
        return int(index) + 1
    except (TypeError, ValueError):
        return None


def _classify(failures: pd.DataFrame, report: QualityReport) -> None:
    """Sort pandera's failure cases into critical issues and range/domain violations."""
    unparseable: set[str] = set()
    for row in failures.itertuples(index=False):
        check = str(row.check)
        column = str(row.column)
        if check == "column_in_dataframe":
            report.critical.append(Issue(str(row.failure_case), "column_in_dataframe",
                                         "required column is missing"))
        elif check.startswith("coerce_dtype"):
            unparseable.add(column)
            dtype = check.removeprefix("coerce_dtype(").rstrip(")").strip("'")
            report.critical.append(Issue(
                column, check, f"value {row.failure_case!r} cannot be parsed as {dtype}",
                _row_number(row.index)))
    for row in failures.itertuples(index=False):
        check = str(row.check)
        column = str(row.column)
        if check in ("column_in_dataframe",) or check.startswith(("coerce_dtype", "dtype(")):
            continue
        if column in unparseable or row.index is None:
            continue  # a check that could not run on an unparseable column says nothing new
        bucket = (report.range_violations if check.startswith(_RANGE_CHECKS)
                  else report.domain_violations)
        entry = bucket.setdefault(column, {"check": check, "count": 0, "examples": []})
        entry["count"] += 1
        if len(entry["examples"]) < _MAX_EXAMPLES:
            entry["examples"].append({"row": _row_number(row.index),
                                      "value": str(row.failure_case)})


def _outliers(data: pd.DataFrame, columns: list[str], k: float) -> dict[str, dict[str, float]]:
    """Tukey-fence outliers per numeric column: count and the fences used."""
    found: dict[str, dict[str, float]] = {}
    for column in columns:
        values = pd.to_numeric(data[column], errors="coerce").dropna()
        if values.empty:
            continue
        q1, q3 = values.quantile([0.25, 0.75])
        low, high = q1 - k * (q3 - q1), q3 + k * (q3 - q1)
        count = int(((values < low) | (values > high)).sum())
        if count:
            found[column] = {"count": count, "low": float(low), "high": float(high)}
    return found


def build_report(
    raw: pd.DataFrame, dataset: Dataset, settings: Settings, source: str,
    for_prediction: bool = False,
) -> QualityReport:
    """Run the dataset's schema lazily over `raw` and measure its quality.

    For prediction inputs the target column is optional (it passes through when present).
    """
    report = QualityReport(dataset=dataset.name, source=source, rows=len(raw),
                           columns=[str(c) for c in raw.columns])
    if raw.empty:
        report.critical.append(Issue("*", "not_empty", "the file has no data rows"))
        return report
    schema = dataset.raw_schema(settings)
    if for_prediction and dataset.target not in raw.columns:
        schema = schema.remove_columns([dataset.target])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # pandera's own concat warning
            schema.validate(raw, lazy=True)
    except pa.errors.SchemaErrors as errors:
        _classify(errors.failure_cases, report)
    report.missing = {c: int(n) for c, n in raw.isna().sum().items() if n}
    report.duplicates = int(raw.duplicated().sum())
    numeric = [name for name, column in schema.columns.items()
               if name in raw.columns and str(column.dtype).startswith(("float", "int"))]
    report.outliers = _outliers(raw, numeric, settings.validation.iqr_factor)
    return report


def validate(raw: pd.DataFrame, dataset: Dataset, settings: Settings, source: str) -> QualityReport:
    """The quality report of `raw`; raises DataValidationError on any critical finding."""
    report = build_report(raw, dataset, settings, source)
    if report.critical:
        raise DataValidationError(report.first_error(), report.to_dict())
    return report
