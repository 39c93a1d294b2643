"""Frozen public records returned by :class:`kitaru.KitaruClient`.

All models are frozen dataclasses; ``to_dict()`` gives a JSON-serializable
dict (datetimes as ISO 8601 strings, enums as their values).

Example:
    >>> from kitaru.models import FailureInfo
    >>> FailureInfo(message="boom", exception_type="ValueError").to_dict()["origin"]
    'unknown'
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from kitaru._types import (
    CallStatus,
    CheckpointType,
    ExecutionStatus,
    FailureOrigin,
    Record,
    fill_slots_directly,
    short_id,
)
from kitaru.records import Failure, MemoryCompaction, MemoryScope
from kitaru.records import MemoryEntry as MemoryRecord

__all__ = [
    "ArtifactRef",
    "CheckpointAttempt",
    "CheckpointCall",
    "CheckpointType",
    "DeletionResult",
    "Execution",
    "ExecutionStatus",
    "FailureInfo",
    "FailureOrigin",
    "CompactResult",
    "CompactionRecord",
    "LlmUsage",
    "LogEntry",
    "MemoryEntry",
    "MemoryScopeInfo",
    "PendingWait",
    "PurgeResult",
]


def _jsonable(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _jsonable(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if not f.name.startswith("_")
        }
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


class _Record(Record):
    """Mixin giving frozen records a JSON-serializable ``to_dict`` (and the equality, hash and
    repr of :class:`kitaru._types.Record`: their dataclasses declare ``eq=False, repr=False``)."""

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        """Return the record as a JSON-serializable dict."""
        result = _jsonable(self)
        assert isinstance(result, dict)
        return result

    def model_dump(self, *, mode: str = "python") -> dict[str, Any]:
        """The record as a dict, as pydantic models give it (``mode="json"``: JSON values);
        kept for programs written against the original API."""
        if mode == "json":
            return self.to_dict()
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class FailureInfo(_Record):
    """Why an attempt, a call or an execution failed.

    ``recoverable`` is true when the failing process could not load code the
    execution needs (a flow's or a value's type): nothing recorded is at fault, and
    a retry where that code loads (its project directory) continues the execution.
    """

    message: str
    exception_type: str
    traceback: str | None = None
    origin: FailureOrigin = FailureOrigin.UNKNOWN
    recoverable: bool = False

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> FailureInfo | None:
        """Build from a stored failure dict (``None`` stays ``None``)."""
        if not data:
            return None
        failure = Failure.from_dict(data)
        return cls(
            message=failure.message,
            exception_type=failure.exception_type,
            traceback=failure.traceback,
            origin=failure.origin,
            recoverable=failure.recoverable,
        )


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class ArtifactRef(_Record):
    """A stored value. ``load()`` returns it as the type it was saved as.

    ``producing_call`` is the name of the checkpoint that produced it (its call is
    ``producing_call_id``). ``save_type`` says how it was stored: ``"step_output"``
    (a checkpoint's return value or the flow's result), ``"manual"`` (saved with
    ``kitaru.save()``) or ``"external"`` (given from outside the flow's code: a flow
    input or the answer to a wait).
    """

    artifact_id: str
    exec_id: str
    name: str
    kind: str
    serializer: str
    type_path: str
    size: int
    created_at: dt.datetime
    producing_call_id: str | None = None
    tags: tuple[str, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)
    producing_call: str | None = None
    save_type: str = "step_output"
    _loader: Callable[[str], Any] | None = field(default=None, repr=False, compare=False)

    @property
    def short_id(self) -> str:
        """The id's end (its random part), as tables print it; accepted wherever the id is."""
        return short_id(self.artifact_id)

    def load(self) -> Any:
        """Return the stored value.

        Example:
            >>> ref.load()  # doctest: +SKIP
            {'answer': 42}
        """
        if self._loader is None:
            from kitaru.errors import KitaruStateError

            raise KitaruStateError(
                f"Artifact {self.artifact_id!r} was not obtained from a client and cannot load itself; "
                "use KitaruClient().artifacts.get(artifact_id).load()."
            )
        return self._loader(self.artifact_id)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class CheckpointAttempt(_Record):
    """One attempt at a checkpoint call.

    ``metadata`` is what ``kitaru.log()`` recorded while this attempt ran; the call's
    :attr:`CheckpointCall.metadata` merges it over all attempts (and adds what Kitaru
    notes about the call).
    """

    attempt_id: str
    number: int
    status: CallStatus
    started_at: dt.datetime
    ended_at: dt.datetime | None = None
    failure: FailureInfo | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class CheckpointCall(_Record):
    """One recorded call of a checkpoint (or another durable call) in an execution.

    ``artifacts`` starts with the output artifact, followed by what the call saved.
    ``after`` lists the invocation ids of the calls it waited for (their futures were
    its arguments), ``parent_call_ids`` the ids of those calls. ``original_call_id``
    is the call whose output it reuses: the source call of a call copied by a replay,
    or the call a cache hit took its output from (``None`` for a call that ran).
    """

    call_id: str
    invocation_id: str
    name: str
    type: str | None
    status: CallStatus
    seq: int
    kind: str
    started_at: dt.datetime
    ended_at: dt.datetime | None = None
    attempts: tuple[CheckpointAttempt, ...] = ()
    artifacts: tuple[ArtifactRef, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)
    failure: FailureInfo | None = None
    after: tuple[str, ...] = ()
    parent_call_ids: tuple[str, ...] = ()
    original_call_id: str | None = None

    @property
    def checkpoint_type(self) -> str | None:
        """The checkpoint's ``type`` (e.g. ``"llm_call"``), as the original API names it."""
        return self.type

    @property
    def duration_seconds(self) -> float | None:
        """Wall time from start to end, or ``None`` while running."""
        if self.ended_at is None:
            return None
        return (self.ended_at - self.started_at).total_seconds()


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class PendingWait(_Record):
    """A wait point that is waiting for input."""

    wait_id: str
    name: str
    question: str | None
    schema: dict[str, Any] | None
    metadata: dict[str, Any]
    since: dt.datetime

    @property
    def entered_waiting_at(self) -> dt.datetime:
        """When the wait began waiting: ``since``, as the original API names it."""
        return self.since


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class LogEntry(_Record):
    """One captured log line of an execution.

    ``checkpoint_name`` names the checkpoint whose call wrote it (``None`` for lines
    of the flow body). A line of a ``logging`` record says where in the code it was
    made: ``module`` (the module's name without its package, as ``logging`` gives it),
    ``filename`` (the file's name without its directory) and ``lineno``; lines written
    to stdout or stderr have no call site (``None``).
    """

    timestamp: dt.datetime
    message: str
    level: str = "INFO"
    source: str = "stdout"
    call_id: str | None = None
    invocation_id: str | None = None
    checkpoint_name: str | None = None
    module: str | None = None
    filename: str | None = None
    lineno: int | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class LlmUsage(_Record):
    """The model calls (``kitaru.llm()``) an execution made live, summed.

    ``cost_usd`` sums the calls whose price is known (``None`` when none is);
    ``unpriced_calls`` counts the others (a model missing from the price table, a
    local model), so with any of them the cost is a lower bound. Calls that a resume
    or replay reused from the record cost nothing new and are not counted again.

    Example:
        >>> LlmUsage(calls=2, input_tokens=30, output_tokens=12, cost_usd=0.0001).total_tokens
        42
    """

    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None
    unpriced_calls: int = 0

    @property
    def total_tokens(self) -> int:
        """Input and output tokens together."""
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Execution(_Record):
    """One execution of a flow, with its checkpoint calls and artifacts.

    ``executions.get(id)`` fills ``checkpoints`` with every call; for long
    executions read them a page at a time with :meth:`list_checkpoints`.

    ``flow_id`` identifies the flow's definition (``module:qualname``; executions
    are listed by ``flow_name``), ``stack_name`` is the stack it ran on,
    ``status_reason`` says in words why it is in its status when that needs saying
    (a runner that is gone, the failure, the wait it waits at, a cancel request),
    and ``frozen_execution_spec`` is ``spec``.
    """

    exec_id: str
    flow_name: str
    status: ExecutionStatus
    created_at: dt.datetime
    started_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    failure: FailureInfo | None = None
    original_exec_id: str | None = None
    spec: dict[str, Any] = field(default_factory=dict)
    checkpoints: tuple[CheckpointCall, ...] = ()
    artifacts: tuple[ArtifactRef, ...] = ()
    pending_waits: tuple[PendingWait, ...] = ()
    has_result: bool = False
    run_count: int = 0
    orphaned: bool = False
    """The runner that held it is gone (process ended or lease expired): resume it."""
    cancel_requested: bool = False
    runner_id: str | None = None
    heartbeat_at: dt.datetime | None = None
    checkpoint_count: int | None = None
    """How many durable calls the execution recorded (``None`` where not counted);
    ``checkpoints`` holds them all unless it was read without them."""
    artifact_count: int | None = None
    """How many artifacts the execution stored (counted by ``executions.list()``, else ``None``)."""
    flow_id: str | None = None
    stack_name: str | None = None
    status_reason: str | None = None
    llm_usage: LlmUsage | None = None
    """Tokens and cost of its model calls (read by ``executions.get()`` and ``list()``)."""
    _client: Any = field(default=None, repr=False, compare=False)

    @property
    def short_id(self) -> str:
        """The id's end (its random part), as tables print it; accepted wherever the id is.

        Ids made within a minute share their start (the creation time), not their end.
        """
        return short_id(self.exec_id)

    @property
    def frozen_execution_spec(self) -> dict[str, Any]:
        """The frozen execution spec (``spec``), as the original API names it."""
        return self.spec

    @property
    def pending_wait(self) -> PendingWait | None:
        """The first pending wait, or ``None``."""
        return self.pending_waits[0] if self.pending_waits else None

    def to_dict(self) -> dict[str, Any]:
        """Return the execution as a JSON-serializable dict, ``pending_wait`` (the first
        pending wait, or ``None``) included beside ``pending_waits``."""
        data = _Record.to_dict(self)
        wait = self.pending_wait
        data["pending_wait"] = None if wait is None else wait.to_dict()
        return data

    def _require_client(self) -> Any:
        if self._client is None:
            from kitaru.errors import KitaruStateError

            raise KitaruStateError(
                "This Execution was not obtained from a KitaruClient; use the client's methods."
            )
        return self._client

    def list_checkpoints(self, *, offset: int = 0, limit: int | None = None) -> list[CheckpointCall]:
        """Return this execution's calls in order, read from the store: all of them, or
        the page of at most ``limit`` after ``offset``
        (see ``KitaruClient().executions.list_checkpoints``)."""
        client = self._require_client()
        return client.executions.list_checkpoints(  # type: ignore[no-any-return]
            self.exec_id, offset=offset, limit=limit
        )

    def list_artifacts(self) -> list[ArtifactRef]:
        """Return this execution's artifacts in creation order, read from the store
        (see ``KitaruClient().artifacts.list``)."""
        return self._require_client().artifacts.list(self.exec_id)  # type: ignore[no-any-return]

    def result(self) -> Any:
        """Return the flow's return value, loaded from the store.

        Raises:
            KitaruStateError: The execution has not completed (it still runs or
                waits, failed or was cancelled); the message says what to do.
        """
        return self._require_client().executions._result(self.exec_id)

    def resume(self) -> Execution:
        """Resume this execution (see ``KitaruClient().executions.resume``)."""
        return self._require_client().executions.resume(self.exec_id)  # type: ignore[no-any-return]

    def retry(self) -> Execution:
        """Retry this failed execution (see ``KitaruClient().executions.retry``)."""
        return self._require_client().executions.retry(self.exec_id)  # type: ignore[no-any-return]

    def refresh(self) -> Execution:
        """Return this execution as it is now in the store."""
        return self._require_client().executions.get(self.exec_id)  # type: ignore[no-any-return]

    def cancel(self) -> Execution:
        """Cancel this execution (see ``KitaruClient().executions.cancel``)."""
        return self._require_client().executions.cancel(self.exec_id)  # type: ignore[no-any-return]

    def replay(self, *, from_: str, overrides: dict[str, Any] | None = None, **flow_inputs: Any) -> Execution:
        """Replay this execution from a call (see ``KitaruClient().executions.replay``)."""
        client = self._require_client()
        return client.executions.replay(  # type: ignore[no-any-return]
            self.exec_id, from_=from_, overrides=overrides, **flow_inputs
        )

    @property
    def duration_seconds(self) -> float | None:
        """Wall time from start to end, or ``None`` while not ended."""
        if self.started_at is None or self.ended_at is None:
            return None
        return (self.ended_at - self.started_at).total_seconds()


