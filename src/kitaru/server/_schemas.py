"""The request and response bodies of the API (beyond the records themselves).

A body names its parts as the store method does its arguments; records inside a body
have the JSON form of :mod:`kitaru._wire` (their models: :func:`~kitaru.server._models.wire_model`).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import pydantic

from kitaru._types import ExecutionStatus
from kitaru.records import (
    ArtifactRecord,
    AttemptRecord,
    CallRecord,
    CompletedAttempt,
    DeletedRows,
    ExecutionRecord,
    ExecutionSummary,
    LlmUsageRecord,
    LlmUsageSummary,
    LlmUsageTotals,
    LogRecord,
    MemoryCompaction,
    MemoryEntry,
    MemoryOp,
    MemoryScope,
)
from kitaru.server._models import wire_model

if TYPE_CHECKING:
    ArtifactWire = Any
    AttemptWire = Any
    CallWire = Any
    CompletedAttemptWire = Any
    DeletedRowsWire = Any
    ExecutionWire = Any
    ExecutionSummaryWire = Any
    LlmUsageWire = Any
    LlmUsageTotalsWire = Any
    LlmUsageSummaryWire = Any
    LogWire = Any
    MemoryCompactionWire = Any
    MemoryEntryWire = Any
    MemoryOpWire = Any
    MemoryScopeWire = Any
else:
    ArtifactWire = wire_model(ArtifactRecord)
    AttemptWire = wire_model(AttemptRecord)
    CallWire = wire_model(CallRecord)
    CompletedAttemptWire = wire_model(CompletedAttempt)
    DeletedRowsWire = wire_model(DeletedRows)
    ExecutionWire = wire_model(ExecutionRecord)
    ExecutionSummaryWire = wire_model(ExecutionSummary)
    LlmUsageWire = wire_model(LlmUsageRecord)
    LlmUsageTotalsWire = wire_model(LlmUsageTotals)
    LlmUsageSummaryWire = wire_model(LlmUsageSummary)
    LogWire = wire_model(LogRecord)
    MemoryCompactionWire = wire_model(MemoryCompaction)
    MemoryEntryWire = wire_model(MemoryEntry)
    MemoryOpWire = wire_model(MemoryOp)
    MemoryScopeWire = wire_model(MemoryScope)

__all__ = [
    "ArtifactBody",
    "ArtifactWire",
    "AttemptBody",
    "AttemptFailureBody",
    "AttemptWire",
    "BlobDeletionBody",
    "BlobKeysBody",
    "BlobListResult",
    "CachedCallBody",
    "CallWire",
    "ChangedResult",
    "ClaimBody",
    "CompletedAttemptBody",
    "CompletionBody",
    "CopyCallsBody",
    "CopyMemoryOpsBody",
    "CountResult",
    "CreateExecutionBody",
    "DeletedRowsWire",
    "DeletionBody",
    "ExecutionSummaryWire",
    "ExecutionWire",
    "FinishBody",
    "HeartbeatBody",
    "IdResult",
    "KeysResult",
    "LlmUsageBody",
    "LlmUsageSummaryWire",
    "LlmUsageTotalsWire",
    "LlmUsageWire",
    "LogWire",
    "LogsBody",
    "MemoryCompactionWire",
    "MemoryEntryWire",
    "MemoryOpBody",
    "MemoryOpWire",
    "MemoryScopeWire",
    "MemoryWriteBody",
    "MetadataPatchBody",
    "RunnerBody",
    "SeedCallsBody",
    "SizesResult",
    "StatusBody",
    "WaitAnswerBody",
    "WaitBody",
]

_Epoch = pydantic.Field(default=None, description="The runner's fencing epoch; null: not a runner's write.")


class _Body(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")


class CreateExecutionBody(_Body):
    """A new execution and its input artifacts."""

    record: ExecutionWire
    inputs: list[ArtifactWire] = []


class RunnerBody(_Body):
    """The runner starting an execution."""

    runner_id: str


class ClaimBody(_Body):
    """A compare-and-set take-over of an execution."""

    runner_id: str
    expected: list[ExecutionStatus]
    expected_runner: str | None = None


class StatusBody(_Body):
    """A compare-and-set change of an execution's status."""

    status: ExecutionStatus
    expected: list[ExecutionStatus] | None = None
    runner_id: str | None = None
    release: bool = False
    epoch: int | None = _Epoch


class FinishBody(_Body):
    """The end of a run of an execution's body."""

    status: ExecutionStatus
    result: ArtifactWire | None = None
    failure: dict[str, Any] | None = None
    epoch: int | None = _Epoch


