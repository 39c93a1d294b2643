"""Call sites of log lines and the metadata of each attempt.

A log line made by a ``logging`` record keeps where in the code it was made
(module, file name, line number); lines written to stdout or stderr have none.
An attempt keeps the metadata logged while it ran (a call's metadata merges
all of its attempts').

Revision ID: 0004
Revises: 0003
Create Date: 2025-04-01 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

__all__: list[str] = []

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # Nullable columns without defaults: added without a table rewrite on either database;
    # rows written before the upgrade have no call site and no attempt metadata.
    op.add_column("logs", sa.Column("module", sa.String(), nullable=True))
    op.add_column("logs", sa.Column("filename", sa.String(), nullable=True))
    op.add_column("logs", sa.Column("lineno", sa.Integer(), nullable=True))
    op.add_column("attempts", sa.Column("metadata", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("attempts") as batch:
        batch.drop_column("metadata")
    with op.batch_alter_table("logs") as batch:
        batch.drop_column("lineno")
        batch.drop_column("filename")
        batch.drop_column("module")
