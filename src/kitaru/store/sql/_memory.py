"""Memory: versions of keys per scope, the flow bodies' memory journal and compactions.

A write raises the key's row in ``memory_keys`` (an upsert) and inserts the
version it got, in one transaction: concurrent writers of one key take turns
on that row (PostgreSQL's row lock; SQLite's writers take turns anyway), so
they get consecutive versions and none is lost. Versions belong to no
execution and outlive their writer's deletion; the journal of a flow body's
operations (``memory_ops``) goes with its execution.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from kitaru._types import utcnow
from kitaru.errors import KitaruStateError, KitaruUsageError
from kitaru.records import MemoryCompaction, MemoryEntry, MemoryOp, MemoryScope
from kitaru.store.sql._connection import StoreCore

__all__ = ["MemoryMethods"]


def _entry_params(entry: MemoryEntry, version: int) -> dict[str, Any]:
    return {
        "scope_type": entry.scope_type,
        "scope": entry.scope,
        "key": entry.key,
        "version": version,
        "created_at": entry.created_at,
        "deleted": entry.deleted,
        "exec_id": entry.exec_id,
        "serializer": entry.serializer,
        "type_path": entry.type_path,
        "size": entry.size,
        "sha256": entry.sha256,
        "data": entry.data,
        "blob_key": entry.blob_key,
        "metadata": entry.metadata,
    }


def _entry(r: Sequence[Any]) -> MemoryEntry:
    data = r[11]
    return MemoryEntry(
        r[0],
        r[1],
        r[2],
        int(r[3]),
        r[4],
        bool(r[5]),
        r[6],
        r[7],
        r[8],
        int(r[9]),
        r[10],
        data if data is None or type(data) is bytes else bytes(data),
        r[12],
        r[13],
    )


def _op_params(op: MemoryOp, result: Sequence[tuple[str, int]]) -> dict[str, Any]:
    return {
        "exec_id": op.exec_id,
        "op_id": op.op_id,
        "kind": op.kind,
        "scope_type": op.scope_type,
        "scope": op.scope,
        "subject": op.subject,
        "after_seq": op.after_seq,
        "created_at": op.created_at,
        "result": [list(pair) for pair in result],
    }


def _op(r: Sequence[Any]) -> MemoryOp:
    result = r[8] if not isinstance(r[8], str) else json.loads(r[8])
    return MemoryOp(
        r[0], r[1], r[2], r[3], r[4], r[5], int(r[6]), r[7], tuple((str(k), int(v)) for k, v in result)
    )


def _compaction(r: Sequence[Any]) -> MemoryCompaction:
    sources = r[5] if not isinstance(r[5], str) else json.loads(r[5])
    return MemoryCompaction(
        r[0],
        r[1],
        r[2],
        r[3],
        r[4],
        tuple((str(k), int(v)) for k, v in sources),
        r[6],
        None if r[7] is None else int(r[7]),
        r[8],
        r[9],
        int(r[10]),
        int(r[11]),
        None if r[12] is None else int(r[12]),
    )


def _compaction_params(record: MemoryCompaction, target_version: int | None) -> dict[str, Any]:
    return {
        "compaction_id": record.compaction_id,
        "operation": record.operation,
        "scope_type": record.scope_type,
        "scope": record.scope,
        "created_at": record.created_at,
        "sources": [list(pair) for pair in record.sources],
        "target_key": record.target_key,
        "target_version": target_version,
        "instruction": record.instruction,
        "model": record.model,
        "keys_affected": record.keys_affected,
        "versions_deleted": record.versions_deleted,
        "keep": record.keep,
    }


class MemoryMethods(StoreCore):
    """The memory methods of :class:`~kitaru.store.sql.SqlStore`."""

    def write_memory(
        self,
        entry: MemoryEntry,
        *,
        op: MemoryOp | None = None,
        compaction: MemoryCompaction | None = None,
        epoch: int | None = None,
    ) -> MemoryEntry:
        """Write the next version of the key (see :meth:`kitaru.store.base.MetadataStore.write_memory`)."""
        s = self._s
        what = f"write memory key '{entry.key}' of {entry.scope_type} '{entry.scope}'"
        try:
            with self._writing() as cur:
                if op is not None:
                    self._fence(cur, op.exec_id, epoch)
                    done = s.get_memory_op.one(cur, {"b_exec_id": op.exec_id, "b_op_id": op.op_id})
                    if done is not None:
                        recorded = _op(done)
                        if recorded.result:
                            key, version = recorded.result[0]
                            row = s.memory_version.one(
                                cur,
                                {
                                    "b_scope_type": recorded.scope_type,
                                    "b_scope": recorded.scope,
                                    "b_key": key,
                                    "b_version": version,
                                },
                            )
                            if row is not None:
                                return _entry(row)
                        raise KitaruStateError(
                            f"Memory operation {op.op_id!r} of execution {op.exec_id} was recorded, but "
                            f"the version it wrote ({recorded.result or 'none'}) was purged since. "
                            "Start a new execution."
                        )
                bumped = s.bump_memory_key.one(
                    cur,
                    {
                        "scope_type": entry.scope_type,
                        "scope": entry.scope,
                        "key": entry.key,
                        "version": 1,
                        "deleted": entry.deleted,
                        "updated_at": entry.created_at,
                    },
                )
                assert bumped is not None
                version = int(bumped[0])
                s.insert_memory_version.execute(cur, _entry_params(entry, version))
                if op is not None:
                    s.insert_memory_op.execute(cur, _op_params(op, [(entry.key, version)]))
                if compaction is not None:
                    s.insert_memory_compaction.execute(cur, _compaction_params(compaction, version))
        except self._errors as exc:
            if op is not None:
                self._raise_for_execution(op.exec_id, what, exc)
            self._raise(what, exc)
        return MemoryEntry(**{**_entry_params(entry, version), "metadata": entry.metadata})

    def record_memory_op(self, op: MemoryOp, *, epoch: int | None = None) -> MemoryOp:
        """Journal a read unless its ``op_id`` is journaled already; return the journaled one."""
        s = self._s
        try:
            with self._writing() as cur:
                self._fence(cur, op.exec_id, epoch)
                done = s.get_memory_op.one(cur, {"b_exec_id": op.exec_id, "b_op_id": op.op_id})
                if done is not None:
                    return _op(done)
                s.insert_memory_op.execute(cur, _op_params(op, op.result))
        except self._errors as exc:
            self._raise_for_execution(op.exec_id, f"journal memory operation '{op.op_id}'", exc)
        return op

    def list_memory_ops(self, exec_id: str) -> list[MemoryOp]:
        """Return the memory operations journaled with the execution."""
        try:
            with self._reading() as cur:
                rows = self._s.memory_ops_of.all(cur, {"b_exec_id": exec_id})
        except self._errors as exc:
            self._raise(f"read the memory journal of execution '{exec_id}'", exc)
        return [_op(row) for row in rows]

    def copy_memory_ops(self, exec_id: str, source_exec_id: str, *, before_seq: int) -> int:
        """Copy the source's memory operations before ``before_seq`` into ``exec_id``."""
        params = {"b_exec_id": exec_id, "b_source_exec_id": source_exec_id, "b_before_seq": before_seq}
        try:
            with self._writing() as cur:
                self._require_execution(exec_id, cur)
                return self._s.copy_memory_ops.execute(cur, params)
        except self._errors as exc:
            self._raise_for_execution(exec_id, f"copy the memory journal of '{source_exec_id}'", exc)

    def get_memory(
        self, scope_type: str, scope: str, key: str, *, version: int | None = None
    ) -> MemoryEntry | None:
        """Return the key's newest version (or ``version``), ``None`` when there is none."""
        params: dict[str, Any] = {"b_scope_type": scope_type, "b_scope": scope, "b_key": key}
        stmt = self._s.latest_memory
        if version is not None:
            params["b_version"] = version
            stmt = self._s.memory_version
        try:
            with self._reading() as cur:
                row = stmt.one(cur, params)
        except self._errors as exc:
            self._raise(f"read memory key '{key}' of {scope_type} '{scope}'", exc)
        return None if row is None else _entry(row)

    def list_memory(self, scope_type: str, scope: str, *, prefix: str | None = None) -> list[MemoryEntry]:
        """Return the newest live version of each key of the scope, by key."""
        params = {"b_scope_type": scope_type, "b_scope": scope, "b_prefix": prefix or ""}
        try:
            with self._reading() as cur:
                rows = self._s.list_memory.all(cur, params)
        except self._errors as exc:
            self._raise(f"list the memory of {scope_type} '{scope}'", exc)
        return [_entry(row) for row in rows]

    def memory_history(self, scope_type: str, scope: str, key: str) -> list[MemoryEntry]:
        """Return every stored version of the key, newest first."""
        params = {"b_scope_type": scope_type, "b_scope": scope, "b_key": key}
        try:
            with self._reading() as cur:
                rows = self._s.memory_history.all(cur, params)
        except self._errors as exc:
            self._raise(f"read the history of memory key '{key}' of {scope_type} '{scope}'", exc)
        return [_entry(row) for row in rows]

    def list_memory_scopes(self) -> list[MemoryScope]:
        """Return every scope that has keys."""
        try:
            with self._reading() as cur:
                rows = self._s.memory_scopes.all(cur, {})
        except self._errors as exc:
            self._raise("list the memory scopes", exc)
        return [MemoryScope(r[0], r[1], int(r[2]), int(r[3] or 0), _aware(r[4])) for r in rows]

    def purge_memory(self, scope_type: str, scope: str, key: str, *, keep: int) -> int:
        """Delete all but the ``keep`` newest versions of the key; return how many went."""
        if not isinstance(keep, int) or isinstance(keep, bool) or keep < 1:
            raise KitaruUsageError(
                f"keep must be 1 or more (the newest version always stays), got {keep!r}. "
                "To drop a whole scope use purge_scope."
            )
        params: dict[str, Any] = {"b_scope_type": scope_type, "b_scope": scope, "b_key": key}
        try:
            with self._writing() as cur:
                history = self._s.memory_history.all(cur, params)
                if len(history) <= keep:
                    return 0
                params["b_below"] = int(history[keep][3])
                return self._s.purge_memory.execute(cur, params)
        except self._errors as exc:
            self._raise(f"purge memory key '{key}' of {scope_type} '{scope}'", exc)

    def purge_memory_scope(self, scope_type: str, scope: str) -> int:
        """Delete every version of every key of the scope; return how many went."""
        params = {"b_scope_type": scope_type, "b_scope": scope}
        try:
            with self._writing() as cur:
                count = self._s.purge_memory_versions.execute(cur, params)
                self._s.purge_memory_keys.execute(cur, params)
                return count
        except self._errors as exc:
            self._raise(f"purge the memory of {scope_type} '{scope}'", exc)

    def add_memory_compaction(self, record: MemoryCompaction) -> None:
        """Insert an audit record of memory maintenance."""
        try:
            with self._writing() as cur:
                self._s.insert_memory_compaction.execute(
                    cur, _compaction_params(record, record.target_version)
                )
        except self._errors as exc:
            self._raise("record a memory maintenance audit record", exc)

    def list_memory_compactions(
        self, *, scope_type: str | None = None, scope: str | None = None, key: str | None = None
    ) -> list[MemoryCompaction]:
        """Return the compaction audit records, newest first."""
        params = {"b_scope_type": scope_type, "b_scope": scope, "b_key": key}
        try:
            with self._reading() as cur:
                rows = self._s.list_memory_compactions.all(cur, params)
        except self._errors as exc:
            self._raise("list the memory compactions", exc)
        return [_compaction(row) for row in rows]


def _aware(value: Any) -> Any:
    # max() over a timestamp column comes back as text on SQLite (no column type to convert by).
    if isinstance(value, str):
        import datetime as dt

        parsed = dt.datetime.fromisoformat(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    return value if value is not None else utcnow()
