"""The prediction log: every answered prediction and its feedback (used by serving, monitoring)."""

# The feedback table is schema.feedback: `predictionlog.feedback` is the module of that name.
from homeprice.predictionlog.database import store_url
from homeprice.predictionlog.migrate import alembic_config
from homeprice.predictionlog.queries import LABELLED_COLUMNS
from homeprice.predictionlog.records import (
    DuplicateFeedback,
    PredictionRecord,
    RequestRecords,
    UnknownPrediction,
)
from homeprice.predictionlog.schema import VERSION_TABLE, metadata, prediction_logs
from homeprice.predictionlog.store import PredictionLog

__all__ = [
    "LABELLED_COLUMNS",
    "VERSION_TABLE",
    "DuplicateFeedback",
    "PredictionLog",
    "PredictionRecord",
    "RequestRecords",
    "UnknownPrediction",
    "alembic_config",
    "metadata",
    "prediction_logs",
    "store_url",
]