# Built by the ten thousand (an execution's calls, a listing of executions).
fill_slots_directly(FailureInfo, ArtifactRef, CheckpointAttempt, CheckpointCall, Execution)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class DeletionResult(_Record):
    """What ``executions.delete()`` or ``executions.prune()`` deleted (with ``dry_run``: would delete).

    ``exec_ids`` are the executions deleted (a prune's oldest first) and ``by_flow``
    counts them per flow. ``skipped`` maps each execution that was chosen but kept
    to the reason (a live runner holds it, or it changed meanwhile). ``calls``,
    ``attempts``, ``artifacts`` and ``logs`` count the rows deleted from the
    metadata store; ``adopted_artifacts`` counts artifact rows copied into kept
    executions whose cached or replayed calls use them as output. ``blobs`` and
    ``bytes_freed`` count the artifact store's blobs deleted because no artifact
    uses them any more (blobs shared by content with a kept artifact stay);
    ``temp_files`` the files that interrupted blob writes left behind. The
    database reuses the space of deleted rows (a SQLite file does not shrink until
    it is vacuumed).

    Example:
        >>> DeletionResult(dry_run=True, exec_ids=("0199c0de",)).executions
        1
    """

    dry_run: bool = False
    exec_ids: tuple[str, ...] = ()
    by_flow: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    calls: int = 0
    attempts: int = 0
    artifacts: int = 0
    logs: int = 0
    adopted_artifacts: int = 0
    blobs: int = 0
    bytes_freed: int = 0
    temp_files: int = 0
    """Temporary files of interrupted blob writes removed by a prune (none in a dry run)."""

    @property
    def executions(self) -> int:
        """How many executions were deleted (would be, in a dry run)."""
        return len(self.exec_ids)

    def to_dict(self) -> dict[str, Any]:
        """Return the result as a JSON-serializable dict, with ``executions`` (the count)."""
        result = _jsonable(self)
        assert isinstance(result, dict)
        return {"executions": self.executions, **result}


