"""Turning store records into the public models."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kitaru._leases import is_orphaned
from kitaru.models import (
    ArtifactRef,
    CheckpointAttempt,
    CheckpointCall,
    Execution,
    FailureInfo,
    LogEntry,
    PendingWait,
)
from kitaru.records import ArtifactRecord, CallRecord, ExecutionRecord, LogRecord, WaitRequest

__all__ = [
    "produced_by_call",
    "to_artifact",
    "to_call",
    "to_calls",
    "to_execution",
    "to_log",
    "to_pending_wait",
]


def to_pending_wait(call: CallRecord) -> PendingWait:
    """Build a :class:`PendingWait` from a pending ``wait`` call."""
    request = WaitRequest.from_metadata(call.metadata, default_name=call.invocation_id)
    return PendingWait(
        wait_id=call.call_id,
        name=call.invocation_id,
        question=request.question,
        schema=request.schema,
        metadata=request.metadata,
        since=call.started_at,
    )


def to_log(record: LogRecord) -> LogEntry:
    """Build a :class:`LogEntry` from a stored log record."""
    return LogEntry(
        timestamp=record.timestamp,
        message=record.message,
        level=record.level,
        source=record.source,
        call_id=record.call_id,
        invocation_id=record.invocation_id,
    )


def to_artifact(record: ArtifactRecord, loader: Callable[[str], Any] | None) -> ArtifactRef:
    """Build an :class:`ArtifactRef` whose ``load()`` uses ``loader``."""
    return ArtifactRef(
        artifact_id=record.artifact_id,
        exec_id=record.exec_id,
        name=record.name,
        kind=record.kind,
        serializer=record.serializer,
        type_path=record.type_path,
        size=record.size,
        created_at=record.created_at,
        producing_call_id=record.call_id,
        tags=record.tags,
        metadata=record.metadata,
        _loader=loader,
    )


def to_call(record: CallRecord, artifacts: list[ArtifactRef]) -> CheckpointCall:
    """Build a :class:`CheckpointCall` from the call's own artifacts; its artifacts
    start with the output."""
    output_id = record.output_artifact_id
    output = [a for a in artifacts if a.artifact_id == output_id]
    saved = [a for a in artifacts if a.producing_call_id == record.call_id and a.artifact_id != output_id]
    return CheckpointCall(
        call_id=record.call_id,
        invocation_id=record.invocation_id,
        name=record.name,
        type=record.type,
        status=record.status,
        seq=record.seq,
        kind=record.kind.value,
        started_at=record.started_at,
        ended_at=record.ended_at,
        attempts=tuple(
            CheckpointAttempt(
                attempt_id=a.attempt_id,
                number=a.number,
                status=a.status,
                started_at=a.started_at,
                ended_at=a.ended_at,
                failure=FailureInfo.from_dict(a.failure),
            )
            for a in record.attempts
        ),
        artifacts=tuple(output + saved),
        metadata=record.metadata,
        failure=FailureInfo.from_dict(record.failure),
        after=record.after,
    )


def to_calls(
    calls: list[CallRecord],
    produced: dict[str, list[ArtifactRef]],
    loader: Callable[[str], Any] | None,
    fetch: Callable[[str], ArtifactRecord],
    known: dict[str, ArtifactRef] | None = None,
) -> list[CheckpointCall]:
    """Build the :class:`CheckpointCall` of each call record, in linear time.

    ``produced`` maps a call id to the artifacts that call produced in its
    execution. An output found there, in ``known`` (artifacts by id) or in the
    record's ``output`` is not read again; ``fetch`` reads the others (outputs
    of other executions, for cached and replayed calls, when the read did not
    bring them).
    """
    built = []
    for call in calls:
        own = produced.get(call.call_id, [])
        output_id = call.output_artifact_id
        if output_id and not any(ref.artifact_id == output_id for ref in own):
            found = known.get(output_id) if known is not None else None
            if found is None:
                found = to_artifact(call.output if call.output is not None else fetch(output_id), loader)
            own = [found, *own]
        built.append(to_call(call, own))
    return built


def produced_by_call(refs: list[ArtifactRef]) -> dict[str, list[ArtifactRef]]:
    """Group artifacts by the call that produced them (creation order kept)."""
    grouped: dict[str, list[ArtifactRef]] = {}
    for ref in refs:
        if ref.producing_call_id is not None:
            grouped.setdefault(ref.producing_call_id, []).append(ref)
    return grouped


def to_execution(
    record: ExecutionRecord,
    calls: list[CallRecord],
    artifacts: list[ArtifactRecord],
    loader: Callable[[str], Any] | None,
    fetch: Callable[[str], ArtifactRecord],
    *,
    pending: list[CallRecord] | None = None,
    client: Any = None,
    checkpoint_count: int | None = None,
    artifact_count: int | None = None,
) -> Execution:
    """Build an :class:`Execution` with its checkpoint calls and artifacts.

    ``fetch`` reads artifacts of other executions (outputs of cached calls)
    that the call records do not carry. Matching artifacts to calls is linear
    in calls plus artifacts.
    """
    refs = [to_artifact(a, loader) for a in artifacts]
    known = {ref.artifact_id: ref for ref in refs} if calls else None
    checkpoint_calls = to_calls(calls, produced_by_call(refs), loader, fetch, known)
    return Execution(
        exec_id=record.exec_id,
        flow_name=record.flow_name,
        status=record.status,
        created_at=record.created_at,
        started_at=record.started_at,
        ended_at=record.ended_at,
        metadata=record.metadata,
        failure=FailureInfo.from_dict(record.failure),
        original_exec_id=record.original_exec_id,
        spec=record.spec,
        checkpoints=tuple(checkpoint_calls),
        artifacts=tuple(refs),
        has_result=record.result_artifact_id is not None,
        run_count=record.run_count,
        pending_waits=tuple(to_pending_wait(c) for c in pending or ()),
        orphaned=is_orphaned(record),
        cancel_requested=record.cancel_requested,
        runner_id=record.runner_id,
        heartbeat_at=record.heartbeat_at,
        checkpoint_count=checkpoint_count,
        artifact_count=artifact_count,
        _client=client,
    )