class MetadataPatchBody(_Body):
    """Metadata merged into a record's."""

    patch: dict[str, Any]
    epoch: int | None = _Epoch


class CallMetadataPatchBody(MetadataPatchBody):
    """Metadata merged into a call's, and into one of its attempts' when ``attempt_id`` is given."""

    attempt_id: str | None = None


class HeartbeatBody(_Body):
    """A renewal of a runner's lease."""

    runner_id: str
    epoch: int | None = _Epoch


class AttemptBody(_Body):
    """A call and its new running attempt."""

    call: CallWire
    attempt: AttemptWire
    epoch: int | None = _Epoch


class CompletionBody(_Body):
    """The output of a completed attempt."""

    output: ArtifactWire
    ended_at: dt.datetime
    epoch: int | None = _Epoch


class CompletedAttemptBody(_Body):
    """A call, its attempt and its output, recorded completed at once."""

    call: CallWire
    attempt: AttemptWire
    output: ArtifactWire
    ended_at: dt.datetime
    epoch: int | None = _Epoch


class AttemptFailureBody(_Body):
    """The failure of an attempt (``final``: of its call too)."""

    failure: dict[str, Any]
    ended_at: dt.datetime
    final: bool
    epoch: int | None = _Epoch


class CachedCallBody(_Body):
    """A cache hit: the call, and the completed call of another execution it reuses."""

    call: CallWire
    source: CallWire
    epoch: int | None = _Epoch


class WaitBody(_Body):
    """A pending wait entered by its runner."""

    call: CallWire
    attempt: AttemptWire | None = None
    runner_id: str
    epoch: int | None = _Epoch


class WaitAnswerBody(_Body):
    """The answer to a pending wait."""

    output: ArtifactWire | None = None
    metadata: dict[str, Any] = {}
    ended_at: dt.datetime


class SeedCallsBody(_Body):
    """Done calls copied into another execution as given."""

    calls: list[CallWire]


class CopyCallsBody(_Body):
    """The done calls of another execution to copy, before a sequence number."""

    source_exec_id: str
    before_seq: int
    exclude: list[str] = []


class ArtifactBody(_Body):
    """One artifact row."""

    artifact: ArtifactWire
    epoch: int | None = _Epoch


class LlmUsageBody(_Body):
    """One live model call: its usage, artifacts, metadata and (flow level) completed call."""

    usage: LlmUsageWire
    artifacts: list[ArtifactWire] = []
    metadata: dict[str, Any] | None = None
    completed: CompletedAttemptWire | None = None
    epoch: int | None = _Epoch


class LogsBody(_Body):
    """Log records, in order."""

    records: list[LogWire]


class DeletionBody(_Body):
    """Executions to delete (each only while it is as given)."""

    records: list[ExecutionWire]
    dry_run: bool = False


class BlobKeysBody(_Body):
    """Blob keys (sha256 hex digests)."""

    keys: list[str]


class BlobDeletionBody(_Body):
    """Blobs to delete."""

    keys: list[str]
    unless_stored_after: float | None = None


class MemoryWriteBody(_Body):
    """The next version of a memory key, with the flow operation or compaction writing it."""

    entry: MemoryEntryWire
    op: MemoryOpWire | None = None
    compaction: MemoryCompactionWire | None = None
    epoch: int | None = _Epoch


class MemoryOpBody(_Body):
    """A memory read of a flow body, to journal."""

    op: MemoryOpWire
    epoch: int | None = _Epoch


class CopyMemoryOpsBody(_Body):
    """The memory operations of another execution to copy, before a call number."""

    source_exec_id: str
    before_seq: int


class ChangedResult(pydantic.BaseModel):
    """Whether a compare-and-set write changed anything."""

    changed: bool


class CountResult(pydantic.BaseModel):
    """How many rows."""

    count: int


class IdResult(pydantic.BaseModel):
    """A full id."""

    id: str


class KeysResult(pydantic.BaseModel):
    """Blob keys."""

    keys: list[str]


class SizesResult(pydantic.BaseModel):
    """The size of each blob deleted, by key."""

    sizes: dict[str, int]


class BlobListResult(pydantic.BaseModel):
    """Stored blobs as ``[key, size]`` pairs."""

    blobs: list[list[str | int]]


class SignedUrlResult(pydantic.BaseModel):
    """A URL to read or write one blob directly in the object storage, without credentials."""

    url: str
    method: str
    expires_in: float


class BlobTrafficResult(pydantic.BaseModel):
    """What this server process carried of blobs since it started."""

    bytes_received: int
    bytes_sent: int
    signed_urls: int


class UploadResult(pydantic.BaseModel):
    """A resumable upload and how many of its bytes the server holds."""

    upload_id: str
    offset: int
