"""Link shadow predictions to the served prediction they shadow.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add prediction_logs.parent_prediction_id (nullable) and its index."""
    op.add_column("prediction_logs",
                  sa.Column("parent_prediction_id", sa.String(64), nullable=True))
    op.create_index("ix_prediction_logs_parent_prediction_id", "prediction_logs",
                    ["parent_prediction_id"])


def downgrade() -> None:
    """Remove the shadow link."""
    op.drop_index("ix_prediction_logs_parent_prediction_id", table_name="prediction_logs")
    with op.batch_alter_table("prediction_logs") as batch:
        batch.drop_column("parent_prediction_id")
