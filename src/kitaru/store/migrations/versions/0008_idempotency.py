"""Idempotency keys of a Kitaru server: the kept answer to a write, shared by its workers.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

__all__: list[str] = []

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None

# Frozen copies of the column types: a migration never follows later schema edits.
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("claimed_at", _TS, nullable=False),
        sa.Column("response", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("key", name="pk_idempotency_keys"),
    )
    op.create_index("ix_idempotency_keys_claimed_at", "idempotency_keys", ["claimed_at"])


def downgrade() -> None:
    op.drop_index("ix_idempotency_keys_claimed_at", table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
