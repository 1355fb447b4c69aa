"""Create the prediction log: prediction_logs and feedback.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the prediction_logs and feedback tables with their indexes."""
    # Written out in full (not imported from schema.py): a migration is a fixed point in history.
    op.create_table(
        "prediction_logs",
        sa.Column("prediction_id", sa.String(64), nullable=False),
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
        sa.PrimaryKeyConstraint("prediction_id", name="pk_prediction_logs"),
    )
    op.create_index("ix_prediction_logs_dataset_ts", "prediction_logs", ["dataset", "ts"])
    op.create_index("ix_prediction_logs_request_id", "prediction_logs", ["request_id"])
    op.create_table(
        "feedback",
        sa.Column("prediction_id", sa.String(64), nullable=False),
        sa.Column("actual_price", sa.Float(), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("prediction_id", name="pk_feedback"),
    )


def downgrade() -> None:
    """Drop the prediction log tables."""
    op.drop_table("feedback")
    op.drop_index("ix_prediction_logs_request_id", table_name="prediction_logs")
    op.drop_index("ix_prediction_logs_dataset_ts", table_name="prediction_logs")
    op.drop_table("prediction_logs")
