"""Record the effective traffic mode (off | split | shadow) each prediction was made under.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02

Split-mode A/B statistics must use rows of the split period only; before this column the
mode had to be guessed from the variants present. Rows logged earlier keep NULL (unknown):
`ab evaluate` counts them in shadow analysis through their shadow link and leaves them out of
split analysis.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add prediction_logs.mode (nullable: unknown for rows logged before it)."""
    op.add_column("prediction_logs", sa.Column("mode", sa.String(16), nullable=True))


def downgrade() -> None:
    """Remove the mode column."""
    with op.batch_alter_table("prediction_logs") as batch:
        batch.drop_column("mode")
