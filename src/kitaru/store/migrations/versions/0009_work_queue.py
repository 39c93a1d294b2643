"""The work queue of workers: when an execution was queued, and in which queue.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

__all__: list[str] = []

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None

# Frozen copies of the column types: a migration never follows later schema edits.
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("executions", sa.Column("queued_at", _TS, nullable=True))
    op.add_column("executions", sa.Column("queue", sa.String(), nullable=True))
    op.create_index(
        "ix_executions_queued",
        "executions",
        ["queued_at"],
        sqlite_where=sa.text("queued_at IS NOT NULL"),
        postgresql_where=sa.text("queued_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_executions_queued", table_name="executions")
    with op.batch_alter_table("executions") as batch:
        batch.drop_column("queue")
        batch.drop_column("queued_at")
