"""The memory operations, journaled with the execution when made in a flow body."""

from __future__ import annotations

import builtins
import dataclasses
from collections.abc import Callable
from typing import Any

from kitaru._types import utcnow
from kitaru.artifacts.base import ArtifactStore
from kitaru.artifacts.values import load_memory_value, make_memory_entry
from kitaru.errors import KitaruStateError, KitaruUsageError
from kitaru.memory._scope import BodyState, Scope, body_state, current_scope, require_memory_context
from kitaru.models import MemoryEntry
from kitaru.records import MemoryEntry as MemoryRecord
from kitaru.records import MemoryOp, check_memory_key
from kitaru.runtime.context import ExecutionContext
from kitaru.store.base import MetadataStore

__all__ = ["delete", "get", "history", "list", "set"]


def _stores(ctx: ExecutionContext | None) -> tuple[MetadataStore, ArtifactStore]:
    if ctx is not None:
        return ctx.store, ctx.artifacts
    from kitaru._connect import default_stores  # the active configuration's stores

    stores = default_stores()
    return stores.metadata, stores.artifacts


def _journal(ctx: ExecutionContext, state: BodyState) -> dict[str, MemoryOp]:
    if state.journal is None:
        ops = ctx.writes.read("read its memory journal", lambda: ctx.store.list_memory_ops(ctx.exec_id))
        state.journal = {op.op_id: op for op in ops}
    return state.journal


def _position(
    ctx: ExecutionContext, state: BodyState, kind: str, scope: Scope, subject: str
) -> tuple[str, int]:
    """The operation's stable id (the n-th ``kind`` of ``subject`` in this scope) and the
    number of durable calls made before it."""
    base = f"{kind}:{scope.scope_type}:{scope.scope}:{subject}"
    with ctx.lock:
        count = state.counts[base] = state.counts.get(base, 0) + 1
        return (base if count == 1 else f"{base}#{count}"), ctx.seq


def _recorded(store: MetadataStore, op: MemoryOp) -> builtins.list[MemoryRecord]:
    """The versions a journaled operation wrote or read."""
    found = []
    for key, version in op.result:
        entry = store.get_memory(op.scope_type, op.scope, key, version=version)
        if entry is None:
            raise KitaruStateError(
                f"Memory operation {op.op_id!r} of execution {op.exec_id} used version {version} of key "
                f"{key!r} in {op.scope_type} {op.scope!r}, which was purged since, so the execution "
                "cannot continue as recorded. Start a new execution (a replay from an earlier call "
                "reads memory again)."
            )
        found.append(entry)
    return found


def _write(verb: str, key: str, value: Any, *, deleted: bool) -> MemoryEntry:
    ctx = require_memory_context(f"memory.{verb}()")
    check_memory_key(key)
    scope = current_scope(ctx, f"memory.{verb}()")
    store, artifacts = _stores(ctx)
    exec_id = ctx.exec_id if ctx is not None else None

    def build() -> MemoryRecord:
        if deleted:
            return MemoryRecord(
                scope.scope_type, scope.scope, key, 0, utcnow(), deleted=True, exec_id=exec_id
            )
        return make_memory_entry(
            artifacts, value, scope_type=scope.scope_type, scope=scope.scope, key=key, exec_id=exec_id
        )

    if ctx is None:
        return MemoryEntry.from_record(store.write_memory(build()))
    state = body_state(ctx)
    journal = _journal(ctx, state)
    op_id, after = _position(ctx, state, verb, scope, key)
    recorded = journal.get(op_id)
    if recorded is not None:  # written before: by an earlier run of this body, or by the replayed one
        return MemoryEntry.from_record(ctx.writes.read("read memory", lambda: _recorded(store, recorded))[0])
    op = MemoryOp(ctx.exec_id, op_id, verb, scope.scope_type, scope.scope, key, after, utcnow())
    written = ctx.writes.write_memory(build(), op=op)
    journal[op_id] = dataclasses.replace(op, result=((key, written.version),))
    return MemoryEntry.from_record(written)


