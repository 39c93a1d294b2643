"""Storage records that cross layers: what stores keep and every layer round-trips.

Stores write and read them; the runtime, the artifact codec and the client
build and consume them. They hold plain data only.

Example:
    >>> from kitaru.records import LogRecord
    >>> LogRecord.__name__
    'LogRecord'
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from kitaru._types import CallKind, CallStatus, ExecutionStatus

__all__ = [
    "ArtifactRecord",
    "AttemptRecord",
    "CallRecord",
    "ExecutionRecord",
    "LogRecord",
]


@dataclass(frozen=True, slots=True)
class ExecutionRecord:
    """One flow execution as stored.

    ``failure`` is a dict with keys ``message``, ``exception_type``,
    ``traceback``, ``origin`` (a ``FailureOrigin`` value) or ``None``.
    ``source`` says how to import the flow: ``{"module", "qualname", "path"}``.
    ``run_count`` counts how often the flow body was started (first run,
    flow retries, re-runs in place).
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


@dataclass(frozen=True, slots=True)
class ArtifactRecord:
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


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """One attempt at a durable call. ``number`` starts at 1 per call."""

    attempt_id: str
    call_id: str
    number: int
    status: CallStatus
    started_at: dt.datetime
    ended_at: dt.datetime | None = None
    failure: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One durable call of an execution, unique per ``(exec_id, invocation_id)``.

    ``seq`` is the call's position in the flow (1-based, order of calls).
    ``after`` lists the invocation ids this call waited for. ``output`` (the
    output artifact, data included) and ``attempts`` are filled by reads that
    say so; ``attempt_count`` always is.
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


@dataclass(frozen=True, slots=True)
class LogRecord:
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
