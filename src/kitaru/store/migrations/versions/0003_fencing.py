"""Fencing tokens: the epoch of an execution, raised by every claim.

Revision ID: 0003
Revises: 0002
Create Date: 2025-03-01 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

__all__: list[str] = []

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # A constant default: existing rows get epoch 0 without a table rewrite on either database.
    # A runner that held an execution before the upgrade writes without an epoch and is not fenced.
    op.add_column(
        "executions",
        sa.Column("epoch", sa.Integer(), nullable=False, server_default=sa.text("0")),
    )


def downgrade() -> None:
    with op.batch_alter_table("executions") as batch:
        batch.drop_column("epoch")
