"""Memory in the in-memory store: versions of keys per scope, the journal, compactions."""

from __future__ import annotations

import dataclasses

from kitaru.errors import KitaruStateError, KitaruUsageError
from kitaru.records import MemoryCompaction, MemoryEntry, MemoryOp, MemoryScope
from kitaru.store.memory._tables import MemoryTables

__all__ = ["MemoryMethods"]


class MemoryMethods(MemoryTables):
    """The memory methods of :class:`~kitaru.store.memory.InMemoryStore` (see
    :class:`kitaru.store.base.MetadataStore` for each)."""

    def write_memory(
        self,
        entry: MemoryEntry,
        *,
        op: MemoryOp | None = None,
        compaction: MemoryCompaction | None = None,
        epoch: int | None = None,
    ) -> MemoryEntry:
        """Write the next version of the key, once per journaled operation."""
        ident = (entry.scope_type, entry.scope, entry.key)
        with self._lock:
            self._check_open()
            if op is not None:
                self._execution(op.exec_id)
                self._fence(op.exec_id, epoch)
                done = self._memory_ops.get(op.exec_id, {}).get(op.op_id)
                if done is not None:
                    found = (
                        self._version(done.scope_type, done.scope, *done.result[0]) if done.result else None
                    )
                    if found is None:
                        raise KitaruStateError(
                            f"Memory operation {op.op_id!r} of execution {op.exec_id} was recorded, but "
                            f"the version it wrote ({done.result or 'none'}) was purged since. "
                            "Start a new execution."
                        )
                    return found
            version = self._memory_next.get(ident, 0) + 1
            self._memory_next[ident] = version
            written = dataclasses.replace(entry, version=version, metadata=dict(entry.metadata))
            self._memory.setdefault(ident, []).append(written)
            if op is not None:
                journaled = dataclasses.replace(op, result=((entry.key, version),))
                self._memory_ops.setdefault(op.exec_id, {})[op.op_id] = journaled
            if compaction is not None:
                self._memory_compactions.append(dataclasses.replace(compaction, target_version=version))
            return written

    def record_memory_op(self, op: MemoryOp, *, epoch: int | None = None) -> MemoryOp:
        """Journal a read unless its ``op_id`` is journaled already; return the journaled one."""
        with self._lock:
            self._execution(op.exec_id)
            self._fence(op.exec_id, epoch)
            ops = self._memory_ops.setdefault(op.exec_id, {})
            return ops.setdefault(op.op_id, op)

    def list_memory_ops(self, exec_id: str) -> list[MemoryOp]:
        """Return the memory operations journaled with the execution."""
        with self._lock:
            self._check_open()
            ops = list(self._memory_ops.get(exec_id, {}).values())
        return sorted(ops, key=lambda op: (op.after_seq, op.created_at))

    def copy_memory_ops(self, exec_id: str, source_exec_id: str, *, before_seq: int) -> int:
        """Copy the source's memory operations before ``before_seq`` into ``exec_id``."""
        with self._lock:
            self._execution(exec_id)
            copies = [
                dataclasses.replace(op, exec_id=exec_id)
                for op in self._memory_ops.get(source_exec_id, {}).values()
                if op.after_seq < before_seq
            ]
            target = self._memory_ops.setdefault(exec_id, {})
            if any(copy.op_id in target for copy in copies):
                self._backend_error(f"copy the memory journal of '{source_exec_id}'", "an operation is taken")
            for copy in copies:
                target[copy.op_id] = copy
            return len(copies)

    def _version(self, scope_type: str, scope: str, key: str, version: int) -> MemoryEntry | None:
        for entry in self._memory.get((scope_type, scope, key), ()):
            if entry.version == version:
                return entry
        return None

    def get_memory(
        self, scope_type: str, scope: str, key: str, *, version: int | None = None
    ) -> MemoryEntry | None:
        """Return the key's newest version (or ``version``), ``None`` when there is none."""
        with self._lock:
            self._check_open()
            if version is not None:
                return self._version(scope_type, scope, key, version)
            versions = self._memory.get((scope_type, scope, key))
            return versions[-1] if versions else None

    def list_memory(self, scope_type: str, scope: str, *, prefix: str | None = None) -> list[MemoryEntry]:
        """Return the newest live version of each key of the scope, by key."""
        with self._lock:
            self._check_open()
            found = [
                versions[-1]
                for (st, sc, key), versions in self._memory.items()
                if st == scope_type
                and sc == scope
                and versions
                and not versions[-1].deleted
                and key.startswith(prefix or "")
            ]
        return sorted(found, key=lambda entry: entry.key)

    def memory_history(self, scope_type: str, scope: str, key: str) -> list[MemoryEntry]:
        """Return every stored version of the key, newest first."""
        with self._lock:
            self._check_open()
            return list(reversed(self._memory.get((scope_type, scope, key), [])))

    def list_memory_scopes(self) -> list[MemoryScope]:
        """Return every scope that has keys."""
        scopes: dict[tuple[str, str], MemoryScope] = {}
        with self._lock:
            self._check_open()
            for (scope_type, scope, _), versions in self._memory.items():
                if not versions:
                    continue
                newest = versions[-1]
                old = scopes.get((scope_type, scope))
                scopes[(scope_type, scope)] = MemoryScope(
                    scope_type,
                    scope,
                    (old.keys if old else 0) + 1,
                    (old.live if old else 0) + (0 if newest.deleted else 1),
                    max(old.updated_at, newest.created_at) if old else newest.created_at,
                )
        return [scopes[ident] for ident in sorted(scopes)]

    def purge_memory(self, scope_type: str, scope: str, key: str, *, keep: int) -> int:
        """Delete all but the ``keep`` newest versions of the key; return how many went."""
        if not isinstance(keep, int) or isinstance(keep, bool) or keep < 1:
            raise KitaruUsageError(
                f"keep must be 1 or more (the newest version always stays), got {keep!r}. "
                "To drop a whole scope use purge_scope."
            )
        with self._lock:
            self._check_open()
            versions = self._memory.get((scope_type, scope, key), [])
            gone = max(0, len(versions) - keep)
            if gone:
                del versions[:gone]
            return gone

    def purge_memory_scope(self, scope_type: str, scope: str) -> int:
        """Delete every version of every key of the scope; return how many went."""
        with self._lock:
            self._check_open()
            idents = [ident for ident in self._memory if ident[:2] == (scope_type, scope)]
            count = 0
            for ident in idents:
                count += len(self._memory.pop(ident))
                self._memory_next.pop(ident, None)
            return count

    def add_memory_compaction(self, record: MemoryCompaction) -> None:
        """Insert an audit record of memory maintenance."""
        with self._lock:
            self._check_open()
            self._memory_compactions.append(record)

    def list_memory_compactions(
        self, *, scope_type: str | None = None, scope: str | None = None, key: str | None = None
    ) -> list[MemoryCompaction]:
        """Return the compaction audit records, newest first."""
        with self._lock:
            self._check_open()
            found = [
                c
                for c in self._memory_compactions
                if (scope_type is None or c.scope_type == scope_type)
                and (scope is None or c.scope == scope)
                and (key is None or c.target_key == key)
            ]
        return sorted(found, key=lambda c: (c.created_at, c.compaction_id), reverse=True)
