"""Model usage: one row per live model call of an execution (tokens, cost, latency).

Revision ID: 0006
Revises: 0005
Create Date: 2025-06-01 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

__all__: list[str] = []

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None

# Frozen copies of the column types: a migration never follows later schema edits.
_ID = sa.String()
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "llm_usage",
        sa.Column("usage_id", _ID, nullable=False),
        sa.Column("exec_id", _ID, nullable=False),
        sa.Column("call_id", _ID, nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("model", sa.String(), nullable=False),
        sa.Column("input_tokens", sa.BigInteger(), nullable=True),
        sa.Column("output_tokens", sa.BigInteger(), nullable=True),
        sa.Column("cost_usd", sa.Float(), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("usage_id", name="pk_llm_usage"),
        sa.ForeignKeyConstraint(
            ["exec_id"],
            ["executions.exec_id"],
            name="fk_llm_usage_exec_id_executions",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_llm_usage_exec_id", "llm_usage", ["exec_id"])


def downgrade() -> None:
    op.drop_index("ix_llm_usage_exec_id", table_name="llm_usage")
    op.drop_table("llm_usage")
