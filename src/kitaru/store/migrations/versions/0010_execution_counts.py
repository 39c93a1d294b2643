"""Counting executions per flow and status from an index alone.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 00:00:00
"""

from __future__ import annotations

from alembic import op

__all__: list[str] = []

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_index(
        "ix_executions_flow_name_status_created_at", "executions", ["flow_name", "status", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_executions_flow_name_status_created_at", table_name="executions")
