"""Data: the latest quality report per dataset (missing values, duplicates, outliers,
violations) and the rows the cleaning step dropped, by reason."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from homeprice.ui import page_setup


def _counts(mapping: dict[str, Any], name: str, count: str = "count") -> pd.Series:
    """A column -> number series from a report section ({col: n} or {col: {count: n}})."""
    values = {k: (v.get(count, 0) if isinstance(v, dict) else v) for k, v in mapping.items()}
    return pd.Series(values, name=name, dtype=float).sort_values(ascending=False)


def _quality(report: dict[str, Any]) -> None:
    """The validation step's findings on the latest raw table."""
    st.subheader("Quality report")
    st.caption(f"{report['source']} · {report['created_at']}")
    status, rows, duplicates, critical = st.columns(4)
    status.metric("Status", report["status"])
    rows.metric("Rows", f"{report['rows']:,}")
    duplicates.metric("Duplicate rows", f"{report['duplicates']:,}")
    critical.metric("Critical findings", f"{len(report['critical']):,}")
    for issue in report["critical"]:
        st.error(f"{issue['column']}: {issue['message']}")
    missing, outliers = st.columns(2)
    missing.caption("Missing values per column")
    if report["missing"]:
        missing.bar_chart(_counts(report["missing"], "missing values"), horizontal=True)
    else:
        missing.success("No missing values.")
    outliers.caption("Outliers per column (beyond the Tukey fences; reported, not dropped)")
    if report["outliers"]:
        outliers.bar_chart(_counts(report["outliers"], "outliers"), horizontal=True)
    else:
        outliers.success("No outliers.")
    violations = [{"column": column, "kind": kind, **{k: v for k, v in found.items()
                                                      if k != "examples"}}
                  for kind in ("range_violations", "domain_violations")
                  for column, found in report[kind].items()]
    if violations:
        st.caption("Range and domain violations (the cleaning step decides what to drop)")
        st.dataframe(pd.DataFrame(violations), hide_index=True)


def _cleaning(report: dict[str, Any]) -> None:
    """Rows in, rows out, and the rows dropped by reason."""
    st.subheader("Cleaning")
    rows_in, dropped, rows_out = st.columns(3)
    rows_in.metric("Rows in", f"{report['rows_in']:,}")
    dropped.metric("Dropped", f"{report['rows_in'] - report['rows_out']:,}")
    rows_out.metric("Rows out", f"{report['rows_out']:,}")
    by_reason = _counts(report["dropped"], "rows dropped")
    st.caption("Rows dropped by reason (each row counted under the first rule it breaks)")
    st.bar_chart(by_reason, horizontal=True)
    if report.get("notes"):
        st.caption("Notes: " + ", ".join(f"{k} = {v}" for k, v in report["notes"].items()))


client, dataset = page_setup.page_start("Data quality",
                                        "The latest validation and cleaning reports")
found = page_setup.optional(client.insight, dataset, "quality")
if found is not None:
    if found["quality"]:
        _quality(found["quality"])
    if found["cleaning"]:
        _cleaning(found["cleaning"])
