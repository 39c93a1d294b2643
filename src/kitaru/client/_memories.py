"""``client.memories``: read, write and maintain memory in any scope.

Every method takes the scope as ``scope=`` (a name) and optionally ``scope_type=``; without
the type, the scope's type is the one the store holds under that name (a name used by
several scope types needs ``scope_type=``), else ``namespace``.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from kitaru._types import new_id, utcnow
from kitaru.artifacts.values import load_memory_value, make_memory_entry
from kitaru.errors import KitaruStateError, KitaruUsageError
from kitaru.models import (
    ArtifactRef,
    CompactionRecord,
    CompactResult,
    MemoryEntry,
    MemoryScopeInfo,
    PurgeResult,
)
from kitaru.records import MEMORY_SCOPE_TYPES, MemoryCompaction, check_memory_key, check_memory_scope
from kitaru.records import MemoryEntry as MemoryRecord

if TYPE_CHECKING:
    from kitaru.client import KitaruClient

__all__ = ["DEFAULT_COMPACT_INSTRUCTION", "MEMORY_ARTIFACT_PREFIX", "Memories"]

#: The instruction a compaction gives the model when none is given.
DEFAULT_COMPACT_INSTRUCTION = (
    "Summarize the memory entries below into one concise entry for an AI agent. Keep every fact, "
    "decision, preference and open task that is still current; where later versions supersede "
    "earlier ones, keep only the latest. Answer with the summary text only."
)
_SYSTEM = "You maintain the long-term memory of an AI agent. You write short, faithful summaries."
#: The artifact ids of memory values start with this (``memory:<type>:<scope>:<key>@<version>``).
MEMORY_ARTIFACT_PREFIX = "memory:"


class Memories:
    """``client.memories``: memory of every scope, and its maintenance."""

    def __init__(self, client: KitaruClient) -> None:
        self._client = client

    # -- scopes ---------------------------------------------------------------
    def scopes(self) -> builtins.list[MemoryScopeInfo]:
        """Return every scope that holds keys, by scope type and name."""
        return [MemoryScopeInfo.from_record(s) for s in self._client._store.list_memory_scopes()]

    def _scope(self, scope: str | None, scope_type: str | None) -> tuple[str, str]:
        if scope is None:
            raise KitaruUsageError(
                "Name the memory scope: scope='<name>' (and scope_type='namespace'|'flow'|'execution' "
                "when the name is used by several). List them with KitaruClient().memories.scopes() or "
                "`kitaru memory scopes`."
            )
        if scope_type is None:
            known = sorted(
                {s.scope_type for s in self._client._store.list_memory_scopes() if s.scope == scope}
            )
            if len(known) > 1:
                raise KitaruUsageError(
                    f"Memory scope {scope!r} exists as {', '.join(known)}: say which with scope_type=."
                )
            scope_type = known[0] if known else "namespace"
        return check_memory_scope(scope, scope_type)

    # -- entries --------------------------------------------------------------
    def list(
        self, *, scope: str | None = None, scope_type: str | None = None, prefix: str | None = None
    ) -> builtins.list[MemoryEntry]:
        """Return the newest live version of each key of the scope (keys starting with
        ``prefix`` when given), by key."""
        st, sc = self._scope(scope, scope_type)
        return [MemoryEntry.from_record(r) for r in self._client._store.list_memory(st, sc, prefix=prefix)]

    def get(
        self, key: str, *, scope: str | None = None, scope_type: str | None = None, version: int | None = None
    ) -> MemoryEntry | None:
        """Return the key's newest live version (or ``version``, a tombstone too), ``None`` when
        there is none or it was deleted. ``value()`` or ``artifacts.get(entry.artifact_id).load()``
        gives the value."""
        record = self._record(key, scope, scope_type, version)
        if record is None or (record.deleted and version is None):
            return None
        return MemoryEntry.from_record(record)

    def value(
        self, key: str, *, scope: str | None = None, scope_type: str | None = None, version: int | None = None
    ) -> Any:
        """Return the value of the key's newest version (or ``version``); ``None`` when it has
        none or was deleted."""
        record = self._record(key, scope, scope_type, version)
        if record is None:
            return None
        return load_memory_value(self._client._artifacts, record, shared_store=self._client._store.shared)

    def _record(
        self, key: str, scope: str | None, scope_type: str | None, version: int | None
    ) -> MemoryRecord | None:
        check_memory_key(key, reserved_ok=True)
        if version is not None and (not isinstance(version, int) or isinstance(version, bool) or version < 1):
            raise KitaruUsageError(f"version must be a version number (1 or more), got {version!r}.")
        st, sc = self._scope(scope, scope_type)
        return self._client._store.get_memory(st, sc, key, version=version)

    def history(
        self, key: str, *, scope: str | None = None, scope_type: str | None = None
    ) -> builtins.list[MemoryEntry]:
        """Return every stored version of the key, newest first, tombstones included."""
        check_memory_key(key, reserved_ok=True)
        st, sc = self._scope(scope, scope_type)
        return [MemoryEntry.from_record(r) for r in self._client._store.memory_history(st, sc, key)]

    def set(
        self, key: str, value: Any, *, scope: str | None = None, scope_type: str | None = None
    ) -> MemoryEntry:
        """Write ``value`` as the key's next version; return it."""
        check_memory_key(key)
        st, sc = self._scope(scope, scope_type)
        entry = make_memory_entry(
            self._client._artifacts, value, scope_type=st, scope=sc, key=key, exec_id=None
        )
        return MemoryEntry.from_record(self._client._store.write_memory(entry))

    def delete(self, key: str, *, scope: str | None = None, scope_type: str | None = None) -> MemoryEntry:
        """Delete the key by writing a tombstone version; return it. Its history stays."""
        check_memory_key(key)
        st, sc = self._scope(scope, scope_type)
        tombstone = MemoryRecord(st, sc, key, 0, utcnow(), deleted=True)
        return MemoryEntry.from_record(self._client._store.write_memory(tombstone))

    # -- maintenance ----------------------------------------------------------
    def purge(
        self, key: str, *, scope: str | None = None, scope_type: str | None = None, keep: int = 1
    ) -> PurgeResult:
        """Delete all but the ``keep`` newest versions of the key (``keep`` ≥ 1); record it in
        the compaction log."""
        check_memory_key(key, reserved_ok=True)
        st, sc = self._scope(scope, scope_type)
        store = self._client._store
        history = store.memory_history(st, sc, key)
        deleted = store.purge_memory(st, sc, key, keep=keep)
        gone = tuple((r.key, r.version) for r in history[keep:])[:deleted] if deleted else ()
        self._audit("purge", st, sc, sources=gone, keys=1 if deleted else 0, deleted=deleted, keep=keep)
        return PurgeResult(
            versions_deleted=deleted, keys_affected=1 if deleted else 0, scope=sc, scope_type=st
        )

    def purge_scope(self, *, scope: str | None = None, scope_type: str | None = None) -> PurgeResult:
        """Delete every version of every key of the scope; record it in the compaction log."""
        st, sc = self._scope(scope, scope_type)
        store = self._client._store
        keys = sum(s.keys for s in store.list_memory_scopes() if (s.scope_type, s.scope) == (st, sc))
        deleted = store.purge_memory_scope(st, sc)
        self._audit("purge", st, sc, sources=(), keys=keys, deleted=deleted, keep=None)
        return PurgeResult(versions_deleted=deleted, keys_affected=keys, scope=sc, scope_type=st)

    def _audit(
        self,
        operation: str,
        st: str,
        sc: str,
        *,
        sources: tuple[tuple[str, int], ...],
        keys: int,
        deleted: int,
        keep: int | None,
    ) -> None:
        record = MemoryCompaction(
            new_id(),
            operation,
            st,
            sc,
            utcnow(),
            sources,
            keys_affected=keys,
            versions_deleted=deleted,
            keep=keep,
        )
        self._client._store.add_memory_compaction(record)

    def compact(
        self,
        key: str | None = None,
        *,
        keys: Sequence[str] | None = None,
        scope: str | None = None,
        scope_type: str | None = None,
        target_key: str | None = None,
        instruction: str | None = None,
        model: str | None = None,
    ) -> CompactResult:
        """Summarise memory with a model and write the summary as a new version, with an audit
        record in the compaction log.

        One ``key``: its versions (newest first, tombstones left out) are summarised into a new
        version of it (or of ``target_key``). ``keys``: the current values of those keys are
        summarised into ``target_key`` (required); the sources stay as they are.

        Raises:
            KitaruUsageError: neither or both of ``key`` and ``keys``, a missing ``target_key``.
            KitaruStateError: nothing to summarise.
        """
        if (key is None) == (keys is None):
            raise KitaruUsageError(
                "Pass either one key (its versions are compacted) or keys=[...] (their values)."
            )
        st, sc = self._scope(scope, scope_type)
        store = self._client._store
        if key is not None:
            check_memory_key(key)
            sources = [r for r in store.memory_history(st, sc, key) if not r.deleted]
            target = target_key or key
        else:
            assert keys is not None
            if not target_key:
                raise KitaruUsageError("Compacting several keys writes one summary: give target_key='<key>'.")
            found = [store.get_memory(st, sc, check_memory_key(k)) for k in keys]
            sources = [r for r in found if r is not None and not r.deleted]
            target = target_key
        check_memory_key(target)
        if not sources:
            what = f"key {key!r}" if key is not None else f"keys {builtins.list(keys or ())}"
            raise KitaruStateError(f"Nothing to compact: {what} of {st} {sc!r} has no live value.")
        text = self._summarise(sources, instruction or DEFAULT_COMPACT_INSTRUCTION, model)
        pairs = tuple((r.key, r.version) for r in sources)
        entry = make_memory_entry(
            self._client._artifacts,
            text,
            scope_type=st,
            scope=sc,
            key=target,
            exec_id=None,
            metadata={"compacted_from": [builtins.list(p) for p in pairs]},
        )
        audit = MemoryCompaction(
            new_id(),
            "compact",
            st,
            sc,
            utcnow(),
            pairs,
            target_key=target,
            instruction=instruction or DEFAULT_COMPACT_INSTRUCTION,
            model=model,
            keys_affected=len({k for k, _ in pairs}),
        )
        written = store.write_memory(entry, compaction=audit)
        record = store.list_memory_compactions(scope_type=st, scope=sc, key=target)
        logged = next((r for r in record if r.compaction_id == audit.compaction_id), audit)
        return CompactResult(
            entry=MemoryEntry.from_record(written),
            sources_read=len(sources),
            scope=sc,
            scope_type=st,
            compaction_record=CompactionRecord.from_record(logged),
        )

    def _summarise(self, sources: Sequence[MemoryRecord], instruction: str, model: str | None) -> str:
        # The provider layer (shared with kitaru.llm), loaded only when compacting.
        from kitaru.providers import complete_text

        client = self._client
        parts = []
        for record in sources:
            value = load_memory_value(client._artifacts, record, shared_store=client._store.shared)
            shown = value if isinstance(value, str) else json.dumps(value, default=repr, ensure_ascii=False)
            parts.append(f"[{record.key} v{record.version}]\n{shown}")
        prompt = f"{instruction}\n\n" + "\n\n".join(parts)
        return str(complete_text(prompt, model=model, system=_SYSTEM, registry=client._registry()))

    def compaction_log(
        self, *, scope: str | None = None, scope_type: str | None = None, key: str | None = None
    ) -> builtins.list[CompactionRecord]:
        """Return the audit records of compactions and purges, newest first (of one scope when
        given; ``key``: compactions into that key)."""
        st: str | None = None
        sc: str | None = None
        if scope is not None:
            st, sc = self._scope(scope, scope_type)
        elif scope_type is not None and scope_type not in MEMORY_SCOPE_TYPES:
            raise KitaruUsageError(
                f"Memory scope type {scope_type!r} is not one of {', '.join(MEMORY_SCOPE_TYPES)}."
            )
        else:
            st = scope_type
        records = self._client._store.list_memory_compactions(scope_type=st, scope=sc, key=key)
        return [CompactionRecord.from_record(r) for r in records]

    # -- values as artifacts ------------------------------------------------------
    def artifact(self, artifact_id: str) -> ArtifactRef:
        """The artifact view of a memory version (``memory:<type>:<scope>:<key>@<version>``)."""
        try:
            _, st, rest = artifact_id.split(":", 2)
            sc, rest = rest.split(":", 1)
            key, version = rest.rsplit("@", 1)
            record = self._client._store.get_memory(st, sc, key, version=int(version))
        except ValueError:
            record = None
        if record is None:
            raise KitaruStateError(
                f"No memory version {artifact_id!r}: it was purged, or the id is mistyped. "
                "See `kitaru memory history KEY --scope SCOPE`."
            )
        artifacts, shared = self._client._artifacts, self._client._store.shared
        as_artifact = record.as_artifact()
        return ArtifactRef(
            artifact_id=as_artifact.artifact_id,
            exec_id=as_artifact.exec_id,
            name=record.key,
            kind="memory",
            serializer=record.serializer,
            type_path=record.type_path,
            size=record.size,
            created_at=record.created_at,
            metadata=dict(record.metadata),
            save_type="manual",
            _loader=lambda _id: load_memory_value(artifacts, record, shared_store=shared),
        )
