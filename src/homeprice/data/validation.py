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


# A failure-case table: pandera's failure cases reduced to what the report uses, one per row.
# row is the frame's index label (the 0-based file row), null for whole-column findings;
# shown is the value's repr (critical messages), text its str (examples).
CASE_COLUMNS = ("column", "check", "check_number", "row", "shown", "text")


def no_rows_issue() -> Issue:
    """The critical finding of a file without data rows."""
    return Issue("*", "not_empty", "the file has no data rows")


def _row_label(index: Any) -> int | None:
    """The integer index label of a failure case, or None (whole-column findings)."""
    if index is None or (isinstance(index, float) and np.isnan(index)):
        return None
    try:
        return int(index)
    except (TypeError, ValueError):
        return None


def _is_critical(check: str) -> bool:
    return check == "column_in_dataframe" or check.startswith("coerce_dtype")


def failure_cases(raw: pd.DataFrame, schema: pa.DataFrameSchema) -> pd.DataFrame:
    """Run `schema` lazily over `raw`: its failure cases as a CASE_COLUMNS table (empty when
    valid), rows labelled by `raw`'s index. dtype checks are left out (the report ignores
    them: a failed coercion is the finding)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # pandera's own concat warning
            schema.validate(raw, lazy=True)
    except pa.errors.SchemaErrors as errors:
        found = errors.failure_cases
    else:
        found = pd.DataFrame(columns=["column", "check", "check_number", "index",
                                      "failure_case"])
    found = found[~found["check"].astype(str).str.startswith("dtype(")]
    numbers = [-1 if n is None or pd.isna(n) else int(n) for n in found["check_number"]]
    return pd.DataFrame({
        "column": found["column"].astype(str).to_numpy(),
        "check": found["check"].astype(str).to_numpy(),
        "check_number": pd.array(numbers, dtype="int64"),
        "row": pd.array([_row_label(i) for i in found["index"]], dtype="Int64"),
        "shown": pd.array([repr(v) for v in found["failure_case"]], dtype=object),
        "text": pd.array([str(v) for v in found["failure_case"]], dtype=object),
    }, columns=list(CASE_COLUMNS))


def summarise_cases(cases: pd.DataFrame) -> tuple[pd.DataFrame, dict[tuple[str, str], int]]:
    """What the report keeps of a failure-case table: the cases without a row (once each),
    every critical case, and the first examples by row of each (column, check); with the
    number of cases that have a row per (column, check). The Spark engine computes the same
    with Spark aggregates, so both engines classify the same summary."""
    with_row = cases[cases["row"].notna()].sort_values("row", kind="stable")
    counts = {(str(c), str(k)): int(n)
              for (c, k), n in with_row.groupby(["column", "check"]).size().items()}
    critical = with_row["check"].map(_is_critical).astype(bool)
    kept = pd.concat([
        cases[cases["row"].isna()].drop_duplicates(),
        with_row[critical],
        with_row[~critical].groupby(["column", "check"], sort=False).head(_MAX_EXAMPLES),
    ], ignore_index=True)
    return kept, counts


def classify(kept: pd.DataFrame, counts: dict[tuple[str, str], int], order: list[str],
             report: QualityReport) -> None:
    """Sort summarised failure cases (summarise_cases) into critical issues and range/domain
    violations. Critical issues are listed missing columns first (in `order`, the schema's
    column order), then by file row; a column's violations count every failing row, with
    examples by check (in the schema's order) and then by row."""
    def position(column: str) -> int:
        return order.index(column) if column in order else len(order)

    records = kept.to_dict("records")
    critical = sorted(
        (r for r in records if _is_critical(r["check"])),
        key=lambda r: (r["row"] is not pd.NA, 0 if r["row"] is pd.NA else r["row"],
                       position(r["text"] if r["check"] == "column_in_dataframe"
                                else r["column"])))
    unparseable: set[str] = set()
    for case in critical:
        if case["check"] == "column_in_dataframe":
            report.critical.append(Issue(case["text"], "column_in_dataframe",
                                         "required column is missing"))
            continue
        unparseable.add(case["column"])
        dtype = case["check"].removeprefix("coerce_dtype(").rstrip(")").strip("'")
        report.critical.append(Issue(
            case["column"], case["check"],
            f"value {case['shown']} cannot be parsed as {dtype}", _row_number(case["row"])))
    checked = sorted(
        # A check that could not run on an unparseable column says nothing new.
        (r for r in records if not _is_critical(r["check"]) and r["row"] is not pd.NA
         and r["column"] not in unparseable),
        key=lambda r: (position(r["column"]), r["check_number"], r["check"], r["row"]))
    counted: set[tuple[str, str]] = set()
    for case in checked:
        column, check = case["column"], case["check"]
        bucket = (report.range_violations if check.startswith(_RANGE_CHECKS)
                  else report.domain_violations)
        entry = bucket.setdefault(column, {"check": check, "count": 0, "examples": []})
        if (column, check) not in counted:
            counted.add((column, check))
            entry["count"] += counts[(column, check)]
        if len(entry["examples"]) < _MAX_EXAMPLES:
            entry["examples"].append({"row": _row_number(case["row"]), "value": case["text"]})


def _row_number(label: int) -> int:
    """1-based data row (the header is not counted) of a 0-based file row."""
    return int(label) + 1


def outlier_columns(schema: pa.DataFrameSchema, columns: list[str]) -> list[str]:
    """The schema's numeric columns present in the data: the ones measured for outliers."""
    return [name for name, column in schema.columns.items()
            if name in columns and str(column.dtype).startswith(("float", "int"))]


def tukey_fences(q1: float, q3: float, k: float) -> tuple[float, float]:
    """The low and high fences: k interquartile ranges beyond the quartiles."""
    return q1 - k * (q3 - q1), q3 + k * (q3 - q1)


def _outliers(data: pd.DataFrame, columns: list[str], k: float) -> dict[str, dict[str, float]]:
    """Tukey-fence outliers per numeric column: count and the fences used."""
    found: dict[str, dict[str, float]] = {}
    for column in columns:
        values = pd.to_numeric(data[column], errors="coerce").dropna()
        if values.empty:
            continue
        q1, q3 = values.quantile([0.25, 0.75])
        low, high = tukey_fences(q1, q3, k)
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
        report.critical.append(no_rows_issue())
        return report
    schema = dataset.raw_schema(settings)
    if for_prediction and dataset.target not in raw.columns:
        schema = schema.remove_columns([dataset.target])
    kept, counts = summarise_cases(failure_cases(raw, schema))
    classify(kept, counts, list(schema.columns), report)
    report.missing = {c: int(n) for c, n in raw.isna().sum().items() if n}
    report.duplicates = int(raw.duplicated().sum())
    report.outliers = _outliers(raw, outlier_columns(schema, list(raw.columns)),
                                settings.validation.iqr_factor)
    return report


def validate(raw: pd.DataFrame, dataset: Dataset, settings: Settings, source: str) -> QualityReport:
    """The quality report of `raw`; raises DataValidationError on any critical finding."""
    return checked(build_report(raw, dataset, settings, source))


def checked(report: QualityReport) -> QualityReport:
    """`report`, once it has no critical finding; else DataValidationError carrying it."""
    if report.critical:
        raise DataValidationError(report.first_error(), report.to_dict())
    return report
