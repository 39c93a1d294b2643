"""The SQL schema of the metadata store, one SQLAlchemy Core schema for SQLite and PostgreSQL.

The tables mirror the records of :mod:`kitaru.store.base`; column order
matches the record fields so rows convert positionally (``logs`` starts with
its key, ``seq``, and its reads select the columns in record order). JSON values are
stored as JSON text and timestamps as timezone-aware UTC on both databases.
The migrations beside this module create exactly these tables.

Example:
    >>> from kitaru.store.schema import metadata
    >>> sorted(metadata.tables)[:5]
    ['artifacts', 'attempts', 'calls', 'executions', 'logs']
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from kitaru.store._codecs import json_bind as _json_bind
from kitaru.store._codecs import json_result as _json_result
from kitaru.store._codecs import sqlite_bind_timestamp as _sqlite_bind_timestamp
from kitaru.store._codecs import sqlite_result_timestamp as _sqlite_result_timestamp

__all__ = [
    "api_keys",
    "idempotency_keys",
    "PENDING_WAIT",
    "JsonText",
    "Real",
    "UtcDateTime",
    "artifacts",
    "attempts",
    "calls",
    "executions",
    "llm_usage",
    "logs",
    "memory_compactions",
    "memory_keys",
    "memory_ops",
    "memory_versions",
    "metadata",
]

_UTC = dt.UTC
#: The predicate of a pending wait, as SQL (the partial index's and its query's).
PENDING_WAIT = "kind = 'wait' AND status = 'running'"


class Real(sa.types.TypeDecorator[float]):
    """A floating-point number the drivers convert themselves (a REAL on SQLite, a double
    precision on PostgreSQL): no conversion on either side, also in precompiled statements.

    Example:
        >>> Real().cache_ok
        True
    """

    impl = sa.Float(asdecimal=False)
    cache_ok = True

    def bind_processor(self, dialect: Dialect) -> Any:
        """No conversion: the driver sends Python floats and ints as they are."""
        return None

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        """No conversion: both drivers return floats."""
        return None


class UtcDateTime(sa.types.TypeDecorator[dt.datetime]):
    """A timestamp stored as UTC and always read back as an aware UTC datetime.

    Naive datetimes are taken to be UTC. SQLite keeps no zone, so values are
    written there as naive UTC text in SQLAlchemy's SQLite format
    (``YYYY-MM-DD HH:MM:SS.ffffff``, which sorts by time) and get the zone
    back when read. On SQLite the conversion is done here, by the C
    ``isoformat``/``fromisoformat``, since it runs for every timestamp of
    every checkpoint.

    Example:
        >>> UtcDateTime().cache_ok
        True
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        """Convert ``value`` to UTC (naive UTC on SQLite)."""
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=_UTC)
        elif value.utcoffset():
            value = value.astimezone(_UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        """Return ``value`` as an aware UTC datetime."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=_UTC)
        return value.astimezone(_UTC)

    def bind_processor(self, dialect: Dialect) -> Any:
        """Return the converter of bound values (a direct one on SQLite)."""
        if dialect.name == "sqlite":
            return _sqlite_bind_timestamp
        return super().bind_processor(dialect)

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        """Return the converter of result values (a direct one on SQLite)."""
        if dialect.name == "sqlite":
            return _sqlite_result_timestamp
        return super().result_processor(dialect, coltype)


class JsonText(sa.types.TypeDecorator[Any]):
    """A JSON value stored as compact JSON text; ``None`` is stored as SQL ``NULL``.

    The conversion functions are handed to SQLAlchemy directly (the text
    column needs no driver conversion), since they run for several columns
    of every row.

    Example:
        >>> JsonText().cache_ok
        True
    """

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        """Serialize ``value`` to JSON text."""
        return _json_bind(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        """Parse JSON text."""
        return _json_result(value)

    def bind_processor(self, dialect: Dialect) -> Any:
        """Return the converter of bound values."""
        return _json_bind

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        """Return the converter of result values."""
        return _json_result


#: The schema of the metadata store: every table below, and the naming convention of constraints.
metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

#: One row per flow execution.
executions = sa.Table(
    "executions",
    metadata,
    sa.Column("exec_id", sa.String(), primary_key=True),
    sa.Column("flow_name", sa.String(), nullable=False),
    sa.Column("status", sa.String(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.Column("started_at", UtcDateTime(), nullable=True),
    sa.Column("ended_at", UtcDateTime(), nullable=True),
    sa.Column("metadata", JsonText(), nullable=False),
    sa.Column("failure", JsonText(), nullable=True),
    sa.Column("original_exec_id", sa.String(), nullable=True),
    sa.Column("spec", JsonText(), nullable=False),
    sa.Column("source", JsonText(), nullable=False),
    sa.Column("inputs_artifact_id", sa.String(), nullable=True),
    sa.Column("result_artifact_id", sa.String(), nullable=True),
    sa.Column("runner_id", sa.String(), nullable=True),
    sa.Column("heartbeat_at", UtcDateTime(), nullable=True),
    sa.Column("run_count", sa.Integer(), nullable=False),
    sa.Column("cancel_requested", sa.Boolean(), nullable=False, server_default=sa.false()),
    # The fencing token: raised by every claim; a runner's writes must carry the current one.
    sa.Column("epoch", sa.Integer(), nullable=False, server_default=sa.text("0")),
    # Work for a worker: set while the execution waits in the queue (not claimable before it);
    # a claim clears it. ``queue`` names the queue it waits in (workers may serve one).
    sa.Column("queued_at", UtcDateTime(), nullable=True),
    sa.Column("queue", sa.String(), nullable=True),
    # Lists are ordered newest first; exec_id breaks ties so the index serves the whole ORDER BY.
    sa.Index(None, "created_at", "exec_id"),
    sa.Index(None, "flow_name", "created_at", "exec_id"),
    sa.Index(None, "status", "created_at", "exec_id"),
    # The counts per flow and status (the dashboard's filters) read this index alone.
    sa.Index(None, "flow_name", "status", "created_at"),
    # The queue: only queued executions are in this index, in the order workers take them.
    sa.Index("ix_executions_queued", "queued_at", info={"where": "queued_at IS NOT NULL"}),
)

#: One row per durable call (checkpoint call, wait) of an execution.
calls = sa.Table(
    "calls",
    metadata,
    sa.Column("call_id", sa.String(), primary_key=True),
    sa.Column(
        "exec_id",
        sa.String(),
        sa.ForeignKey("executions.exec_id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("invocation_id", sa.String(), nullable=False),
    sa.Column("seq", sa.Integer(), nullable=False),
    sa.Column("name", sa.String(), nullable=False),
    sa.Column("kind", sa.String(), nullable=False),
    sa.Column("status", sa.String(), nullable=False),
    sa.Column("started_at", UtcDateTime(), nullable=False),
    sa.Column("type", sa.String(), nullable=True),
    sa.Column("ended_at", UtcDateTime(), nullable=True),
    sa.Column("cache_key", sa.String(), nullable=True),
    sa.Column("input_fingerprint", sa.String(), nullable=True),
    sa.Column("output_artifact_id", sa.String(), nullable=True),
    sa.Column("metadata", JsonText(), nullable=False),
    sa.Column("after", JsonText(), nullable=False),
    sa.Column("parent_call_id", sa.String(), nullable=True),
    sa.Column("failure", JsonText(), nullable=True),
    # Kept in the row so every call read has it without counting attempts.
    sa.Column("attempt_count", sa.Integer(), nullable=False),
    sa.UniqueConstraint("exec_id", "invocation_id"),
    sa.Index(None, "cache_key"),
    sa.Index(None, "exec_id", "seq"),
    # Only the waits that still await input: finding them reads no other call, and
    # checkpoint calls never enter this index. Queries must spell the predicate literally.
    # The predicate is kept in ``info`` (the migration creates the index on both databases):
    # a ``postgresql_where=`` here would load the PostgreSQL dialect in every process,
    # ~30 ms of each short-lived command on a SQLite store.
    sa.Index("ix_calls_pending_waits", "exec_id", "seq", info={"where": PENDING_WAIT}),
)

#: One row per attempt at a durable call.
attempts = sa.Table(
    "attempts",
    metadata,
    sa.Column("attempt_id", sa.String(), primary_key=True),
    sa.Column(
        "call_id",
        sa.String(),
        sa.ForeignKey("calls.call_id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("number", sa.Integer(), nullable=False),
    sa.Column("status", sa.String(), nullable=False),
    sa.Column("started_at", UtcDateTime(), nullable=False),
    sa.Column("ended_at", UtcDateTime(), nullable=True),
    sa.Column("failure", JsonText(), nullable=True),
    # What ``kitaru.log()`` recorded while this attempt ran (``NULL``: nothing).
    sa.Column("metadata", JsonText(), nullable=True),
    sa.Index(None, "call_id", "number"),
)

#: One row per stored value (inline data, or the key of a blob in the artifact store).
artifacts = sa.Table(
    "artifacts",
    metadata,
    sa.Column("artifact_id", sa.String(), primary_key=True),
    sa.Column(
        "exec_id",
        sa.String(),
        sa.ForeignKey("executions.exec_id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("name", sa.String(), nullable=False),
    sa.Column("kind", sa.String(), nullable=False),
    sa.Column("serializer", sa.String(), nullable=False),
    sa.Column("type_path", sa.String(), nullable=False),
    sa.Column("size", sa.BigInteger(), nullable=False),
    sa.Column("sha256", sa.String(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("call_id", sa.String(), nullable=True),
    sa.Column("data", sa.LargeBinary(), nullable=True),
    sa.Column("blob_key", sa.String(), nullable=True),
    sa.Column("tags", JsonText(), nullable=False),
    sa.Column("metadata", JsonText(), nullable=False),
    sa.Index(None, "exec_id"),
    sa.Index(None, "call_id"),
)

#: Captured log lines of executions.
logs = sa.Table(
    "logs",
    metadata,
    # The rowid on SQLite (INTEGER PRIMARY KEY), an identity column on PostgreSQL.
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), sa.Identity(), primary_key=True),
    sa.Column(
        "exec_id",
        sa.String(),
        sa.ForeignKey("executions.exec_id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("call_id", sa.String(), nullable=True),
    sa.Column("invocation_id", sa.String(), nullable=True),
    sa.Column("ts", UtcDateTime(), nullable=False),
    sa.Column("level", sa.String(), nullable=False),
    sa.Column("source", sa.String(), nullable=False),
    sa.Column("message", sa.Text(), nullable=False),
    # Where a ``logging`` record was made (stdout and stderr lines have no call site).
    sa.Column("module", sa.String(), nullable=True),
    sa.Column("filename", sa.String(), nullable=True),
    sa.Column("lineno", sa.Integer(), nullable=True),
    sa.Index(None, "exec_id", "seq"),
    sa.Index(None, "exec_id", "call_id", "seq"),
)

#: One row per memory key: its newest version (raised by every write, so concurrent writers of a
#: key take turns on this row and get consecutive versions) and whether that one is a tombstone.
memory_keys = sa.Table(
    "memory_keys",
    metadata,
    sa.Column("scope_type", sa.String(), primary_key=True),
    sa.Column("scope", sa.String(), primary_key=True),
    sa.Column("key", sa.String(), primary_key=True),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("deleted", sa.Boolean(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)

#: Every version of every memory key; not tied to an execution (it outlives the writer's deletion).
memory_versions = sa.Table(
    "memory_versions",
    metadata,
    sa.Column("scope_type", sa.String(), primary_key=True),
    sa.Column("scope", sa.String(), primary_key=True),
    sa.Column("key", sa.String(), primary_key=True),
    sa.Column("version", sa.Integer(), primary_key=True),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("deleted", sa.Boolean(), nullable=False),
    sa.Column("exec_id", sa.String(), nullable=True),
    sa.Column("serializer", sa.String(), nullable=False),
    sa.Column("type_path", sa.String(), nullable=False),
    sa.Column("size", sa.BigInteger(), nullable=False),
    sa.Column("sha256", sa.String(), nullable=False),
    sa.Column("data", sa.LargeBinary(), nullable=True),
    sa.Column("blob_key", sa.String(), nullable=True),
    sa.Column("metadata", JsonText(), nullable=False),
    sa.Index(None, "blob_key"),
)

#: The memory operations of flow bodies, journaled per execution (resume and replay reuse them).
memory_ops = sa.Table(
    "memory_ops",
    metadata,
    sa.Column(
        "exec_id",
        sa.String(),
        sa.ForeignKey("executions.exec_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("op_id", sa.String(), primary_key=True),
    sa.Column("kind", sa.String(), nullable=False),
    sa.Column("scope_type", sa.String(), nullable=False),
    sa.Column("scope", sa.String(), nullable=False),
    sa.Column("subject", sa.String(), nullable=False),
    sa.Column("after_seq", sa.Integer(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("result", JsonText(), nullable=False),
)

#: The audit log of memory maintenance (compactions and purges).
memory_compactions = sa.Table(
    "memory_compactions",
    metadata,
    sa.Column("compaction_id", sa.String(), primary_key=True),
    sa.Column("operation", sa.String(), nullable=False),
    sa.Column("scope_type", sa.String(), nullable=False),
    sa.Column("scope", sa.String(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("sources", JsonText(), nullable=False),
    sa.Column("target_key", sa.String(), nullable=True),
    sa.Column("target_version", sa.Integer(), nullable=True),
    sa.Column("instruction", sa.Text(), nullable=True),
    sa.Column("model", sa.String(), nullable=True),
    sa.Column("keys_affected", sa.Integer(), nullable=False),
    sa.Column("versions_deleted", sa.Integer(), nullable=False),
    sa.Column("keep", sa.Integer(), nullable=True),
    sa.Index(None, "scope_type", "scope", "created_at"),
)

#: One row per model call an execution made live (``kitaru.llm()``): tokens, cost, latency.
llm_usage = sa.Table(
    "llm_usage",
    metadata,
    sa.Column("usage_id", sa.String(), primary_key=True),
    sa.Column(
        "exec_id",
        sa.String(),
        sa.ForeignKey("executions.exec_id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("call_id", sa.String(), nullable=False),
    sa.Column("name", sa.String(), nullable=False),
    sa.Column("model", sa.String(), nullable=False),
    sa.Column("input_tokens", sa.BigInteger(), nullable=True),
    sa.Column("output_tokens", sa.BigInteger(), nullable=True),
    sa.Column("cost_usd", Real(), nullable=True),
    sa.Column("latency_ms", Real(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Index(None, "exec_id"),
)

#: The API keys of a Kitaru server (sha256 digests of their tokens; revoked keys stay).
api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("key_id", sa.String(), primary_key=True),
    sa.Column("name", sa.String(), nullable=False),
    sa.Column("token_hash", sa.String(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("revoked_at", UtcDateTime(), nullable=True),
    sa.Index(None, "token_hash", unique=True),
    sa.Index(None, "name"),
)

#: The kept answers to a server's writes by idempotency key, each committed in its write's
#: own transaction, so that a retried write is applied once by any worker (``response`` is
#: ``NULL`` only in rows an older server left claimed).
idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("key", sa.String(), primary_key=True),
    sa.Column("claimed_at", UtcDateTime(), nullable=False),
    sa.Column("response", sa.LargeBinary(), nullable=True),
    sa.Index(None, "claimed_at"),
)
