"""Feedback: the actual price of a logged prediction, checked and recorded once."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from homeprice.errors import UserInputError
from homeprice.predictionlog import schema
from homeprice.predictionlog.records import DuplicateFeedback, UnknownPrediction


def checked_price(actual_price: Any) -> float:
    """`actual_price` as a float, or UserInputError naming the field."""
    problem = "must be a finite, non-negative number"
    if isinstance(actual_price, bool):
        raise UserInputError(f"actual_price {problem}, got {actual_price!r}")
    try:
        value = float(actual_price)
    except (TypeError, ValueError) as exc:
        raise UserInputError(f"actual_price {problem}, got {actual_price!r}") from exc
    if not math.isfinite(value) or value < 0:
        raise UserInputError(f"actual_price {problem}, got {actual_price!r}")
    return value


def prediction_dataset(engine: Engine, prediction_id: str) -> str | None:
    """The dataset whose prediction `prediction_id` is, or None while no row has that id."""
    with engine.connect() as connection:
        return connection.execute(
            sa.select(schema.prediction_logs.c.dataset)
            .where(schema.prediction_logs.c.prediction_id == prediction_id)).scalar_one_or_none()


def record_feedback(engine: Engine, prediction_id: str, price: float, received: datetime, *,
                    queued: bool) -> None:
    """Insert the feedback row; UnknownPrediction or DuplicateFeedback when it cannot be.

    `queued`: the prediction is still in the writer's queue, so it is known without its row.
    """
    with engine.begin() as connection:
        # A prediction still queued (the writer is slow) is known even without its row.
        if not queued:
            known = connection.execute(
                sa.select(schema.prediction_logs.c.prediction_id)
                .where(schema.prediction_logs.c.prediction_id == prediction_id)).first()
            if known is None:
                raise UnknownPrediction(f"unknown prediction_id {prediction_id!r}")
        try:
            connection.execute(schema.feedback.insert().values(
                prediction_id=prediction_id, actual_price=price, ts=received))
        except IntegrityError as exc:
            raise DuplicateFeedback(
                f"feedback for prediction_id {prediction_id!r} was already recorded") from exc