# -- memory ------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class MemoryEntry(_Record):
    """One version of a memory key (``is_deleted``: a tombstone written by ``delete``).

    ``artifact_id`` names the value: ``KitaruClient().artifacts.get(entry.artifact_id).load()``
    loads it. ``execution_id`` is the execution that wrote it (``None``: written outside a flow).

    Example:
        >>> import datetime as dt
        >>> MemoryEntry("notes", "builtins:str", 1, "agent", "flow", dt.datetime(2025, 1, 1), False,
        ...             "memory:flow:agent:notes@1", None).version
        1
    """

    key: str
    value_type: str
    version: int
    scope: str
    scope_type: str
    created_at: dt.datetime
    is_deleted: bool
    artifact_id: str
    execution_id: str | None
    size: int = 0

    @classmethod
    def from_record(cls, record: MemoryRecord) -> MemoryEntry:
        """The public view of a stored memory version."""
        return cls(
            key=record.key,
            value_type=record.type_path,
            version=record.version,
            scope=record.scope,
            scope_type=record.scope_type,
            created_at=record.created_at,
            is_deleted=record.deleted,
            artifact_id=record.as_artifact().artifact_id,
            execution_id=record.exec_id,
            size=record.size,
        )


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class MemoryScopeInfo(_Record):
    """A memory scope: ``entry_count`` keys with a live value (``key_count`` with tombstones)."""

    scope: str
    scope_type: str
    entry_count: int
    key_count: int
    updated_at: dt.datetime

    @classmethod
    def from_record(cls, record: MemoryScope) -> MemoryScopeInfo:
        """The public view of a stored scope summary."""
        return cls(record.scope, record.scope_type, record.live, record.keys, record.updated_at)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class PurgeResult(_Record):
    """What a purge deleted: ``versions_deleted`` versions of ``keys_affected`` keys."""

    versions_deleted: int
    keys_affected: int
    scope: str
    scope_type: str


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class CompactionRecord(_Record):
    """An audit record of memory maintenance: a compaction (the ``source_keys`` at
    ``source_versions`` summarised into ``target_key`` at ``target_version``) or a purge."""

    operation: str
    scope: str
    scope_type: str
    timestamp: dt.datetime
    source_keys: list[str]
    source_versions: list[int]
    target_key: str | None
    target_version: int | None
    instruction: str | None
    model: str | None
    keys_affected: int
    versions_deleted: int
    keep: int | None

    @classmethod
    def from_record(cls, record: MemoryCompaction) -> CompactionRecord:
        """The public view of a stored audit record."""
        return cls(
            operation=record.operation,
            scope=record.scope,
            scope_type=record.scope_type,
            timestamp=record.created_at,
            source_keys=[key for key, _ in record.sources],
            source_versions=[version for _, version in record.sources],
            target_key=record.target_key,
            target_version=record.target_version,
            instruction=record.instruction,
            model=record.model,
            keys_affected=record.keys_affected,
            versions_deleted=record.versions_deleted,
            keep=record.keep,
        )


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class CompactResult(_Record):
    """What a compaction wrote (``entry``), from how many source versions, and its audit record."""

    entry: MemoryEntry
    sources_read: int
    scope: str
    scope_type: str
    compaction_record: CompactionRecord
