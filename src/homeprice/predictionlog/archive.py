"""The prediction log's archive in the lake: pruned rows as Parquet, by table, dataset and day.

Layout under the lake root (beside raw/, clean/ and split/ of `homeprice.data.lake`):
  archive/prediction_logs/<dataset>/<YYYY-MM-DD>/part-<digest>.parquet
  archive/feedback/<dataset>/<YYYY-MM-DD>/part-<digest>.parquet
The day is the UTC day of the prediction; a feedback row sits under its prediction's dataset
and day (so one day's replay finds its labels) and carries that dataset in a column. Feedback
whose prediction was never logged sits under the dataset `_orphaned`, by its own day.

A part file is written to a temporary name, flushed to disk and renamed, then read back and
checked before `retention` deletes a row it holds. Readers take only `*.parquet` names, so a
temporary file left by a crash is never read, and they drop duplicate prediction ids, so a part
written twice by a re-run after a crash is counted once.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import uuid
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from fsspec.implementations.local import LocalFileSystem

from homeprice.data.lake import Lake
from homeprice.errors import LakeError, UserInputError
from homeprice.predictionlog.queries import LABELLED_COLUMNS
from homeprice.predictionlog.schema import utc

if TYPE_CHECKING:
    from homeprice.predictionlog.store import PredictionLog

log = logging.getLogger(__name__)

ZONE = "archive"
PREDICTIONS = "prediction_logs"
FEEDBACK = "feedback"
# Feedback whose prediction is not in the log (its row was dropped by the writer).
ORPHANED = "_orphaned"

_TIMESTAMP = pa.timestamp("us", tz="UTC")
# The tables' columns with fixed Parquet types: a part whose optional columns are all empty
# must still read back as strings and floats, not as nulls.
SCHEMAS: dict[str, pa.Schema] = {
    PREDICTIONS: pa.schema([
        pa.field("prediction_id", pa.string(), nullable=False),
        pa.field("request_id", pa.string()),
        pa.field("ts", _TIMESTAMP),
        pa.field("dataset", pa.string()),
        pa.field("variant", pa.string()),
        pa.field("model_version", pa.string()),
        pa.field("served", pa.bool_()),
        pa.field("prediction", pa.float64()),
        pa.field("lower", pa.float64()),
        pa.field("upper", pa.float64()),
        pa.field("features", pa.string()),
        pa.field("client_id", pa.string()),
        pa.field("latency_ms", pa.float64()),
        pa.field("parent_prediction_id", pa.string()),
        pa.field("mode", pa.string()),
    ]),
    FEEDBACK: pa.schema([
        pa.field("prediction_id", pa.string(), nullable=False),
        pa.field("actual_price", pa.float64()),
        pa.field("ts", _TIMESTAMP),
        # The dataset of the labelled prediction: the feedback table itself has none.
        pa.field("dataset", pa.string()),
    ]),
}
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _table_schema(table: str) -> pa.Schema:
    if table not in SCHEMAS:
        raise UserInputError(f"no archived table {table!r} (known: {', '.join(SCHEMAS)})")
    return SCHEMAS[table]


def _segment(dataset: str) -> str:
    # Dataset names come from logged rows: one must never climb out of its folder.
    if not dataset or "/" in dataset or "\\" in dataset or dataset in (".", ".."):
        raise LakeError(f"dataset name {dataset!r} cannot name an archive folder")
    return dataset


def day_of(moment: datetime) -> str:
    """The archive partition (UTC day, YYYY-MM-DD) of a timestamp."""
    return utc(moment).date().isoformat()


def partition_path(lake: Lake, table: str, dataset: str, day: str) -> str:
    """The folder of one table's archived rows of one dataset and day."""
    _table_schema(table)
    if not _DAY.fullmatch(day):
        raise LakeError(f"archive day {day!r} is not YYYY-MM-DD")
    return "/".join([lake.root.rstrip("/"), ZONE, table, _segment(dataset), day])


