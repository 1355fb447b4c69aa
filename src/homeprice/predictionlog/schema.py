"""The prediction log's tables as SQLAlchemy metadata, mirroring the Alembic migrations.

The schema is owned by the migrations in `migrations/` (run by `PredictionLog.start()`); the
tables below are what queries and the writer use and must be kept in step with them (a test
compares the two).
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

# Named constraints let later migrations alter them (SQLite batch mode needs the names).
metadata = sa.MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})

prediction_logs = sa.Table(
    "prediction_logs",
    metadata,
    sa.Column("prediction_id", sa.String(64), primary_key=True),
    # Unbounded strings: a long client-supplied request or client id must not fail a whole batch.
    sa.Column("request_id", sa.String(), nullable=False),
    sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
    sa.Column("dataset", sa.String(), nullable=False),
    sa.Column("variant", sa.String(), nullable=False),
    sa.Column("model_version", sa.String(), nullable=False),
    sa.Column("served", sa.Boolean(), nullable=False),
    sa.Column("prediction", sa.Float(), nullable=False),
    sa.Column("lower", sa.Float(), nullable=False),
    sa.Column("upper", sa.Float(), nullable=False),
    sa.Column("features", sa.Text(), nullable=False),
    sa.Column("client_id", sa.String(), nullable=True),
    sa.Column("latency_ms", sa.Float(), nullable=True),
    # A shadow prediction's served prediction (whose feedback labels it); NULL for served rows.
    sa.Column("parent_prediction_id", sa.String(64), nullable=True),
    # The effective traffic mode (off | split | shadow) it was made under; NULL before 0003.
    sa.Column("mode", sa.String(16), nullable=True),
    sa.Index("ix_prediction_logs_dataset_ts", "dataset", "ts"),
    sa.Index("ix_prediction_logs_request_id", "request_id"),
    sa.Index("ix_prediction_logs_parent_prediction_id", "parent_prediction_id"),
)

# No foreign key to prediction_logs: existence is checked when feedback is recorded, and
# pruning old predictions must not depend on (or cascade into) the labels kept for evaluation.
feedback = sa.Table(
    "feedback",
    metadata,
    sa.Column("prediction_id", sa.String(64), primary_key=True),
    sa.Column("actual_price", sa.Float(), nullable=False),
    sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
)

# The log's own Alembic version table: MLflow keeps its `alembic_version` in a PostgreSQL
# database the log may share with it.
VERSION_TABLE = "homeprice_log_alembic_version"


def utc(moment: datetime) -> datetime:
    """`moment` in UTC; a naive datetime is taken to be UTC already.

    SQLite stores datetimes without an offset, so every value is written (and compared) in UTC.
    """
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
