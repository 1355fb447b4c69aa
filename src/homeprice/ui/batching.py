"""Batch pricing through the API: a CSV in the dataset's source format -> priced rows and the
rows the API rejected, with its reason.

A batch request is all-or-nothing at the API (one bad home fails it with 422 naming the
instance), so a refused chunk is sent again without the homes it named.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from homeprice.ui.client import ApiClient, ApiError
from homeprice.ui.forms import FieldSpec

PRICE_COLUMNS = ("price", "lower", "upper", "model_version", "variant", "prediction_id")


@dataclass
class BatchOutcome:
    """What came back for an uploaded file."""

    priced: pd.DataFrame
    """The uploaded rows the API priced, with PRICE_COLUMNS appended."""
    rejected: pd.DataFrame
    """row (1-based data row of the file) and reason, per refused row."""
    ignored_columns: list[str] = field(default_factory=list)
    """Uploaded columns the API does not take (e.g. the actual price), kept in the output."""


def read_csv(content: bytes, name: str) -> pd.DataFrame:
    """The uploaded table; a file that is not a CSV with rows is a clear error."""
    try:
        frame = pd.read_csv(io.BytesIO(content))
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as error:
        raise ValueError(f"{name} is not a readable CSV file: {error}") from None
    if frame.empty:
        raise ValueError(f"{name} has no data rows")
    return frame


def request_rows(frame: pd.DataFrame, specs: list[FieldSpec]) -> tuple[list[dict[str, Any]],
                                                                         list[str]]:
    """One JSON home per row (empty cells left out) and the ignored columns; missing required
    columns are an error naming them."""
    names = [spec.name for spec in specs]
    missing = [spec.name for spec in specs if spec.required and spec.name not in frame.columns]
    if missing:
        raise ValueError(f"the file lacks required column(s) {', '.join(missing)} "
                         f"(expected columns: {', '.join(names)})")
    used = [c for c in frame.columns if c in names]
    # object dtype turns numpy scalars into Python numbers, which JSON can carry.
    values = frame[used].astype(object).where(frame[used].notna(), None)
    rows = [{k: v for k, v in row.items() if v is not None}
            for row in values.to_dict(orient="records")]
    return rows, [c for c in frame.columns if c not in names]


def _reasons(errors: list[dict[str, Any]]) -> dict[int, str]:
    """Instance index -> the API's reasons, from a 422's error locations."""
    found: dict[int, list[str]] = {}
    for entry in errors:
        loc = list(entry.get("loc", ()))
        if "instances" not in loc or loc.index("instances") + 1 >= len(loc):
            continue
        at = loc.index("instances") + 1
        field_name = ".".join(str(p) for p in loc[at + 1:])
        message = str(entry.get("msg", "invalid"))
        found.setdefault(int(loc[at]), []).append(
            f"{field_name}: {message}" if field_name else message)
    return {index: "; ".join(reasons) for index, reasons in found.items()}


def price_chunk(client: ApiClient, dataset: str, rows: list[tuple[int, dict[str, Any]]]
                ) -> tuple[list[tuple[int, dict[str, Any]]], list[tuple[int, str]]]:
    """Price (row number, home) pairs; return the answers and the rejected rows' reasons."""
    pending, rejected = list(rows), []
    while pending:
        try:
            answers = client.predict_many(dataset, [home for _, home in pending])
        except ApiError as error:
            bad = _reasons(error.errors) if error.status == 422 else {}
            if not bad:
                raise  # not about particular homes: the page says what the API said
            rejected += [(pending[i][0], reason) for i, reason in sorted(bad.items())]
            pending = [p for i, p in enumerate(pending) if i not in bad]
            continue
        priced = zip(pending, answers, strict=True)  # the API answers every instance sent
        return [(number, answer) for (number, _), answer in priced], rejected
    return [], rejected


def price_frame(client: ApiClient, dataset: str, frame: pd.DataFrame, specs: list[FieldSpec],
                chunk_rows: int, progress: Callable[[int, int], None] | None = None
                ) -> BatchOutcome:
    """Price every row of `frame` in chunks of `chunk_rows`, reporting (done, total)."""
    homes, ignored = request_rows(frame, specs)
    numbered = list(enumerate(homes, start=1))
    answers: list[tuple[int, dict[str, Any]]] = []
    rejected: list[tuple[int, str]] = []
    for start in range(0, len(numbered), chunk_rows):
        priced, refused = price_chunk(client, dataset, numbered[start:start + chunk_rows])
        answers += priced
        rejected += refused
        if progress is not None:
            progress(min(start + chunk_rows, len(numbered)), len(numbered))
    positions = [number - 1 for number, _ in answers]
    priced_frame = frame.iloc[positions].reset_index(drop=True)
    for column in PRICE_COLUMNS:
        priced_frame[column] = [answer[column] for _, answer in answers]
    return BatchOutcome(priced=priced_frame,
                        rejected=pd.DataFrame(rejected, columns=["row", "reason"]),
                        ignored_columns=ignored)