def _read(
    verb: str,
    subject: str,
    ctx: ExecutionContext | None,
    scope: Scope,
    live: Callable[[], builtins.list[MemoryRecord]],
) -> builtins.list[MemoryRecord]:
    if ctx is None:
        return live()
    state = body_state(ctx)
    journal = _journal(ctx, state)
    op_id, after = _position(ctx, state, verb, scope, subject)
    recorded = journal.get(op_id)
    if recorded is not None:
        return ctx.writes.read("read memory", lambda: _recorded(ctx.store, recorded))
    rows = ctx.writes.read("read memory", live)
    op = MemoryOp(
        ctx.exec_id,
        op_id,
        verb,
        scope.scope_type,
        scope.scope,
        subject,
        after,
        utcnow(),
        tuple((row.key, row.version) for row in rows),
    )
    stored = ctx.writes.record_memory_op(op)
    journal[op_id] = stored
    if stored.result == op.result:
        return rows
    return ctx.writes.read("read memory", lambda: _recorded(ctx.store, stored))


def set(key: str, value: Any) -> MemoryEntry:
    """Write ``value`` as the next version of ``key`` in the current scope; return that version.

    The value is stored as an artifact's value is (serialized by type; large ones in the
    artifact store). In a flow body a write is made once per execution: resuming or
    replaying it returns the version written the first time.

    Raises:
        KitaruUsageError: an invalid or reserved key, or no scope configured outside a flow.
        KitaruContextError: inside a checkpoint.

    Example:
        >>> from kitaru import memory
        >>> memory.set("sessions/count", 3).version  # doctest: +SKIP
        1
    """
    return _write("set", key, value, deleted=False)


def delete(key: str) -> MemoryEntry:
    """Delete ``key`` in the current scope by writing a tombstone version (its history stays);
    return the tombstone.

    Example:
        >>> from kitaru import memory
        >>> memory.delete("scratch/draft").is_deleted  # doctest: +SKIP
        True
    """
    return _write("delete", key, None, deleted=True)


def get(key: str, *, version: int | None = None) -> Any:
    """Return the value of ``key``'s newest version (``None`` when it has none or was deleted),
    or of ``version``.

    Example:
        >>> from kitaru import memory
        >>> memory.get("sessions/count")  # doctest: +SKIP
        3
    """
    ctx = require_memory_context("memory.get()")
    check_memory_key(key, reserved_ok=True)
    if version is not None and (not isinstance(version, int) or isinstance(version, bool) or version < 1):
        raise KitaruUsageError(f"version must be a version number (1 or more), got {version!r}.")
    scope = current_scope(ctx, "memory.get()")
    store, artifacts = _stores(ctx)

    def live() -> builtins.list[MemoryRecord]:
        found = store.get_memory(scope.scope_type, scope.scope, key, version=version)
        return [] if found is None else [found]

    subject = key if version is None else f"{key}@{version}"
    rows = _read("get", subject, ctx, scope, live)
    return load_memory_value(artifacts, rows[0], shared_store=store.shared) if rows else None


def list(prefix: str | None = None) -> builtins.list[MemoryEntry]:
    """Return the newest live version of each key of the current scope (keys starting with
    ``prefix`` when given), by key.

    Example:
        >>> from kitaru import memory
        >>> [entry.key for entry in memory.list(prefix="conventions/")]  # doctest: +SKIP
        ['conventions/python', 'conventions/tests']
    """
    ctx = require_memory_context("memory.list()")
    if prefix is not None and prefix != "":
        check_memory_key(prefix, reserved_ok=True)
    scope = current_scope(ctx, "memory.list()")
    store, _ = _stores(ctx)
    rows = _read(
        "list",
        prefix or "",
        ctx,
        scope,
        lambda: store.list_memory(scope.scope_type, scope.scope, prefix=prefix),
    )
    return [MemoryEntry.from_record(row) for row in rows]


def history(key: str) -> builtins.list[MemoryEntry]:
    """Return every stored version of ``key`` in the current scope, newest first, tombstones
    included.

    Example:
        >>> from kitaru import memory
        >>> [entry.version for entry in memory.history("sessions/count")]  # doctest: +SKIP
        [2, 1]
    """
    ctx = require_memory_context("memory.history()")
    check_memory_key(key, reserved_ok=True)
    scope = current_scope(ctx, "memory.history()")
    store, _ = _stores(ctx)
    rows = _read("history", key, ctx, scope, lambda: store.memory_history(scope.scope_type, scope.scope, key))
    return [MemoryEntry.from_record(row) for row in rows]
