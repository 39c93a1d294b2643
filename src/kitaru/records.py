"""Storage records that cross layers: what stores keep and every layer round-trips.

Stores write and read them; the runtime, the artifact codec and the client
build and consume them. They hold plain data only. :class:`Failure` and
:class:`SourceRef` are the typed shapes of the JSON objects stored in
``failure`` and ``source`` columns: build and read those objects through them
(``to_dict`` / ``from_dict``), so the stored shape is written in one place.
:class:`WaitRequest` and :class:`WaitAnswer` are the same for a wait: a durable
call of kind ``wait`` keeps its request and, once given, its answer in the
call's metadata under the key ``"wait"`` (one flat dict, so older readers keep
working); the answer's value is the call's output artifact.

Example:
    >>> from kitaru.records import LogRecord
    >>> LogRecord.__name__
    'LogRecord'
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from kitaru._types import CallKind, CallStatus, ExecutionStatus, FailureOrigin, Record, fill_slots_directly

__all__ = [
    "ANSWERED_BY_CLIENT",
    "ANSWERED_BY_SERVER",
    "ApiKeyRecord",
    "ANSWERED_BY_TERMINAL",
    "WAIT_KEY",
    "ArtifactRecord",
    "AttemptRecord",
    "CallRecord",
    "CompletedAttempt",
    "DeletedRows",
    "ExecutionRecord",
    "ExecutionSummary",
    "Failure",
    "LlmUsageRecord",
    "LlmUsageGroup",
    "LlmUsageSummary",
    "LlmUsageTotals",
    "LogRecord",
    "MEMORY_NAME",
    "MEMORY_RESERVED",
    "MEMORY_SCOPE_TYPES",
    "MemoryCompaction",
    "MemoryEntry",
    "MemoryOp",
    "MemoryScope",
    "SourceRef",
    "WaitAnswer",
    "WaitRequest",
    "check_memory_key",
    "check_memory_scope",
]


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Failure(Record):
    """Why an attempt, a call or an execution failed; stored as a JSON object.

    ``exception_type`` is ``module.QualName`` (the bare name for builtins).
    ``invocation_id`` and ``attempt`` say which call and attempt failed, when a
    call did. ``recoverable`` marks a failure caused by code the failing process
    could not load (not by the execution's data): a retry where it loads continues.

    Example:
        >>> Failure("boom", "ValueError", origin=FailureOrigin.USER_CODE).to_dict()["origin"]
        'user_code'
    """

    message: str
    exception_type: str
    traceback: str | None = None
    origin: FailureOrigin = FailureOrigin.UNKNOWN
    attempt: int | None = None
    invocation_id: str | None = None
    recoverable: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The stored shape: ``message``, ``exception_type``, ``traceback``, ``origin``
        (a ``FailureOrigin`` value), and ``attempt`` / ``invocation_id`` / ``recoverable``
        when set."""
        data: dict[str, Any] = {
            "message": self.message,
            "exception_type": self.exception_type,
            "traceback": self.traceback,
            "origin": self.origin.value,
        }
        if self.attempt is not None:
            data["attempt"] = self.attempt
        if self.invocation_id is not None:
            data["invocation_id"] = self.invocation_id
        if self.recoverable:
            data["recoverable"] = True
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Failure:
        """Read a stored failure; missing keys read as empty, an unknown origin as ``unknown``."""
        try:
            origin = FailureOrigin(data.get("origin") or "unknown")
        except ValueError:
            origin = FailureOrigin.UNKNOWN
        attempt = data.get("attempt")
        invocation_id = data.get("invocation_id")
        return cls(
            message=str(data.get("message") or ""),
            exception_type=str(data.get("exception_type") or ""),
            traceback=data.get("traceback"),
            origin=origin,
            attempt=int(attempt) if attempt is not None else None,
            invocation_id=str(invocation_id) if invocation_id is not None else None,
            recoverable=bool(data.get("recoverable")),
        )


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class SourceRef(Record):
    """How another process imports a flow: its module and qualname, and the file
    path (needed for scripts run as ``__main__``); stored as a JSON object.

    Example:
        >>> SourceRef("app", "research").to_dict()
        {'module': 'app', 'qualname': 'research', 'path': None}
    """

    module: str
    qualname: str
    path: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The stored shape: ``module``, ``qualname`` and ``path``."""
        return {"module": self.module, "qualname": self.qualname, "path": self.path}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SourceRef:
        """Read a stored source reference; missing keys read as empty."""
        path = data.get("path")
        return cls(
            module=str(data.get("module") or ""),
            qualname=str(data.get("qualname") or ""),
            path=str(path) if path else None,
        )


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class ExecutionRecord(Record):
    """One flow execution as stored.

    ``failure`` is a dict with keys ``message``, ``exception_type``,
    ``traceback``, ``origin`` (a ``FailureOrigin`` value) or ``None``.
    ``source`` says how to import the flow: ``{"module", "qualname", "path"}``.
    ``run_count`` counts how often the flow body was started (first run,
    flow retries, re-runs in place). ``epoch`` is the fencing token: every
    start and claim raises it, and so does a release by anyone but the runner;
    a runner's writes carry the epoch of its claim and the store refuses stale ones.
    ``queued_at`` is set while the execution waits for a worker (it is not claimed before that
    time); ``queue`` names the queue it waits in.
    """

    exec_id: str
    flow_name: str
    status: ExecutionStatus
    created_at: dt.datetime
    updated_at: dt.datetime
    started_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    failure: dict[str, Any] | None = None
    original_exec_id: str | None = None
    spec: dict[str, Any] = field(default_factory=dict)
    source: dict[str, Any] = field(default_factory=dict)
    inputs_artifact_id: str | None = None
    result_artifact_id: str | None = None
    runner_id: str | None = None
    heartbeat_at: dt.datetime | None = None
    run_count: int = 0
    cancel_requested: bool = False
    epoch: int = 0
    queued_at: dt.datetime | None = None
    queue: str | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class CompletedAttempt(Record):
    """A whole attempt written with its outcome (what ``record_completed_attempt`` takes)."""

    call: CallRecord
    attempt: AttemptRecord
    output: ArtifactRecord
    ended_at: dt.datetime


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class LlmUsageRecord(Record):
    """One model call made live by an execution: who made it, tokens, cost and latency.

    ``call_id`` is the flow-level llm call, or the checkpoint call that made it.
    ``input_tokens``/``output_tokens`` are ``None`` when the provider reported none;
    ``cost_usd`` is ``None`` when the model's price is unknown (never a guessed 0).
    """

    usage_id: str
    exec_id: str
    call_id: str
    name: str
    model: str
    input_tokens: int | None
    output_tokens: int | None
    cost_usd: float | None
    latency_ms: float
    created_at: dt.datetime


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class LlmUsageTotals(Record):
    """The model calls an execution made live, summed.

    ``cost_usd`` sums the priced calls (``None`` when no call was priced);
    ``unpriced_calls`` counts the calls whose price is unknown, so with any of them
    the cost is a lower bound. Calls a replay or resume reused cost nothing new and
    are not counted again.

    Example:
        >>> LlmUsageTotals().calls
        0
    """

    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None
    unpriced_calls: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The totals as JSON-serializable data."""
        return {
            "calls": self.calls,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost_usd": self.cost_usd,
            "unpriced_calls": self.unpriced_calls,
        }


_NO_USAGE = LlmUsageTotals()


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class LlmUsageGroup(Record):
    """The model calls of one group, summed: one flow, model, execution or time bucket.

    ``key`` is the flow name, the model, the execution id, or the bucket's start as
    ISO 8601 UTC text; ``flow_name`` names an execution's flow (``None`` in other groups).
    """

    key: str
    totals: LlmUsageTotals = _NO_USAGE
    flow_name: str | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class LlmUsageSummary(Record):
    """The model calls recorded in a time range, summed in total and per group.

    ``by_flow`` and ``by_model`` hold every group, costliest first; ``by_execution``
    the costliest executions (at most the limit asked for); ``by_time`` the buckets
    that have calls, oldest first, each ``bucket_seconds`` long from the Unix epoch.

    Example:
        >>> LlmUsageSummary().totals.calls
        0
    """

    totals: LlmUsageTotals = _NO_USAGE
    by_flow: tuple[LlmUsageGroup, ...] = ()
    by_model: tuple[LlmUsageGroup, ...] = ()
    by_execution: tuple[LlmUsageGroup, ...] = ()
    by_time: tuple[LlmUsageGroup, ...] = ()
    bucket_seconds: int = 86400


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class ExecutionSummary(Record):
    """One execution as listed, with what the store counted in the same query: its
    recorded calls, its artifacts, its waits that wait for input and its model usage."""

    record: ExecutionRecord
    checkpoint_count: int
    artifact_count: int
    pending_wait_count: int
    llm_usage: LlmUsageTotals = _NO_USAGE


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class ArtifactRecord(Record):
    """One stored value: a checkpoint output, a flow's inputs/result, or a saved value.

    Exactly one of ``data`` (small values, stored inline in the row) and
    ``blob_key`` (the artifact store's key, the sha256 hex digest) is set.
    ``kind`` is an ``ArtifactKind`` value. ``call_id`` is the producing call.
    """

    artifact_id: str
    exec_id: str
    name: str
    kind: str
    serializer: str
    type_path: str
    size: int
    sha256: str
    created_at: dt.datetime
    call_id: str | None = None
    data: bytes | None = None
    blob_key: str | None = None
    tags: tuple[str, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class AttemptRecord(Record):
    """One attempt at a durable call. ``number`` starts at 1 per call."""

    attempt_id: str
    call_id: str
    number: int
    status: CallStatus
    started_at: dt.datetime
    ended_at: dt.datetime | None = None
    failure: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    """What ``kitaru.log()`` recorded while the attempt ran (``None``: nothing)."""


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class CallRecord(Record):
    """One durable call of an execution, unique per ``(exec_id, invocation_id)``.

    ``seq`` is the call's position in the flow (1-based, order of calls).
    ``after`` lists the invocation ids this call waited for. ``output`` (the
    output artifact; data included unless the read says otherwise),
    ``attempts`` and ``artifacts`` (what the call produced in its execution,
    in creation order, without data) are filled by reads that say so;
    ``attempt_count`` always is.
    """

    call_id: str
    exec_id: str
    invocation_id: str
    seq: int
    name: str
    kind: CallKind
    status: CallStatus
    started_at: dt.datetime
    type: str | None = None
    ended_at: dt.datetime | None = None
    cache_key: str | None = None
    input_fingerprint: str | None = None
    output_artifact_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    after: tuple[str, ...] = ()
    parent_call_id: str | None = None
    failure: dict[str, Any] | None = None
    attempt_count: int = 0
    output: ArtifactRecord | None = None
    attempts: tuple[AttemptRecord, ...] = ()
    artifacts: tuple[ArtifactRecord, ...] = ()


# Read back by the ten thousand (an execution's calls, a listing of executions).
fill_slots_directly(ExecutionRecord, ExecutionSummary, ArtifactRecord, AttemptRecord, CallRecord)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class LogRecord(Record):
    """One captured log line (stdout, stderr or a ``logging`` record) of an execution.

    ``seq`` is assigned by the store when the record is inserted: it increases in
    insertion order within a store and orders :meth:`MetadataStore.list_logs`.
    Records passed to :meth:`MetadataStore.append_logs` leave it 0.
    """

    exec_id: str
    timestamp: dt.datetime
    message: str
    level: str = "INFO"
    source: str = "stdout"
    call_id: str | None = None
    invocation_id: str | None = None
    seq: int = 0
    module: str | None = None
    """Where a ``logging`` record was made: its module, file name (without the
    directory) and line number; ``None`` for stdout and stderr lines."""
    filename: str | None = None
    lineno: int | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class DeletedRows(Record):
    """What one deletion of executions removed from a metadata store (or, in a dry run,
    would have removed).

    ``exec_ids`` were deleted; ``skipped`` were not, because they changed since the
    caller read them (another status or runner) or no longer exist. The counts are
    rows of each table. ``adopted`` counts artifact rows copied into kept executions
    whose calls linked them as their output (cache hits, replayed calls), so that no
    kept row points at a deleted one. ``blobs`` are the ``(blob key, size)`` of the
    blobs the deleted rows held that no artifact row references any more: the
    artifact store may delete them.

    Example:
        >>> DeletedRows(exec_ids=("e1",), calls=3).calls
        3
    """

    exec_ids: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    calls: int = 0
    attempts: int = 0
    artifacts: int = 0
    logs: int = 0
    adopted: int = 0
    blobs: tuple[tuple[str, int], ...] = ()


WAIT_KEY: Final = "wait"
"""The key of a wait call's metadata that holds its request and answer."""

ANSWERED_BY_TERMINAL: Final = "terminal"
"""``answered_by`` of an answer typed at the runner's own terminal prompt."""

ANSWERED_BY_CLIENT: Final = "client"
"""``answered_by`` of an answer given through the client (CLI, API)."""

ANSWERED_BY_SERVER: Final = "server"
"""``answered_by`` of an answer given to the server's input route (e.g. from the dashboard)."""

_UNKNOWN_TIME: Final = dt.datetime.min.replace(tzinfo=dt.UTC)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class WaitRequest(Record):
    """What a wait asks for, as stored with its call.

    ``name`` is the wait's invocation id; ``schema`` the JSON schema an answer
    must match (``None``: a continue/abort gate); ``timeout`` how long the
    runner polls before it releases its thread, in seconds. ``type`` describes
    the wait's Python type so that whoever answers can check the answer with it
    (``kitaru.serde`` writes and reads it; ``None``: not describable).
    ``rejected`` says why an earlier answer was refused by that type when the
    flow took it, and the wait asks again.
    """

    name: str
    question: str | None = None
    schema: dict[str, Any] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    timeout: float | None = None
    type: dict[str, Any] | None = None
    rejected: str | None = None

    def to_metadata(self) -> dict[str, Any]:
        """The call metadata that records this request (no answer yet)."""
        info: dict[str, Any] = {
            "name": self.name,
            "question": self.question,
            "schema": self.schema,
            "metadata": dict(self.metadata),
            "timeout": self.timeout,
            "type": self.type,
        }
        if self.rejected is not None:
            info["rejected"] = self.rejected
        return {WAIT_KEY: info}

    @classmethod
    def from_metadata(cls, metadata: dict[str, Any], *, default_name: str) -> WaitRequest:
        """Read the request from a wait call's metadata (``default_name`` when unnamed)."""
        info = metadata.get(WAIT_KEY) or {}
        timeout = info.get("timeout")
        return cls(
            name=info.get("name") or default_name,
            question=info.get("question"),
            schema=info.get("schema"),
            metadata=dict(info.get("metadata") or {}),
            timeout=None if timeout is None else float(timeout),
            type=info.get("type") if isinstance(info.get("type"), dict) else None,
            rejected=info.get("rejected"),
        )


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class WaitAnswer(Record):
    """How a wait was answered.

    ``value_artifact_id`` is the stored answer (the call's output; ``None`` when
    aborted); ``answered_by`` is :data:`ANSWERED_BY_TERMINAL`,
    :data:`ANSWERED_BY_CLIENT` or :data:`ANSWERED_BY_SERVER`. ``checked`` says
    what the value was checked with before it was recorded: ``"type"`` (the wait's own type, as the flow takes
    it) or ``"schema"`` (only its JSON schema, formats included, because the
    type could not be loaded where it was answered; ``unchecked_reason`` says
    why); ``None`` for an abort, a gate, or an answer recorded before this was kept.
    """

    aborted: bool
    answered_by: str
    answered_at: dt.datetime
    value_artifact_id: str | None = None
    checked: str | None = None
    unchecked_reason: str | None = None

    def to_metadata(self) -> dict[str, Any]:
        """The call metadata patch that records this answer (the value is the call's output)."""
        info: dict[str, Any] = {
            "aborted": self.aborted,
            "answered_by": self.answered_by,
            "answered_at": self.answered_at.isoformat(),
        }
        if self.checked is not None:
            info["checked"] = self.checked
        if self.unchecked_reason is not None:
            info["unchecked_reason"] = self.unchecked_reason
        return {WAIT_KEY: info}

    @classmethod
    def from_metadata(cls, metadata: dict[str, Any], *, output_artifact_id: str | None) -> WaitAnswer | None:
        """Read the answer from a wait call's metadata; ``None`` while it is not answered."""
        info = metadata.get(WAIT_KEY) or {}
        if "aborted" not in info:
            return None
        answered_at = info.get("answered_at")
        return cls(
            aborted=bool(info["aborted"]),
            answered_by=str(info.get("answered_by") or ANSWERED_BY_CLIENT),
            answered_at=dt.datetime.fromisoformat(answered_at) if answered_at else _UNKNOWN_TIME,
            value_artifact_id=None if info["aborted"] else output_artifact_id,
            checked=info.get("checked"),
            unchecked_reason=info.get("unchecked_reason"),
        )


# -- memory ----------------------------------------------------------------

MEMORY_SCOPE_TYPES: Final = ("namespace", "flow", "execution")
"""The kinds of memory scope: a named namespace, a flow (by name), one execution (by id)."""

MEMORY_NAME: Final = re.compile(r"^[A-Za-z0-9._\-/]+$")
"""What a memory key and a scope name may contain."""

MEMORY_RESERVED: Final = "_compaction/"
"""Keys starting with this are kept for Kitaru's own use (compaction)."""


def check_memory_key(key: object, *, reserved_ok: bool = False) -> str:
    """Return ``key`` when it is a valid memory key, else raise ``KitaruUsageError``.

    Example:
        >>> check_memory_key("notes/today")
        'notes/today'
    """
    from kitaru.errors import KitaruUsageError

    if not isinstance(key, str) or not MEMORY_NAME.match(key):
        raise KitaruUsageError(
            f"Memory key {key!r} is not valid: use letters, digits and . _ - / only "
            "(pattern ^[A-Za-z0-9._\\-/]+$), e.g. 'notes/today'."
        )
    if not reserved_ok and key.startswith(MEMORY_RESERVED):
        raise KitaruUsageError(
            f"Memory key {key!r} starts with {MEMORY_RESERVED!r}, which is reserved for compaction "
            "records. Choose another key."
        )
    return key


def check_memory_scope(scope: object, scope_type: object) -> tuple[str, str]:
    """Return ``(scope_type, scope)`` when both are valid, else raise ``KitaruUsageError``.

    Example:
        >>> check_memory_scope("team", "namespace")
        ('namespace', 'team')
    """
    from kitaru.errors import KitaruUsageError

    if scope_type not in MEMORY_SCOPE_TYPES:
        raise KitaruUsageError(
            f"Memory scope type {scope_type!r} is not one of {', '.join(MEMORY_SCOPE_TYPES)}."
        )
    if not isinstance(scope, str) or not MEMORY_NAME.match(scope):
        raise KitaruUsageError(
            f"Memory scope {scope!r} is not valid: use letters, digits and . _ - / only "
            "(pattern ^[A-Za-z0-9._\\-/]+$), e.g. 'support-agent'."
        )
    return str(scope_type), scope


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class MemoryEntry(Record):
    """One version of a memory key: a value (inline ``data`` or a ``blob_key``, encoded as an
    artifact's value is) or a tombstone (``deleted``). ``exec_id`` is the writing execution.

    Example:
        >>> MemoryEntry("flow", "agent", "notes", 1, _UNKNOWN_TIME).deleted
        False
    """

    scope_type: str
    scope: str
    key: str
    version: int
    created_at: dt.datetime
    deleted: bool = False
    exec_id: str | None = None
    serializer: str = ""
    type_path: str = ""
    size: int = 0
    sha256: str = ""
    data: bytes | None = None
    blob_key: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def as_artifact(self) -> ArtifactRecord:
        """The value as an artifact row, to load it as artifacts are loaded."""
        return ArtifactRecord(
            artifact_id=f"memory:{self.scope_type}:{self.scope}:{self.key}@{self.version}",
            exec_id=self.exec_id or "",
            name=self.key,
            kind="memory",
            serializer=self.serializer,
            type_path=self.type_path,
            size=self.size,
            sha256=self.sha256,
            created_at=self.created_at,
            data=self.data,
            blob_key=self.blob_key,
        )


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class MemoryOp(Record):
    """One memory operation of a flow body, journaled with its execution.

    ``op_id`` is its deterministic position (``set:flow:agent:notes#2``: the second ``set`` of
    that key in the execution); ``after_seq`` the number of durable calls made before it (a
    replay reuses the operations before its frontier); ``result`` the ``(key, version)`` pairs
    the operation wrote or read.
    """

    exec_id: str
    op_id: str
    kind: str
    scope_type: str
    scope: str
    subject: str
    after_seq: int
    created_at: dt.datetime
    result: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class MemoryScope(Record):
    """A memory scope with its numbers of keys (``live``: not deleted) and versions."""

    scope_type: str
    scope: str
    keys: int
    live: int
    updated_at: dt.datetime


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class MemoryCompaction(Record):
    """An audit record of memory maintenance: a compaction (``operation="compact"``: the
    ``sources`` versions summarised into ``target_key`` at ``target_version``) or a purge."""

    compaction_id: str
    operation: str
    scope_type: str
    scope: str
    created_at: dt.datetime
    sources: tuple[tuple[str, int], ...] = ()
    target_key: str | None = None
    target_version: int | None = None
    instruction: str | None = None
    model: str | None = None
    keys_affected: int = 0
    versions_deleted: int = 0
    keep: int | None = None


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    """An API key of a Kitaru server: its name and the sha256 hex digest of its token (the
    token itself is shown once, when the key is created, and never stored). A revoked key
    keeps its row, with ``revoked_at`` set.

    Example:
        >>> ApiKeyRecord("k1", "ci", "0" * 64, _UNKNOWN_TIME).revoked_at is None
        True
    """

    key_id: str
    name: str
    token_hash: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None = None
