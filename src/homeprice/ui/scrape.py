"""Error rate over time from the API's /metrics counters.

Refused requests are not in the prediction log (only priced homes are), so the error rate
comes from `homeprice_requests_total{status}`: each refresh of the Monitoring page adds one
sample to a rolling history kept in the browser session, and the error rate is taken between
consecutive samples. The history starts when the page is first opened; the share of
errors since the server started is shown from the first sample on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from prometheus_client.parser import text_string_to_metric_families

REQUESTS = "homeprice_requests"
HISTORY_LIMIT = 360


@dataclass(frozen=True)
class Sample:
    """Request counters of one dataset at one moment."""

    at: datetime
    requests: float
    errors: float


def sample(metrics_text: str, dataset: str, at: datetime) -> Sample:
    """Answered and refused requests of `dataset` since the server started."""
    total = errors = 0.0
    for family in text_string_to_metric_families(metrics_text):
        if family.name != REQUESTS:
            continue
        for metric in family.samples:
            if not metric.name.endswith("_total") or metric.labels.get("dataset") != dataset:
                continue
            total += metric.value
            if not metric.labels.get("status", "").startswith("2"):
                errors += metric.value
    return Sample(at=at, requests=total, errors=errors)


def append(history: list[Sample], new: Sample) -> list[Sample]:
    """The history with `new` added; a counter that went down means the server restarted,
    so the history starts again."""
    if history and new.requests < history[-1].requests:
        history = []
    return [*history, new][-HISTORY_LIMIT:]


def rates(history: list[Sample]) -> pd.DataFrame:
    """The share of refused requests between consecutive samples, indexed by time (0 when
    nothing came in)."""
    rows = []
    for before, after in zip(history, history[1:], strict=False):
        requests = after.requests - before.requests
        errors = after.errors - before.errors
        rows.append({"at": after.at, "error rate": errors / requests if requests else 0.0})
    return pd.DataFrame(rows, columns=["at", "error rate"]).set_index("at")