def _part_files(lake: Lake, folder: str) -> list[str]:
    """The finished part files under `folder` (recursively), in path order."""
    if not lake.fs.exists(folder):
        return []
    return sorted(path for path in lake.fs.find(folder)
                  if path.endswith(".parquet") and not path.rsplit("/", 1)[-1].startswith("."))


def _read_part(lake: Lake, path: str, columns: Sequence[str] | None = None) -> pa.Table:
    with lake.fs.open(path, "rb") as handle:
        return pq.read_table(handle, columns=list(columns) if columns else None)


def archived_ids(lake: Lake, table: str, dataset: str, day: str) -> set[str]:
    """The prediction ids already archived in one partition (read from its files)."""
    ids: set[str] = set()
    for path in _part_files(lake, partition_path(lake, table, dataset, day)):
        ids.update(_read_part(lake, path, ["prediction_id"]).column(0).to_pylist())
    return ids


def _write_durably(lake: Lake, path: str, payload: bytes) -> None:
    """Write `payload` to `path` atomically: a temporary file, flushed to disk, then renamed."""
    folder = path.rsplit("/", 1)[0]
    lake.fs.makedirs(folder, exist_ok=True)
    temp = f"{path}.tmp-{uuid.uuid4().hex}"
    if isinstance(lake.fs, LocalFileSystem):
        try:
            with open(temp, "wb") as handle:
                handle.write(payload)
                handle.flush()
                # The rows are deleted from the database next: they must be on disk, not in
                # the page cache, when a power cut comes.
                os.fsync(handle.fileno())
            os.replace(temp, path)
        finally:
            Path(temp).unlink(missing_ok=True)
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)  # the rename itself is durable once its folder is synced
        finally:
            os.close(descriptor)
        return
    # An object store acknowledges a write only once the object is stored durably.
    try:
        with lake.fs.open(temp, "wb") as handle:
            handle.write(payload)
        lake.fs.mv(temp, path)
    finally:
        if lake.fs.exists(temp):
            lake.fs.rm(temp)


def write_part(lake: Lake, table: str, dataset: str, day: str,
               rows: Sequence[dict[str, Any]]) -> str:
    """Archive `rows` (of `table`, one dataset and day) as one new part file; its lake URL.

    The file is read back before returning: LakeError unless it holds exactly these ids.
    """
    schema = _table_schema(table)
    data = pa.Table.from_pylist([_normalised(row, schema) for row in rows], schema=schema)
    buffer = io.BytesIO()
    pq.write_table(data, buffer)
    ids = [row["prediction_id"] for row in rows]
    # Named by content: a re-run archiving the same rows again finds and keeps one file.
    digest = hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()[:24]
    path = f"{partition_path(lake, table, dataset, day)}/part-{digest}.parquet"
    _write_durably(lake, path, buffer.getvalue())
    back = _read_part(lake, path, ["prediction_id"]).column(0).to_pylist()
    if len(back) != len(ids) or set(back) != set(ids):
        raise LakeError(f"archive file {lake.url_of(path)} holds {len(back)} rows, "
                        f"expected {len(ids)}: nothing was deleted")
    return lake.url_of(path)


def _normalised(row: dict[str, Any], schema: pa.Schema) -> dict[str, Any]:
    """A database row with the archive's columns; timestamps in UTC (SQLite's are naive)."""
    out = {name: row.get(name) for name in schema.names}
    if out.get("ts") is not None:
        out["ts"] = utc(out["ts"])
    return out


def _with_columns(part: pa.Table, schema: pa.Schema) -> pa.Table:
    """`part` with the schema's columns; one archived before a column existed (`mode`, added
    by migration 0003) gets it as nulls, as the log's own old rows have."""
    for name in schema.names:
        if name not in part.column_names:
            part = part.append_column(name, pa.nulls(len(part), schema.field(name).type))
    return part.select(schema.names).cast(schema)


