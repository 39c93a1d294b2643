"""Execution lifecycle: the cancel flag, captured logs and the index of pending waits.

Revision ID: 0002
Revises: 0001
Create Date: 2025-02-01 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

__all__: list[str] = []

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

# Frozen copies of the column types and the predicate: a migration never follows later schema edits.
_ID = sa.String()
_TS = sa.DateTime(timezone=True)
_PENDING_WAIT = "kind = 'wait' AND status = 'running'"


def upgrade() -> None:
    # A constant default: existing rows get it without a table rewrite on either database.
    op.add_column(
        "executions",
        sa.Column("cancel_requested", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_index(
        "ix_calls_pending_waits",
        "calls",
        ["exec_id", "seq"],
        sqlite_where=sa.text(_PENDING_WAIT),
        postgresql_where=sa.text(_PENDING_WAIT),
    )
    op.create_table(
        "logs",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), sa.Identity(), nullable=False),
        sa.Column("exec_id", _ID, nullable=False),
        sa.Column("call_id", _ID, nullable=True),
        sa.Column("invocation_id", sa.String(), nullable=True),
        sa.Column("ts", _TS, nullable=False),
        sa.Column("level", sa.String(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_logs"),
        sa.ForeignKeyConstraint(
            ["exec_id"],
            ["executions.exec_id"],
            name="fk_logs_exec_id_executions",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_logs_exec_id_seq", "logs", ["exec_id", "seq"])
    op.create_index("ix_logs_exec_id_call_id_seq", "logs", ["exec_id", "call_id", "seq"])


def downgrade() -> None:
    op.drop_table("logs")
    op.drop_index("ix_calls_pending_waits", table_name="calls")
    with op.batch_alter_table("executions") as batch:
        batch.drop_column("cancel_requested")
