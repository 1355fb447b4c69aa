"""The read side of the prediction log: labelled predictions, recent features, request traffic.

Used by monitoring (A/B evaluation, drift) and by the insights views; every function takes the
store's engine and returns a pandas frame (or a count) with timestamps in UTC.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from homeprice.errors import UserInputError
from homeprice.predictionlog.schema import feedback, prediction_logs, utc

LABELLED_COLUMNS = ["prediction_id", "request_id", "ts", "dataset", "variant",
                    "model_version", "served", "prediction", "lower", "upper", "actual_price",
                    "feedback_ts", "client_id", "parent_prediction_id", "mode"]


def count(engine: Engine, dataset: str | None = None) -> int:
    """The number of logged predictions (of one dataset, or all)."""
    query = sa.select(sa.func.count()).select_from(prediction_logs)
    if dataset is not None:
        query = query.where(prediction_logs.c.dataset == dataset)
    with engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


def labelled(engine: Engine, dataset: str, since: datetime | None = None) -> pd.DataFrame:
    """Predictions of `dataset` with an actual price (made since `since`), oldest first.

    A shadow prediction has no feedback of its own (the client never saw its id); it takes
    the actual price given for its parent: the served prediction it shadowed.
    """
    p = prediction_logs
    own = feedback.alias("own_feedback")
    label_columns = (feedback.c.actual_price, feedback.c.ts.label("feedback_ts"))
    columns = [p.c[name] for name in LABELLED_COLUMNS[:10]]
    tail = (p.c.client_id, p.c.parent_prediction_id, p.c.mode)
    direct = (sa.select(*columns, *label_columns, *tail)
              .select_from(p.join(feedback, feedback.c.prediction_id == p.c.prediction_id))
              .where(p.c.dataset == dataset))
    via_parent = (
        sa.select(*columns, *label_columns, *tail)
        .select_from(p.join(feedback,
                            feedback.c.prediction_id == p.c.parent_prediction_id))
        .where(p.c.dataset == dataset, p.c.served == sa.false(),
               ~sa.exists().where(own.c.prediction_id == p.c.prediction_id)))
    if since is not None:
        direct = direct.where(p.c.ts >= utc(since))
        via_parent = via_parent.where(p.c.ts >= utc(since))
    union = sa.union_all(direct, via_parent).subquery()
    query = sa.select(union).order_by(union.c.ts, union.c.prediction_id)
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    frame = pd.DataFrame.from_records([tuple(row) for row in rows], columns=LABELLED_COLUMNS)
    # SQLite hands back naive UTC datetimes, PostgreSQL aware ones: give both as UTC.
    for column in ("ts", "feedback_ts"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    frame["served"] = frame["served"].astype(bool)
    for column in ("prediction", "lower", "upper", "actual_price"):
        frame[column] = frame[column].astype(float)
    return frame


def features_of(engine: Engine, prediction_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The logged request features of each of `prediction_ids` found in the log, by id."""
    p = prediction_logs
    found: dict[str, dict[str, Any]] = {}
    ids = list(prediction_ids)
    # Chunked: SQLite caps the number of bound parameters of one statement.
    for start in range(0, len(ids), 500):
        query = sa.select(p.c.prediction_id, p.c.features).where(
            p.c.prediction_id.in_(ids[start:start + 500]))
        with engine.connect() as connection:
            found.update({pid: orjson.loads(text) for pid, text in connection.execute(query)})
    return found


def recent_features(engine: Engine, dataset: str, limit: int = 5000,
                    variant: str | None = None, since: datetime | None = None) -> pd.DataFrame:
    """The features of the latest `limit` requests (since `since`), one column per feature,
    oldest first.

    Without `variant`, only served predictions count, so a request with a shadow prediction
    is not counted twice.
    """
    if limit < 1:
        raise UserInputError(f"limit must be at least 1, got {limit}")
    query = sa.select(prediction_logs.c.features).where(prediction_logs.c.dataset == dataset)
    if since is not None:
        query = query.where(prediction_logs.c.ts >= utc(since))
    if variant is None:
        query = query.where(prediction_logs.c.served == sa.true())
    else:
        query = query.where(prediction_logs.c.variant == variant)
    query = query.order_by(prediction_logs.c.ts.desc(),
                           prediction_logs.c.prediction_id.desc()).limit(limit)
    with engine.connect() as connection:
        texts = connection.execute(query).scalars().all()
    return pd.DataFrame.from_records([orjson.loads(text) for text in reversed(texts)])


def requests_since(engine: Engine, dataset: str, since: datetime) -> pd.DataFrame:
    """One row per served prediction of `dataset` since `since`: ts (UTC), request_id,
    variant and latency_ms (the request's latency shared out over its items)."""
    p = prediction_logs
    query = (sa.select(p.c.ts, p.c.request_id, p.c.variant, p.c.latency_ms)
             .where(p.c.dataset == dataset, p.c.served == sa.true(), p.c.ts >= utc(since))
             .order_by(p.c.ts))
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    frame = pd.DataFrame.from_records([tuple(row) for row in rows],
                                      columns=["ts", "request_id", "variant", "latency_ms"])
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    frame["latency_ms"] = frame["latency_ms"].astype(float)
    return frame
