"""``KitaruClient``: read and act on executions and artifacts.

The models and :class:`ExecutionStatus` are importable from here, as in the
original API.

Example:
    >>> from kitaru.client import KitaruClient, ExecutionStatus
    >>> client = KitaruClient()  # doctest: +SKIP
    >>> [e.exec_id for e in client.executions.list(status=ExecutionStatus.FAILED, limit=5)]  # doctest: +SKIP
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any

from kitaru._answers import parse_answer_text
from kitaru._sources import source_script
from kitaru._types import CallStatus, CheckpointType, ExecutionStatus, FailureOrigin
from kitaru.artifacts.base import ArtifactStore
from kitaru.artifacts.values import load_value
from kitaru.client._convert import to_artifact
from kitaru.client._executions import Executions
from kitaru.client._inputs import parse_json_text
from kitaru.client._memories import MEMORY_ARTIFACT_PREFIX, Memories
from kitaru.client._target import ExecutionTarget
from kitaru.errors import KitaruUsageError
from kitaru.models import (
    ArtifactRef,
    CheckpointAttempt,
    CheckpointCall,
    DeletionResult,
    Execution,
    FailureInfo,
    LlmUsage,
    LogEntry,
    PendingWait,
)
from kitaru.records import ArtifactRecord
from kitaru.store.base import MetadataStore

if TYPE_CHECKING:
    from kitaru.config.registry import Registry

__all__ = [
    "ArtifactRef",
    "CallStatus",
    "CheckpointAttempt",
    "CheckpointCall",
    "CheckpointType",
    "DeletionResult",
    "Execution",
    "ExecutionStatus",
    "ExecutionTarget",
    "FailureInfo",
    "FailureOrigin",
    "KitaruClient",
    "LlmUsage",
    "LogEntry",
    "PendingWait",
    "parse_answer_text",
    "parse_json_text",
]


class _Artifacts:
    """``client.artifacts``: list and load artifacts."""

    def __init__(self, client: KitaruClient) -> None:
        self._client = client

    def list(
        self,
        exec_id: str,
        *,
        name: str | None = None,
        kind: str | None = None,
        producing_call: str | None = None,
        limit: int | None = None,
    ) -> list[ArtifactRef]:
        """Return an execution's artifacts in creation order, filtered by the store: by
        ``name``, ``kind``, or ``producing_call``, the checkpoint that produced them (its
        name; an invocation id or call id picks one call of it); at most ``limit``.

        Example:
            >>> client.artifacts.list(exec_id, producing_call="write_summary")  # doctest: +SKIP
            [ArtifactRef(name='write_summary', ...), ArtifactRef(name='summary_context', ...)]
        """
        store = self._client._store
        full_id = store.resolve_exec_id(exec_id)
        if limit is not None and limit < 0:
            raise KitaruUsageError(f"The limit of an artifact listing must be 0 or more, got {limit}.")
        records = store.list_artifacts(full_id, name=name, kind=kind, producing_call=producing_call)
        return self._refs(full_id, records if limit is None else records[:limit])

    def get(self, artifact_id: str) -> ArtifactRef:
        """Return one artifact (its id, a unique start of it, or its short form: the id's end);
        ``.load()`` gives its value."""
        if artifact_id.startswith(MEMORY_ARTIFACT_PREFIX):  # a memory version's value
            return self._client.memories.artifact(artifact_id)
        store = self._client._store
        record = store.get_artifact(store.resolve_artifact_id(artifact_id))
        return self._refs(record.exec_id, [record])[0]

    def _refs(self, exec_id: str, records: builtins.list[ArtifactRecord]) -> builtins.list[ArtifactRef]:
        """The artifacts as refs naming the checkpoints that produced them."""
        loader = self._client._load_artifact
        calls = {}
        if any(r.call_id is not None for r in records):
            calls = {c.call_id: c for c in self._client._store.list_calls(exec_id)}
        return [to_artifact(r, loader, calls.get(r.call_id) if r.call_id else None) for r in records]


class KitaruClient:
    """Read and act on executions and artifacts of a store.

    With no arguments it uses the active configuration's stores. ``target`` is where
    resumed, retried and replayed executions run; by default, in this process.

    Example:
        >>> client = KitaruClient()  # doctest: +SKIP
        >>> client.executions.latest().status  # doctest: +SKIP
        <ExecutionStatus.COMPLETED: 'completed'>
    """

    def __init__(
        self,
        *,
        store: MetadataStore | None = None,
        artifacts: ArtifactStore | None = None,
        target: ExecutionTarget | None = None,
    ) -> None:
        self._default_stores: Any = None
        if store is None or artifacts is None:
            # The one upward edge of the client: the composition root supplies the defaults.
            from kitaru._connect import default_stores

            stores = default_stores()
            if store is None and artifacts is None:
                self._default_stores = stores  # and their execution target
            store = store or stores.metadata
            artifacts = artifacts or stores.artifacts
        self._store = store
        self._artifacts = artifacts
        self._given_target = target
        self.executions = Executions(self)
        self.artifacts = _Artifacts(self)
        self.memories = Memories(self)

    def _registry(self) -> Registry:
        """The model aliases and secrets that go with this client's store (a server's when the
        store is one; memory compaction resolves its model there)."""
        from kitaru._connect import registry_for

        return registry_for(self._store)

    @property
    def _target(self) -> ExecutionTarget:
        """The target given, else the one the settings choose (``execution_target``; for the
        default stores, the runners of a ``ray`` target open those), made when first needed:
        reading and listing never load the engine that runs executions."""
        target = self._given_target
        if target is None:
            if self._default_stores is not None:
                target = self._given_target = self._default_stores.target
            else:
                from kitaru._connect import configured_target

                target = self._given_target = configured_target()
        return target

    def _load_artifact(self, artifact_id: str) -> Any:
        store = self._store
        record = store.get_artifact(artifact_id)
        # Classes of a script's flow load from that script, looked up only when a value needs it.
        return load_value(
            self._artifacts,
            record,
            shared_store=store.shared,
            script=lambda: source_script(store.get_execution(record.exec_id).source),
        )