def _days_between(day: str, since: datetime | None, until: datetime | None) -> bool:
    moment = date.fromisoformat(day)
    return ((since is None or moment >= utc(since).date())
            and (until is None or moment <= utc(until).date()))


def read_archive(lake: Lake, table: str, dataset: str | None = None,
                 since: datetime | None = None, until: datetime | None = None) -> pd.DataFrame:
    """Archived rows of `table` (of one dataset, or all) as a DataFrame, oldest first.

    `since` / `until` bound the prediction's time: predictions made in [since, until), and
    the feedback rows filed under those days. Each prediction id appears once.
    """
    schema = _table_schema(table)
    base = "/".join([lake.root.rstrip("/"), ZONE, table])
    folder = base if dataset is None else f"{base}/{_segment(dataset)}"
    parts = []
    for path in _part_files(lake, folder):
        relative = path[len(base) + 1:].split("/")
        if len(relative) != 3 or not _DAY.fullmatch(relative[1]):
            continue  # not a part of this layout (never written by `write_part`)
        if _days_between(relative[1], since, until):
            parts.append(_with_columns(_read_part(lake, path), schema))
    frame = pa.concat_tables(parts).to_pandas() if parts else schema.empty_table().to_pandas()
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    if table == PREDICTIONS:
        if since is not None:
            frame = frame[frame["ts"] >= pd.Timestamp(utc(since))]
        if until is not None:
            frame = frame[frame["ts"] < pd.Timestamp(utc(until))]
    frame = frame.drop_duplicates("prediction_id", keep="first")
    return frame.sort_values(["ts", "prediction_id"], kind="stable").reset_index(drop=True)


def archived_labelled(lake: Lake, dataset: str, since: datetime | None = None) -> pd.DataFrame:
    """Archived predictions of `dataset` with their actual price, as `queries.labelled` gives
    the live ones (same columns; a shadow prediction takes its parent's label)."""
    predictions = read_archive(lake, PREDICTIONS, dataset, since)
    labels = pd.concat([read_archive(lake, FEEDBACK, dataset),
                        read_archive(lake, FEEDBACK, ORPHANED)], ignore_index=True)
    labels = (labels.drop_duplicates("prediction_id")
              .rename(columns={"ts": "feedback_ts"})[["prediction_id", "actual_price",
                                                      "feedback_ts"]])
    direct = predictions.merge(labels, on="prediction_id")
    has_own = predictions["prediction_id"].isin(labels["prediction_id"])
    shadows = predictions[~predictions["served"].astype(bool) & ~has_own]
    via_parent = shadows.merge(labels.rename(columns={"prediction_id": "parent_prediction_id"}),
                               on="parent_prediction_id")
    frame = pd.concat([direct, via_parent], ignore_index=True)[LABELLED_COLUMNS]
    return _labelled_types(frame)


def _labelled_types(frame: pd.DataFrame) -> pd.DataFrame:
    for column in ("ts", "feedback_ts"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    frame["served"] = frame["served"].astype(bool)
    for column in ("prediction", "lower", "upper", "actual_price"):
        frame[column] = frame[column].astype(float)
    return frame.sort_values(["ts", "prediction_id"], kind="stable").reset_index(drop=True)


def labelled_history(prediction_log: PredictionLog, lake: Lake, dataset: str,
                     since: datetime | None = None) -> pd.DataFrame:
    """Labelled predictions of `dataset` from the archive and the live log together.

    For evaluations whose window reaches past the retention age; a row both archived and
    still live (a prune interrupted between archive and delete) is taken from the log.
    """
    live = prediction_log.labelled(dataset, since)
    archived = archived_labelled(lake, dataset, since)
    frames = [frame for frame in (archived, live) if len(frame)]
    if not frames:
        return live
    both = pd.concat(frames, ignore_index=True).drop_duplicates("prediction_id", keep="last")
    return _labelled_types(both.reset_index(drop=True))
