"""Durable memory: versions of keys per scope, the flow bodies' memory journal, compactions.

Revision ID: 0005
Revises: 0004
Create Date: 2025-05-01 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

__all__: list[str] = []

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None

# Frozen copies of the column types: a migration never follows later schema edits.
_ID = sa.String()
_TS = sa.DateTime(timezone=True)
_JSON = sa.Text()


def upgrade() -> None:
    op.create_table(
        "memory_keys",
        sa.Column("scope_type", sa.String(), nullable=False),
        sa.Column("scope", sa.String(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("scope_type", "scope", "key", name="pk_memory_keys"),
    )
    op.create_table(
        "memory_versions",
        sa.Column("scope_type", sa.String(), nullable=False),
        sa.Column("scope", sa.String(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("exec_id", _ID, nullable=True),
        sa.Column("serializer", sa.String(), nullable=False),
        sa.Column("type_path", sa.String(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=True),
        sa.Column("blob_key", sa.String(), nullable=True),
        sa.Column("metadata", _JSON, nullable=False),
        sa.PrimaryKeyConstraint("scope_type", "scope", "key", "version", name="pk_memory_versions"),
    )
    op.create_index("ix_memory_versions_blob_key", "memory_versions", ["blob_key"])
    op.create_table(
        "memory_ops",
        sa.Column("exec_id", _ID, nullable=False),
        sa.Column("op_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("scope_type", sa.String(), nullable=False),
        sa.Column("scope", sa.String(), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("after_seq", sa.Integer(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("result", _JSON, nullable=False),
        sa.PrimaryKeyConstraint("exec_id", "op_id", name="pk_memory_ops"),
        sa.ForeignKeyConstraint(
            ["exec_id"],
            ["executions.exec_id"],
            name="fk_memory_ops_exec_id_executions",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "memory_compactions",
        sa.Column("compaction_id", _ID, nullable=False),
        sa.Column("operation", sa.String(), nullable=False),
        sa.Column("scope_type", sa.String(), nullable=False),
        sa.Column("scope", sa.String(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("sources", _JSON, nullable=False),
        sa.Column("target_key", sa.String(), nullable=True),
        sa.Column("target_version", sa.Integer(), nullable=True),
        sa.Column("instruction", sa.Text(), nullable=True),
        sa.Column("model", sa.String(), nullable=True),
        sa.Column("keys_affected", sa.Integer(), nullable=False),
        sa.Column("versions_deleted", sa.Integer(), nullable=False),
        sa.Column("keep", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("compaction_id", name="pk_memory_compactions"),
    )
    op.create_index(
        "ix_memory_compactions_scope_type_scope_created_at",
        "memory_compactions",
        ["scope_type", "scope", "created_at"],
    )


def downgrade() -> None:
    op.drop_table("memory_compactions")
    op.drop_table("memory_ops")
    op.drop_index("ix_memory_versions_blob_key", table_name="memory_versions")
    op.drop_table("memory_versions")
    op.drop_table("memory_keys")
