"""Every statement of the SQL store, written once for both databases and compiled per store.

Parameters are named after their columns in inserts and ``b_*`` everywhere
else. Upserts use ``INSERT ... ON CONFLICT DO UPDATE``, which SQLite and
PostgreSQL spell the same way. Statements whose filters vary are compiled
once per combination of filters.
"""

from __future__ import annotations

from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Dialect

from kitaru._types import COPY_SEPARATOR as _COPY_SEPARATOR
from kitaru._types import CallStatus
from kitaru.store.schema import (
    PENDING_WAIT,
    JsonText,
    UtcDateTime,
    api_keys,
    artifacts,
    attempts,
    calls,
    executions,
    idempotency_keys,
    llm_usage,
    logs,
    memory_compactions,
    memory_keys,
    memory_ops,
    memory_versions,
)
from kitaru.store.sql._listing import (
    count_executions_statement,
)
from kitaru.store.sql._listing import (
    list_executions_statement as _list_executions,
)
from kitaru.store.sql._paging import call_page_artifacts_statement, list_calls_statement
from kitaru.store.sql._prepared import Prepared
from kitaru.store.sql._queue_statements import claim_queued, enqueue
from kitaru.store.sql._statement_parts import (
    LOG_KEYS as _LOG_KEYS,
)
from kitaru.store.sql._statement_parts import (
    LOG_RECORD as _LOG_RECORD,
)
from kitaru.store.sql._statement_parts import (
    START_VALUES as _START_VALUES,
)
from kitaru.store.sql._statement_parts import (
    UPSERT_COLUMNS as _UPSERT_COLUMNS,
)
from kitaru.store.sql._statement_parts import (
    JsonObject as _JsonObject,
)
from kitaru.store.sql._statement_parts import (
    bind as _p,
)
from kitaru.store.sql._statement_parts import (
    expected_statuses as _expected,
)
from kitaru.store.sql._statement_parts import (
    matching_ids as _matching,
)
from kitaru.store.sql._statement_parts import (
    sql_text as _sql_text,
)
from kitaru.store.sql._statement_parts import (
    usage_totals as _usage_totals,
)
from kitaru.store.sql._usage_statements import usage_summary

__all__ = ["Statements"]

E, C, A, R, L, U = executions, calls, attempts, artifacts, logs, llm_usage
MK, MV, MO, MC = memory_keys, memory_versions, memory_ops, memory_compactions


