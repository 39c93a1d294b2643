"""Initial schema: executions, calls, attempts and artifacts.

Revision ID: 0001
Revises:
Create Date: 2025-01-01 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

__all__: list[str] = []

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

# Frozen copies of the column types: a migration never follows later schema edits.
_ID = sa.String()
_TS = sa.DateTime(timezone=True)
_JSON = sa.Text()


def upgrade() -> None:
    op.create_table(
        "executions",
        sa.Column("exec_id", _ID, nullable=False),
        sa.Column("flow_name", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("started_at", _TS, nullable=True),
        sa.Column("ended_at", _TS, nullable=True),
        sa.Column("metadata", _JSON, nullable=False),
        sa.Column("failure", _JSON, nullable=True),
        sa.Column("original_exec_id", _ID, nullable=True),
        sa.Column("spec", _JSON, nullable=False),
        sa.Column("source", _JSON, nullable=False),
        sa.Column("inputs_artifact_id", _ID, nullable=True),
        sa.Column("result_artifact_id", _ID, nullable=True),
        sa.Column("runner_id", sa.String(), nullable=True),
        sa.Column("heartbeat_at", _TS, nullable=True),
        sa.Column("run_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("exec_id", name="pk_executions"),
    )
    op.create_index("ix_executions_created_at_exec_id", "executions", ["created_at", "exec_id"])
    op.create_index(
        "ix_executions_flow_name_created_at_exec_id", "executions", ["flow_name", "created_at", "exec_id"]
    )
    op.create_index(
        "ix_executions_status_created_at_exec_id", "executions", ["status", "created_at", "exec_id"]
    )

    op.create_table(
        "calls",
        sa.Column("call_id", _ID, nullable=False),
        sa.Column("exec_id", _ID, nullable=False),
        sa.Column("invocation_id", sa.String(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("started_at", _TS, nullable=False),
        sa.Column("type", sa.String(), nullable=True),
        sa.Column("ended_at", _TS, nullable=True),
        sa.Column("cache_key", sa.String(), nullable=True),
        sa.Column("input_fingerprint", sa.String(), nullable=True),
        sa.Column("output_artifact_id", _ID, nullable=True),
        sa.Column("metadata", _JSON, nullable=False),
        sa.Column("after", _JSON, nullable=False),
        sa.Column("parent_call_id", _ID, nullable=True),
        sa.Column("failure", _JSON, nullable=True),
        sa.Column("attempt_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("call_id", name="pk_calls"),
        sa.UniqueConstraint("exec_id", "invocation_id", name="uq_calls_exec_id_invocation_id"),
        sa.ForeignKeyConstraint(
            ["exec_id"],
            ["executions.exec_id"],
            name="fk_calls_exec_id_executions",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_calls_cache_key", "calls", ["cache_key"])
    op.create_index("ix_calls_exec_id_seq", "calls", ["exec_id", "seq"])

    op.create_table(
        "attempts",
        sa.Column("attempt_id", _ID, nullable=False),
        sa.Column("call_id", _ID, nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("started_at", _TS, nullable=False),
        sa.Column("ended_at", _TS, nullable=True),
        sa.Column("failure", _JSON, nullable=True),
        sa.PrimaryKeyConstraint("attempt_id", name="pk_attempts"),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["calls.call_id"],
            name="fk_attempts_call_id_calls",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_attempts_call_id_number", "attempts", ["call_id", "number"])

    op.create_table(
        "artifacts",
        sa.Column("artifact_id", _ID, nullable=False),
        sa.Column("exec_id", _ID, nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("serializer", sa.String(), nullable=False),
        sa.Column("type_path", sa.String(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("call_id", _ID, nullable=True),
        sa.Column("data", sa.LargeBinary(), nullable=True),
        sa.Column("blob_key", sa.String(), nullable=True),
        sa.Column("tags", _JSON, nullable=False),
        sa.Column("metadata", _JSON, nullable=False),
        sa.PrimaryKeyConstraint("artifact_id", name="pk_artifacts"),
        sa.ForeignKeyConstraint(
            ["exec_id"],
            ["executions.exec_id"],
            name="fk_artifacts_exec_id_executions",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_artifacts_exec_id", "artifacts", ["exec_id"])
    op.create_index("ix_artifacts_call_id", "artifacts", ["call_id"])


def downgrade() -> None:
    op.drop_table("artifacts")
    op.drop_table("attempts")
    op.drop_table("calls")
    op.drop_table("executions")
