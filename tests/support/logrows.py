"""Prediction log rows of chosen ages, and reading a log's tables back as plain rows."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from homeprice.predictionlog import PredictionLog, PredictionRecord
from homeprice.predictionlog.schema import feedback, prediction_logs, utc


def prediction(dataset: str, ts: datetime, *, served: bool = True,
               parent: PredictionRecord | None = None, index: int = 0) -> PredictionRecord:
    """A served prediction (or, with `parent`, its shadow) with distinct plausible values."""
    price = 200_000.0 + 1_000.5 * index
    return PredictionRecord(
        prediction_id=uuid.uuid4().hex,
        request_id=parent.request_id if parent else uuid.uuid4().hex,
        ts=ts, dataset=dataset, variant="champion" if served else "shadow",
        model_version="1" if served else "2", served=served, prediction=price,
        lower=price * 0.8, upper=price * 1.25,
        features={"rooms": index % 7 + 1, "ocean": "NEAR BAY", "note": f"é {index}"},
        client_id=None if index % 3 == 0 else f"client-{index % 5}",
        latency_ms=None if index % 4 == 0 else 1.25 + index,
        parent_prediction_id=parent.prediction_id if parent else None)


@dataclass
class Seeded:
    """The ids written by `seed`: old and new served predictions, shadows and labels."""

    old: list[str] = field(default_factory=list)
    new: list[str] = field(default_factory=list)
    labelled: list[str] = field(default_factory=list)


def seed(log: PredictionLog, dataset: str, now: datetime, *, old: int, new: int,
         old_age: timedelta = timedelta(days=100), new_age: timedelta = timedelta(days=1),
         label_every: int = 2) -> Seeded:
    """`old` and `new` requests (a served prediction and its shadow each) spread over three
    days around each age; every `label_every`-th served prediction gets feedback."""
    seeded = Seeded()
    labels: list[tuple[str, float, datetime]] = []
    for n in range(old + new):
        is_old = n < old
        age = old_age if is_old else new_age
        ts = now - age - timedelta(days=n % 3, minutes=n)
        served = prediction(dataset, ts, index=n)
        shadow = prediction(dataset, ts, served=False, parent=served, index=n)
        log.enqueue([served, shadow])
        (seeded.old if is_old else seeded.new).extend([served.prediction_id,
                                                      shadow.prediction_id])
        if n % label_every == 0:
            # A late label: some old predictions are labelled within the retention window.
            labels.append((served.prediction_id, 150_000.0 + n, ts + timedelta(days=n % 20)))
            seeded.labelled.append(served.prediction_id)
    assert log.flush(30), "the seed rows were not written"
    for prediction_id, price, received in labels:
        log.add_feedback(prediction_id, price, received)
    return seeded


def table_rows(engine: Engine, table: sa.Table, ids: list[str] | None = None
               ) -> dict[str, dict[str, Any]]:
    """Rows of `table` by prediction id (all, or those of `ids`), timestamps in UTC."""
    query = sa.select(table)
    if ids is not None:
        query = query.where(table.c.prediction_id.in_(ids))
    with engine.connect() as connection:
        rows = [dict(row) for row in connection.execute(query).mappings()]
    for row in rows:
        row["ts"] = utc(row["ts"])
    return {row["prediction_id"]: row for row in rows}


def predictions_and_feedback(engine: Engine, ids: list[str]
                             ) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """The prediction and feedback rows of `ids`."""
    return table_rows(engine, prediction_logs, ids), table_rows(engine, feedback, ids)


def labelled_requests(log: PredictionLog, dataset: str, features: list[dict[str, Any]],
                      served: list[float], actual: list[float], ts: datetime,
                      version: str = "1") -> list[str]:
    """One champion-served request per features row, answered `served[i]` and labelled
    `actual[i]`, each with an unlabelled shadow row (replay must not count); the served ids."""
    ids = []
    for i, row in enumerate(features):
        record = PredictionRecord(
            prediction_id=uuid.uuid4().hex, request_id=uuid.uuid4().hex, ts=ts, dataset=dataset,
            variant="champion", model_version=version, served=True, prediction=served[i],
            lower=served[i] * 0.8, upper=served[i] * 1.2, features=row)
        shadow = PredictionRecord(
            prediction_id=uuid.uuid4().hex, request_id=record.request_id, ts=ts,
            dataset=dataset, variant="shadow", model_version="999", served=False,
            prediction=1.0, lower=0.0, upper=2.0, features=row,
            parent_prediction_id=record.prediction_id)
        log.enqueue([record, shadow])
        ids.append(record.prediction_id)
    assert log.flush(30), "the seed rows were not written"
    for prediction_id, price in zip(ids, actual, strict=True):
        log.add_feedback(prediction_id, price)
    return ids