class Statements:
    """The prebuilt statements of one store.

    Args:
        dialect: The store engine's dialect, after a first connect.
    """

    def __init__(self, dialect: Dialect) -> None:
        self._dialect = dialect
        self._variants: dict[tuple[Any, ...], Prepared] = {}
        prepare = self._prepare
        self.insert_execution = prepare(E.insert(), column_keys=E.c.keys())
        self.insert_artifact = prepare(R.insert(), column_keys=R.c.keys())
        self.insert_attempt = prepare(A.insert(), column_keys=A.c.keys())
        self.get_execution = prepare(sa.select(E).where(E.c.exec_id == _p("b_exec_id")))
        self.exact_exec_id = prepare(sa.select(E.c.exec_id).where(E.c.exec_id == _p("b_exec_id")))
        # LIKE narrows the rows; substr keeps the match case-sensitive on every database.
        self.matching_exec_ids = prepare(_matching(E.c.exec_id))
        self.matching_artifact_ids = prepare(_matching(R.c.artifact_id))
        now = _p("b_now", UtcDateTime())
        self.start_execution = prepare(
            E.update().where(E.c.exec_id == _p("b_exec_id")).values(**_START_VALUES).returning(*E.c)
        )
        self.heartbeat = prepare(
            E.update()
            .where(E.c.exec_id == _p("b_exec_id"), E.c.runner_id == _p("b_runner_id", sa.String()))
            .values(heartbeat_at=now)
            .returning(*E.c)
        )
        self.request_cancel = prepare(
            E.update()
            .where(E.c.exec_id == _p("b_exec_id"))
            .values(cancel_requested=True, updated_at=now)
            .returning(*E.c)
        )
        self.finish_execution = prepare(
            E.update()
            .where(E.c.exec_id == _p("b_exec_id"))
            .values(
                status=_p("b_status", sa.String()),
                updated_at=now,
                ended_at=sa.func.coalesce(_p("b_ended_at", UtcDateTime()), E.c.ended_at),
                failure=_p("b_failure", JsonText()),
                result_artifact_id=sa.func.coalesce(_p("b_result_id", sa.String()), E.c.result_artifact_id),
            )
        )
        # The fencing check of a runner's write, the first statement of its transaction. The row
        # stays locked until the commit, so no claim can come between the check and the write:
        # as an UPDATE locks it (FOR NO KEY UPDATE, which lets the foreign-key checks of other
        # inserts pass) for writes that change the execution's row, shared for the others (their
        # calls, attempts and artifacts), so concurrent calls of one runner do not queue. On
        # SQLite the write transaction holds the database's write lock anyway.
        epoch_of = sa.select(E.c.epoch).where(E.c.exec_id == _p("b_exec_id"))
        self.lock_epoch = prepare(epoch_of.with_for_update(key_share=True))
        self.share_epoch = prepare(epoch_of.with_for_update(read=True))
        call_exec = sa.select(C.c.exec_id).where(C.c.call_id == _p("b_call_id")).scalar_subquery()
        self.share_call_epoch = prepare(
            sa.select(E.c.exec_id, E.c.epoch).where(E.c.exec_id == call_exec).with_for_update(read=True)
        )
        self.lock_execution_metadata = prepare(
            sa.select(E.c.metadata).where(E.c.exec_id == _p("b_exec_id")).with_for_update()
        )
        self.set_execution_metadata = prepare(
            E.update()
            .where(E.c.exec_id == _p("b_exec_id"))
            .values(metadata=_p("b_metadata", JsonText()), updated_at=now)
        )

        self.load_journal = prepare(
            sa.select(C, R)
            .select_from(C.outerjoin(R, R.c.artifact_id == C.c.output_artifact_id))
            .where(C.c.exec_id == _p("b_exec_id"))
            .order_by(C.c.seq, C.c.call_id)
        )
        self.count_executions = prepare(count_executions_statement(since=False))
        self.count_executions_since = prepare(count_executions_statement(since=True))
        self.count_calls = prepare(
            sa.select(sa.func.count()).select_from(C).where(C.c.exec_id == _p("b_exec_id", sa.String()))
        )
        if dialect.name == "sqlite":
            insert: Any = sqlite.insert
        else:
            from sqlalchemy.dialects import postgresql  # only PostgreSQL stores pay for it

            insert = postgresql.insert
        keys = C.c.keys()
        self.upsert_running_call = prepare(
            self._upsert_call(insert, count_attempt=True).returning(C.c.call_id), column_keys=keys
        )
        self.upsert_cached_call = prepare(
            self._upsert_call(insert, count_attempt=False).returning(C.c.call_id), column_keys=keys
        )
        # A wait's call, with a new attempt or re-entered without one; its metadata comes back to
        # be merged. (Two attributes, not a dict: the SQLite plans are generated per attribute.)
        self.upsert_wait_call = prepare(
            self._upsert_call(insert, count_attempt=True).returning(C.c.call_id, C.c.metadata),
            column_keys=keys,
        )
        self.reenter_wait_call = prepare(
            self._upsert_call(insert, count_attempt=False).returning(C.c.call_id, C.c.metadata),
            column_keys=keys,
        )
        ended_at = _p("b_ended_at", UtcDateTime())
        failure = _p("b_failure", JsonText())
        status = _p("b_status", sa.String())
        self.end_attempt = prepare(
            A.update()
            .where(A.c.attempt_id == _p("b_attempt_id"), A.c.call_id == _p("b_call_id"))
            .values(status=status, ended_at=ended_at, failure=failure)
        )
        self.complete_call = prepare(
            C.update()
            .where(C.c.call_id == _p("b_call_id"))
            .values(
                status=status,
                ended_at=ended_at,
                failure=failure,
                output_artifact_id=_p("b_output_id", sa.String()),
            )
        )
        self.fail_call = prepare(
            C.update()
            .where(C.c.call_id == _p("b_call_id"))
            .values(status=status, ended_at=ended_at, failure=failure)
        )
        self.insert_calls = prepare(C.insert(), column_keys=keys, many=True)
        # A replay's copies of the done calls of its source before the frontier, made in the
        # database in one statement: the calls' columns never pass through Python. A copy's id
        # is ``<replay exec id>:<source call id>``; the marker joins an empty metadata here,
        # other metadata is merged by the store afterwards.
        source_calls = (
            C.c.exec_id == _p("b_source_exec_id", sa.String()),
            C.c.seq < _p("b_before_seq", sa.Integer()),
            C.c.status.in_([_sql_text(CallStatus.COMPLETED.value), _sql_text(CallStatus.CACHED.value)]),
        )
        key = _sql_text
        marker = _JsonObject(
            key("kitaru"),
            _JsonObject(
                key("replayed_from"), _JsonObject(key("exec_id"), C.c.exec_id, key("call_id"), C.c.call_id)
            ),
        )
        empty = sa.literal_column("'{}'", sa.Text())
        target = _p("b_exec_id", sa.String())
        copied_from = {
            "call_id": target + _sql_text(_COPY_SEPARATOR) + C.c.call_id,
            "exec_id": target,
            "metadata": sa.case(
                (sa.type_coerce(C.c.metadata, sa.Text()) == empty, sa.cast(marker, sa.Text())),
                else_=C.c.metadata,
            ),
            "attempt_count": sa.literal_column("0", sa.Integer()),
        }
        self.copy_calls = prepare(
            C.insert().from_select(
                list(keys),
                sa.select(*(copied_from.get(name, C.c[name]) for name in keys)).where(*source_calls),
            )
        )
        # The executions owning the outputs the copies will link (PostgreSQL locks them, see
        # ``StoreCore._linkable_artifacts``).
        self.share_copied_output_owners = prepare(
            sa.select(E.c.exec_id)
            .where(
                E.c.exec_id.in_(
                    sa.select(R.c.exec_id)
                    .select_from(C.join(R, R.c.artifact_id == C.c.output_artifact_id))
                    .where(*source_calls)
                )
            )
            .with_for_update(read=True, key_share=True, of=E)
        )
        self.copied_metadata = prepare(
            sa.select(C.c.call_id, C.c.metadata)
            .where(*source_calls, sa.type_coerce(C.c.metadata, sa.Text()) != empty)
            .order_by(C.c.seq)
        )
        self.uncopy_call = prepare(
            C.delete().where(C.c.exec_id == target, C.c.invocation_id == _p("b_invocation_id", sa.String()))
        )
        self.exact_call_id = prepare(sa.select(C.c.call_id).where(C.c.call_id == _p("b_call_id")))
        pending_wait = sa.text(PENDING_WAIT)
        # The predicate is literal SQL, so both databases answer from the partial index.
        self.pending_waits = prepare(
            sa.select(C).where(C.c.exec_id == _p("b_exec_id"), pending_wait).order_by(C.c.seq, C.c.call_id)
        )
        # Deciding an input race: only the first resolver still finds the wait pending.
        self.answer_wait = prepare(
            C.update()
            .where(C.c.call_id == _p("b_call_id"), pending_wait)
            .values(
                status=CallStatus.COMPLETED.value,
                ended_at=ended_at,
                failure=None,
                output_artifact_id=sa.func.coalesce(_p("b_output_id", sa.String()), C.c.output_artifact_id),
            )
            .returning(C.c.metadata)
        )
        self.complete_running_attempts = prepare(
            A.update()
            .where(A.c.call_id == _p("b_call_id"), A.c.status == CallStatus.RUNNING.value)
            .values(status=CallStatus.COMPLETED.value, ended_at=ended_at)
        )
        # A cache source: a completed call that ran (a copy seeded into a replay has no
        # attempts and no saved artifacts of its own), newest first, not older than
        # ``b_not_before`` when that is given.
        self.find_cached_call = prepare(
            sa.select(C, R)
            .select_from(C.join(R, R.c.artifact_id == C.c.output_artifact_id))
            .where(
                C.c.cache_key == _p("b_cache_key"),
                C.c.status == CallStatus.COMPLETED.value,
                C.c.attempt_count > 0,
                C.c.exec_id != _p("b_exec_id"),
                C.c.ended_at >= sa.func.coalesce(_p("b_not_before", UtcDateTime()), C.c.ended_at),
            )
            .order_by(C.c.ended_at.desc(), C.c.call_id.desc())
            .limit(1)
        )
        # What a cache hit copies from its source call: the artifacts it saved (not its output) ...
        self.saved_by_call = prepare(
            sa.select(R)
            .where(R.c.call_id == _p("b_call_id"), R.c.artifact_id != _p("b_output_id", sa.String()))
            .order_by(R.c.created_at, R.c.artifact_id)
        )
        # ... and its log lines, in their order.
        copied = (L.c.ts, L.c.level, L.c.source, L.c.message, L.c.module, L.c.filename, L.c.lineno)
        self.copy_call_logs = prepare(
            L.insert().from_select(
                list(_LOG_KEYS),
                sa.select(
                    _p("b_exec_id", sa.String()),
                    _p("b_call_id", sa.String()),
                    _p("b_invocation_id", sa.String()),
                    *copied,
                )
                .where(L.c.exec_id == _p("b_source_exec_id"), L.c.call_id == _p("b_source_call_id"))
                .order_by(L.c.seq),
            )
        )
        self.lock_call_metadata = prepare(
            sa.select(C.c.metadata).where(C.c.call_id == _p("b_call_id")).with_for_update()
        )
        self.set_call_metadata = prepare(
            C.update().where(C.c.call_id == _p("b_call_id")).values(metadata=_p("b_metadata", JsonText()))
        )
        the_attempt = sa.and_(A.c.attempt_id == _p("b_attempt_id"), A.c.call_id == _p("b_call_id"))
        self.lock_attempt_metadata = prepare(sa.select(A.c.metadata).where(the_attempt).with_for_update())
        self.set_attempt_metadata = prepare(
            A.update().where(the_attempt).values(metadata=_p("b_metadata", JsonText()))
        )

        self._retention_statements()
        self._memory_statements(insert)
        self._api_key_statements()
        self._idempotency_statements(insert)
        self.insert_llm_usage = prepare(U.insert(), column_keys=U.c.keys())
        self.llm_usage_totals = prepare(_usage_totals(U.c.exec_id == _p("b_exec_id", sa.String())))
        self.list_llm_usage = prepare(
            sa.select(U)
            .where(U.c.exec_id == _p("b_exec_id", sa.String()))
            .order_by(U.c.created_at, U.c.usage_id)
        )
        self.summarize_llm_usage = prepare(usage_summary())

        self.insert_logs = prepare(L.insert(), column_keys=_LOG_KEYS, many=True)
        # Taken before appending logs: appenders of one execution take turns, so the database
        # numbers their lines (seq) in the order they become visible. FOR NO KEY UPDATE on
        # PostgreSQL (inserts referencing the row are not held up); SQLite writers take turns anyway.
        self.lock_execution_logs = prepare(
            sa.select(E.c.exec_id).where(E.c.exec_id == _p("b_exec_id")).with_for_update(key_share=True)
        )
        self.get_artifact = prepare(sa.select(R).where(R.c.artifact_id == _p("b_artifact_id")))
        # The same columns as the table, with the inline data left out.
        self._artifact_rows = sa.select(
            *(sa.null().label("data") if column.name == "data" else column for column in R.c)
        )

    def _json_values(self, name: str) -> Any:
        """``SELECT value FROM <the elements of the JSON list bound as name>``: a list of any
        length in one bind (the statement stays the same for every length)."""
        bind = _p(name, JsonText())
        if self._dialect.name == "sqlite":
            values = sa.func.json_each(bind).table_valued("value")
        else:
            values = (
                sa.func.json_array_elements_text(sa.cast(bind, sa.JSON()))
                .table_valued("value")
                .render_derived()
            )
        return sa.select(values.c.value)

    def _retention_statements(self) -> None:
        """Deleting executions with their rows, choosing what a retention policy deletes,
        and the row locks that order deletions against writes that link other executions'
        artifacts (:mod:`kitaru.store.sql._retention`)."""
        prepare = self._prepare
        ids = self._json_values("b_exec_ids")
        # A deletion locks the rows of the executions it deletes before it looks for links
        # into them; a write that links another execution's artifact first takes a key-share
        # lock on that execution's row (PostgreSQL; SQLite's writers take turns).
        self.lock_doomed_executions = prepare(
            sa.select(E.c.exec_id, E.c.status, E.c.runner_id)
            .where(E.c.exec_id.in_(ids))
            .with_for_update(of=E)
        )
        self.share_artifact_owners = prepare(
            sa.select(E.c.exec_id)
            .where(
                E.c.exec_id.in_(
                    sa.select(R.c.exec_id).where(R.c.artifact_id.in_(self._json_values("b_artifact_ids")))
                )
            )
            .with_for_update(read=True, key_share=True, of=E)
        )
        self.existing_artifacts = prepare(
            sa.select(R.c.artifact_id).where(R.c.artifact_id.in_(self._json_values("b_artifact_ids")))
        )
        self.doomed_blobs = prepare(
            sa.select(R.c.blob_key, R.c.size).where(R.c.exec_id.in_(ids), R.c.blob_key.is_not(None))
        )
        # Calls of kept executions whose output is an artifact of a deleted one.
        self.links_into_doomed = prepare(
            sa.select(C.c.call_id, C.c.exec_id, R)
            .select_from(C.join(R, R.c.artifact_id == C.c.output_artifact_id))
            .where(R.c.exec_id.in_(ids), C.c.exec_id.not_in(ids))
            .order_by(C.c.exec_id, C.c.seq, C.c.call_id)
        )
        self.relink_output = prepare(
            C.update()
            .where(C.c.call_id == _p("b_call_id"))
            .values(output_artifact_id=_p("b_output_id", sa.String()))
        )
        self.delete_attempts_of = prepare(
            A.delete().where(A.c.call_id.in_(sa.select(C.c.call_id).where(C.c.exec_id.in_(ids))))
        )
        self.delete_logs_of = prepare(L.delete().where(L.c.exec_id.in_(ids)))
        self.delete_llm_usage_of = prepare(U.delete().where(U.c.exec_id.in_(ids)))
        self.delete_artifacts_of = prepare(R.delete().where(R.c.exec_id.in_(ids)))
        self.delete_calls_of = prepare(C.delete().where(C.c.exec_id.in_(ids)))
        self.delete_executions = prepare(E.delete().where(E.c.exec_id.in_(ids)))
        # Memory versions hold blobs too: a blob either references stays.
        self.referenced_blob_keys = prepare(
            sa.union(
                sa.select(R.c.blob_key).where(R.c.blob_key.in_(self._json_values("b_keys"))),
                sa.select(MV.c.blob_key).where(MV.c.blob_key.in_(self._json_values("b_keys"))),
            )
        )
        self.delete_memory_ops_of = prepare(MO.delete().where(MO.c.exec_id.in_(ids)))
        # What a retention policy deletes: the statuses asked for, ended (or last changed)
        # before the cutoff, and not among the newest ``keep_last`` of its flow.
        rank = (
            sa.func.row_number()
            .over(partition_by=E.c.flow_name, order_by=(E.c.created_at.desc(), E.c.exec_id.desc()))
            .label("newest_rank")
        )
        ranked = sa.select(E, rank).where(E.c.status.in_(self._json_values("b_statuses"))).subquery("ranked")
        before = _p("b_before", UtcDateTime())
        self.prunable_executions = prepare(
            sa.select(*(ranked.c[column.name] for column in E.c))
            .where(
                ranked.c.newest_rank
                > sa.func.coalesce(_p("b_keep_last", sa.Integer()), sa.literal_column("0", sa.Integer())),
                sa.or_(before.is_(None), sa.func.coalesce(ranked.c.ended_at, ranked.c.updated_at) < before),
            )
            .order_by(ranked.c.created_at, ranked.c.exec_id)
        )

    def _api_key_statements(self) -> None:
        """API keys of a server (:mod:`kitaru.store.sql._keys`)."""
        prepare, K = self._prepare, api_keys
        self.insert_api_key = prepare(K.insert(), column_keys=K.c.keys())
        self.live_api_key_named = prepare(
            sa.select(K.c.key_id).where((K.c.name == _p("b_name", sa.String())) & K.c.revoked_at.is_(None))
        )
        self.list_api_keys = prepare(sa.select(K).order_by(K.c.created_at, K.c.key_id))
        self.revoke_api_key = prepare(
            K.update()
            .where((K.c.name == _p("b_name", sa.String())) & K.c.revoked_at.is_(None))
            .values(revoked_at=_p("b_revoked_at", UtcDateTime()))
            .returning(*K.c)
        )
        self.find_api_key = prepare(
            sa.select(K).where((K.c.token_hash == _p("b_token_hash", sa.String())) & K.c.revoked_at.is_(None))
        )

    def _idempotency_statements(self, insert: Any) -> None:
        """Idempotency keys of a server's writes (:mod:`kitaru.store.sql._idempotency`)."""
        prepare, IK = self._prepare, idempotency_keys
        the_key = IK.c.key == _p("b_key", sa.String())
        self.claim_idempotency_key = prepare(
            insert(IK).on_conflict_do_nothing(index_elements=[IK.c.key]).returning(IK.c.key),
            column_keys=("key", "claimed_at"),
        )
        self.idempotent_response = prepare(sa.select(IK.c.response).where(the_key))
        self.complete_idempotency_key = prepare(
            IK.update()
            .where(the_key)
            .values(response=_p("b_response", sa.LargeBinary()), claimed_at=_p("b_claimed_at", UtcDateTime()))
        )
        self.prune_idempotency_keys = prepare(
            IK.delete().where(IK.c.claimed_at < _p("b_before", UtcDateTime()))
        )

    def _memory_statements(self, insert: Any) -> None:
        """Memory: versions of keys per scope, the flow bodies' journal of memory operations
        and the compaction log (:mod:`kitaru.store.sql._memory`)."""
        prepare = self._prepare
        key_of = (
            (MK.c.scope_type == _p("b_scope_type", sa.String()))
            & (MK.c.scope == _p("b_scope", sa.String()))
            & (MK.c.key == _p("b_key", sa.String()))
        )
        # The next version of a key: an upsert of its row, which concurrent writers take turns on
        # (a row lock on PostgreSQL; SQLite's writers take turns anyway).
        bump = insert(MK)
        self.bump_memory_key = prepare(
            bump.on_conflict_do_update(
                index_elements=[MK.c.scope_type, MK.c.scope, MK.c.key],
                set_={
                    "version": MK.c.version + 1,
                    "deleted": bump.excluded.deleted,
                    "updated_at": bump.excluded.updated_at,
                },
            ).returning(MK.c.version),
            column_keys=MK.c.keys(),
        )
        self.insert_memory_version = prepare(MV.insert(), column_keys=MV.c.keys())
        self.insert_memory_op = prepare(MO.insert(), column_keys=MO.c.keys())
        self.insert_memory_compaction = prepare(MC.insert(), column_keys=MC.c.keys())
        self.get_memory_op = prepare(
            sa.select(MO).where(MO.c.exec_id == _p("b_exec_id"), MO.c.op_id == _p("b_op_id", sa.String()))
        )
        self.memory_ops_of = prepare(
            sa.select(MO).where(MO.c.exec_id == _p("b_exec_id")).order_by(MO.c.after_seq, MO.c.created_at)
        )
        self.copy_memory_ops = prepare(
            MO.insert().from_select(
                list(MO.c.keys()),
                sa.select(
                    _p("b_exec_id", sa.String()),
                    *(column for column in MO.c if column.name != "exec_id"),
                ).where(
                    MO.c.exec_id == _p("b_source_exec_id", sa.String()),
                    MO.c.after_seq < _p("b_before_seq", sa.Integer()),
                ),
            )
        )
        version_of = (
            (MV.c.scope_type == _p("b_scope_type", sa.String()))
            & (MV.c.scope == _p("b_scope", sa.String()))
            & (MV.c.key == _p("b_key", sa.String()))
        )
        self.memory_version = prepare(
            sa.select(MV).where(version_of, MV.c.version == _p("b_version", sa.Integer()))
        )
        self.latest_memory = prepare(
            sa.select(MV)
            .select_from(
                MV.join(
                    MK,
                    (MK.c.scope_type == MV.c.scope_type)
                    & (MK.c.scope == MV.c.scope)
                    & (MK.c.key == MV.c.key)
                    & (MK.c.version == MV.c.version),
                )
            )
            .where(key_of)
        )
        prefix = _p("b_prefix", sa.String())
        self.list_memory = prepare(
            sa.select(MV)
            .select_from(
                MV.join(
                    MK,
                    (MK.c.scope_type == MV.c.scope_type)
                    & (MK.c.scope == MV.c.scope)
                    & (MK.c.key == MV.c.key)
                    & (MK.c.version == MV.c.version),
                )
            )
            .where(
                MK.c.scope_type == _p("b_scope_type", sa.String()),
                MK.c.scope == _p("b_scope", sa.String()),
                MK.c.deleted.is_(False),
                sa.func.substr(MK.c.key, 1, sa.func.length(prefix)) == prefix,
            )
            .order_by(MK.c.key)
        )
        self.memory_history = prepare(sa.select(MV).where(version_of).order_by(MV.c.version.desc()))
        self.memory_scopes = prepare(
            sa.select(
                MK.c.scope_type,
                MK.c.scope,
                sa.func.count(),
                sa.func.sum(sa.case((MK.c.deleted.is_(False), 1), else_=0)),
                sa.func.max(MK.c.updated_at),
            )
            .group_by(MK.c.scope_type, MK.c.scope)
            .order_by(MK.c.scope_type, MK.c.scope)
        )
        self.purge_memory = prepare(
            MV.delete().where(version_of, MV.c.version <= _p("b_below", sa.Integer()))
        )
        scope_of = (MV.c.scope_type == _p("b_scope_type", sa.String())) & (
            MV.c.scope == _p("b_scope", sa.String())
        )
        self.purge_memory_versions = prepare(MV.delete().where(scope_of))
        self.purge_memory_keys = prepare(
            MK.delete().where(
                MK.c.scope_type == _p("b_scope_type", sa.String()), MK.c.scope == _p("b_scope", sa.String())
            )
        )
        any_or = sa.or_
        self.list_memory_compactions = prepare(
            sa.select(MC)
            .where(
                any_or(_p("b_scope_type", sa.String()).is_(None), MC.c.scope_type == _p("b_scope_type")),
                any_or(_p("b_scope", sa.String()).is_(None), MC.c.scope == _p("b_scope")),
                any_or(_p("b_key", sa.String()).is_(None), MC.c.target_key == _p("b_key")),
            )
            .order_by(MC.c.created_at.desc(), MC.c.compaction_id.desc())
        )

    def _prepare(self, stmt: Any, *, column_keys: Any = None, many: bool = False) -> Prepared:
        return Prepared(stmt, self._dialect, column_keys=column_keys, many=many)

    @staticmethod
    def _upsert_call(insert: Any, *, count_attempt: bool) -> Any:
        stmt = insert(C)
        replaced: dict[str, Any] = {name: stmt.excluded[name] for name in _UPSERT_COLUMNS}
        if count_attempt:
            replaced["attempt_count"] = C.c.attempt_count + 1
        return stmt.on_conflict_do_update(index_elements=[C.c.exec_id, C.c.invocation_id], set_=replaced)

    def list_executions(
        self,
        *,
        flow: bool,
        status: bool,
        since: bool,
        limit: bool,
        counts: bool = False,
        page: Literal["before", "after"] | None = None,
    ) -> Prepared:
        """Return the statement listing executions newest first with the given filters.

        Each flag says whether that filter is given (as ``b_flow``, ``b_status``,
        ``b_since`` and ``b_limit``). ``counts`` adds four columns after the
        execution's: its numbers of calls, artifacts and pending waits, and its model usage
        totals as JSON text (subqueries answered from the indexes on ``exec_id``).
        ``page`` bounds the rows by a cursor (``b_cursor_at``, ``b_cursor_id``):
        :func:`~kitaru.store.sql._listing.list_executions_statement`.
        """
        key = ("executions", flow, status, since, limit, counts, page)
        prepared = self._variants.get(key)
        if prepared is None:
            stmt = _list_executions(
                flow=flow, status=status, since=since, limit=limit, counts=counts, page=page
            )
            prepared = self._variants[key] = self._prepare(stmt)
        return prepared

    def list_artifacts(
        self, *, name: bool, kind: bool, call_id: bool, producing_call: bool = False
    ) -> Prepared:
        """Return the statement listing an execution's artifacts (without data) in creation order.

        The execution is ``b_exec_id``; each flag says whether that filter is
        given (as ``b_name``, ``b_kind``, ``b_call_id`` and ``b_producing_call``:
        the name, invocation id or call id of the call that produced them).
        """
        key = ("artifacts", name, kind, call_id, producing_call)
        prepared = self._variants.get(key)
        if prepared is None:
            stmt = self._artifact_rows.where(R.c.exec_id == _p("b_exec_id", sa.String()))
            if name:
                stmt = stmt.where(R.c.name == _p("b_name", sa.String()))
            if kind:
                stmt = stmt.where(R.c.kind == _p("b_kind", sa.String()))
            if call_id:
                stmt = stmt.where(R.c.call_id == _p("b_call_id", sa.String()))
            if producing_call:
                selector = _p("b_producing_call", sa.String())
                producers = sa.select(C.c.call_id).where(
                    C.c.exec_id == _p("b_exec_id", sa.String()),
                    sa.or_(C.c.name == selector, C.c.invocation_id == selector, C.c.call_id == selector),
                )
                stmt = stmt.where(R.c.call_id.in_(producers))
            prepared = self._variants[key] = self._prepare(stmt.order_by(R.c.created_at, R.c.artifact_id))
        return prepared

    def list_calls(self, *, limit: bool, offset: bool) -> Prepared:
        """Return the statement listing a page of an execution's calls
        (:func:`~kitaru.store.sql._paging.list_calls_statement`)."""
        key = ("calls", limit, offset)
        prepared = self._variants.get(key)
        if prepared is None:
            stmt = list_calls_statement(limit=limit, offset=offset)
            prepared = self._variants[key] = self._prepare(stmt)
        return prepared

    def call_page_artifacts(self, *, limit: bool, offset: bool) -> Prepared:
        """Return the statement listing what the calls of a page produced
        (:func:`~kitaru.store.sql._paging.call_page_artifacts_statement`)."""
        key = ("call artifacts", limit, offset)
        prepared = self._variants.get(key)
        if prepared is None:
            stmt = call_page_artifacts_statement(self._artifact_rows, limit=limit, offset=offset)
            prepared = self._variants[key] = self._prepare(stmt)
        return prepared

    def claim_execution(self, expected: int) -> Prepared:
        """Return the compare-and-set start of a run for ``expected`` allowed statuses.

        Binds ``b_exec_id``, ``b_expected_0`` ..., ``b_expected_runner`` (compared
        null-safely) and the start values ``b_now`` and ``b_runner_id``.
        """
        key = ("claim", expected)
        prepared = self._variants.get(key)
        if prepared is None:
            stmt = (
                E.update()
                .where(
                    E.c.exec_id == _p("b_exec_id"),
                    E.c.status.in_(_expected(expected)),
                    E.c.runner_id.is_not_distinct_from(_p("b_expected_runner", sa.String())),
                )
                .values(**_START_VALUES)
                .returning(*E.c)
            )
            prepared = self._variants[key] = self._prepare(stmt)
        return prepared

    def enqueue_execution(self, expected: int) -> Prepared:
        """Return the compare-and-set that puts an execution in the work queue for
        ``expected`` allowed statuses (:func:`~kitaru.store.sql._queue_statements.enqueue`)."""
        key = ("enqueue", expected)
        prepared = self._variants.get(key)
        if prepared is None:
            prepared = self._variants[key] = self._prepare(enqueue(expected))
        return prepared

    def claim_queued(self, *, orphans: bool, flows: bool, queue: bool) -> Prepared:
        """Return the claim of the oldest work for a worker
        (:func:`~kitaru.store.sql._queue_statements.claim_queued`)."""
        key = ("claim queued", orphans, flows, queue)
        prepared = self._variants.get(key)
        if prepared is None:
            flow_names = self._json_values("b_flows") if flows else None
            prepared = self._variants[key] = self._prepare(
                claim_queued(orphans=orphans, flow_names=flow_names, queue=queue)
            )
        return prepared

    def set_execution_status(self, *, expected: int | None, runner: bool, release: bool) -> Prepared:
        """Return the compare-and-set status change of an execution.

        Binds ``b_exec_id``, ``b_status``, ``b_now`` and ``b_ended_at`` (kept when
        ``NULL``); ``expected`` is the number of allowed statuses (``b_expected_0``
        ..., no check when ``None``), ``runner`` whether ``b_runner_id`` must hold
        the execution, ``release`` whether the runner is cleared (and the epoch raised).
        """
        key = ("status", expected, runner, release)
        prepared = self._variants.get(key)
        if prepared is None:
            stmt = E.update().where(E.c.exec_id == _p("b_exec_id"))
            if expected is not None:
                stmt = stmt.where(E.c.status.in_(_expected(expected)))
            if runner:
                stmt = stmt.where(E.c.runner_id == _p("b_runner_id", sa.String()))
            values: dict[str, Any] = {
                "status": _p("b_status", sa.String()),
                "updated_at": _p("b_now", UtcDateTime()),
                "ended_at": sa.func.coalesce(_p("b_ended_at", UtcDateTime()), E.c.ended_at),
            }
            if release:
                values["runner_id"] = None
                values["epoch"] = E.c.epoch + 1  # the released runner is fenced off
            prepared = self._variants[key] = self._prepare(stmt.values(**values))
        return prepared

    def list_logs(self, *, call_id: bool, after_seq: bool, limit: bool) -> Prepared:
        """Return the statement listing an execution's log records in ``seq`` order.

        The execution is ``b_exec_id``; each flag says whether that filter is
        given (as ``b_call_id``, ``b_after_seq`` and ``b_limit``).
        """
        key = ("logs", call_id, after_seq, limit)
        prepared = self._variants.get(key)
        if prepared is None:
            stmt = sa.select(*_LOG_RECORD).where(L.c.exec_id == _p("b_exec_id", sa.String()))
            if call_id:
                stmt = stmt.where(L.c.call_id == _p("b_call_id", sa.String()))
            if after_seq:
                stmt = stmt.where(L.c.seq > _p("b_after_seq", sa.BigInteger()))
            stmt = stmt.order_by(L.c.seq)
            if limit:
                stmt = stmt.limit(_p("b_limit", sa.Integer()))
            prepared = self._variants[key] = self._prepare(stmt)
        return prepared
