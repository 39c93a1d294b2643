"""Turning store records into the public models."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from kitaru._leases import is_orphaned
from kitaru._types import COPY_SEPARATOR, ArtifactKind, CallStatus
from kitaru.models import (
    ArtifactRef,
    CheckpointAttempt,
    CheckpointCall,
    Execution,
    FailureInfo,
    LlmUsage,
    LogEntry,
    PendingWait,
)
from kitaru.records import (
    ArtifactRecord,
    CallRecord,
    ExecutionRecord,
    LlmUsageTotals,
    LogRecord,
    WaitRequest,
)

__all__ = [
    "attributed",
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


def to_log(record: LogRecord, names: Mapping[str, str] | None = None) -> LogEntry:
    """Build a :class:`LogEntry` from a stored log record; ``names`` maps call ids to
    checkpoint names."""
    return LogEntry(
        timestamp=record.timestamp,
        message=record.message,
        level=record.level,
        source=record.source,
        call_id=record.call_id,
        invocation_id=record.invocation_id,
        checkpoint_name=None if names is None or record.call_id is None else names.get(record.call_id),
        module=record.module,
        filename=record.filename,
        lineno=record.lineno,
    )


#: ``ArtifactRef.save_type`` of a checkpoint's output or the flow's result.
_OUTPUT = "step_output"


def _save_type(record: ArtifactRecord) -> str:
    """How an artifact was stored, as far as its own row tells: a value saved in a call
    is taken as saved with ``kitaru.save()`` until :func:`attributed` finds it is the
    call's output."""
    if record.kind == ArtifactKind.RESULT:
        return _OUTPUT
    if record.kind == ArtifactKind.INPUT or record.call_id is None:
        return "external"  # a flow input, or the answer to a wait
    return "manual"


def attributed(ref: ArtifactRef, call: CallRecord) -> ArtifactRef:
    """Return ``ref`` naming ``call``'s checkpoint as its producer: ``call``'s output
    (which a cached or replayed call took from another call) or a value it saved."""
    save_type = _OUTPUT if ref.artifact_id == call.output_artifact_id else ref.save_type
    if ref.producing_call == call.name and ref.save_type == save_type:
        return ref
    return dataclasses.replace(ref, producing_call=call.name, save_type=save_type)


def to_artifact(
    record: ArtifactRecord, loader: Callable[[str], Any] | None, call: CallRecord | None = None
) -> ArtifactRef:
    """Build an :class:`ArtifactRef` whose ``load()`` uses ``loader``; ``call`` is the
    call that produced it, when the caller read it (named here, so that no copy is made later)."""
    save_type = _save_type(record)
    if call is not None and record.artifact_id == call.output_artifact_id:
        save_type = _OUTPUT
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
        save_type=save_type,
        producing_call=None if call is None else call.name,
        _loader=loader,
    )


def _original_call_id(record: CallRecord, output: ArtifactRef | None) -> str | None:
    """The call whose output ``record`` reuses: a replay's source call, or a cache hit's."""
    exec_prefix = f"{record.exec_id}{COPY_SEPARATOR}"
    if record.call_id.startswith(exec_prefix):
        return record.call_id[len(exec_prefix) :]
    cached = record.status is CallStatus.CACHED
    if cached and output is not None and output.producing_call_id != record.call_id:
        return output.producing_call_id
    return None


def to_call(
    record: CallRecord, artifacts: list[ArtifactRef], call_ids: Mapping[str, str] | None = None
) -> CheckpointCall:
    """Build a :class:`CheckpointCall` from the call's own artifacts; its artifacts
    start with the output. ``call_ids`` maps invocation ids to call ids (for
    ``parent_call_ids``)."""
    output_id = record.output_artifact_id
    output = [attributed(a, record) for a in artifacts if a.artifact_id == output_id]
    saved = [
        attributed(a, record)
        for a in artifacts
        if a.producing_call_id == record.call_id and a.artifact_id != output_id
    ]
    parents = () if call_ids is None else tuple(call_ids[i] for i in record.after if i in call_ids)
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
                metadata=a.metadata or {},
            )
            for a in record.attempts
        ),
        artifacts=tuple(output + saved),
        metadata=record.metadata,
        failure=FailureInfo.from_dict(record.failure),
        after=record.after,
        parent_call_ids=parents,
        original_call_id=_original_call_id(record, output[0] if output else None),
    )


def to_calls(
    calls: list[CallRecord],
    produced: dict[str, list[ArtifactRef]],
    loader: Callable[[str], Any] | None,
    fetch: Callable[[str], ArtifactRecord],
    known: dict[str, ArtifactRef] | None = None,
    earlier: list[CallRecord] | None = None,
) -> list[CheckpointCall]:
    """Build the :class:`CheckpointCall` of each call record, in linear time.

    ``produced`` maps a call id to the artifacts that call produced in its
    execution. An output found there, in ``known`` (artifacts by id) or in the
    record's ``output`` is not read again; ``fetch`` reads the others (outputs
    of other executions, for cached and replayed calls, when the read did not
    bring them). ``earlier`` are calls before these (of a page read), which the
    calls may have waited for.
    """
    call_ids = {c.invocation_id: c.call_id for c in (*(earlier or ()), *calls)}
    built = []
    for call in calls:
        own = produced.get(call.call_id, [])
        output_id = call.output_artifact_id
        if output_id and not any(ref.artifact_id == output_id for ref in own):
            found = known.get(output_id) if known is not None else None
            if found is None:
                found = to_artifact(call.output if call.output is not None else fetch(output_id), loader)
            own = [found, *own]
        built.append(to_call(call, own, call_ids))
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
    llm_usage: LlmUsageTotals | None = None,
) -> Execution:
    """Build an :class:`Execution` with its checkpoint calls and artifacts.

    ``fetch`` reads artifacts of other executions (outputs of cached calls)
    that the call records do not carry. Matching artifacts to calls is linear
    in calls plus artifacts.
    """
    by_id = {c.call_id: c for c in calls}
    refs = [to_artifact(a, loader, by_id.get(a.call_id) if a.call_id else None) for a in artifacts]
    known = {ref.artifact_id: ref for ref in refs} if calls else None
    checkpoint_calls = to_calls(calls, produced_by_call(refs), loader, fetch, known)
    orphaned = is_orphaned(record)
    pending_waits = tuple(to_pending_wait(c) for c in pending or ())
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
        pending_waits=pending_waits,
        orphaned=orphaned,
        cancel_requested=record.cancel_requested,
        runner_id=record.runner_id,
        heartbeat_at=record.heartbeat_at,
        checkpoint_count=checkpoint_count,
        artifact_count=artifact_count,
        flow_id=_flow_id(record.spec),
        stack_name=_stack_name(record.spec),
        status_reason=_status_reason(record, pending_waits, orphaned=orphaned),
        llm_usage=None if llm_usage is None else to_llm_usage(llm_usage),
        _client=client,
    )


def to_llm_usage(totals: LlmUsageTotals) -> LlmUsage:
    """The public form of an execution's model usage totals."""
    return LlmUsage(
        calls=totals.calls,
        input_tokens=totals.input_tokens,
        output_tokens=totals.output_tokens,
        cost_usd=totals.cost_usd,
        unpriced_calls=totals.unpriced_calls,
    )


def _stack_name(spec: dict[str, Any]) -> str | None:
    for part in ("options", "connection"):
        section = spec.get(part)
        if isinstance(section, dict) and isinstance(section.get("stack"), str):
            return str(section["stack"])
    return None


def _flow_id(spec: dict[str, Any]) -> str | None:
    """The flow's definition, ``module:qualname``, as the spec records it."""
    flow = spec.get("flow")
    if not isinstance(flow, dict) or not flow.get("module") or not flow.get("qualname"):
        return None
    return f"{flow['module']}:{flow['qualname']}"


def _status_reason(
    record: ExecutionRecord, pending_waits: tuple[PendingWait, ...], *, orphaned: bool
) -> str | None:
    """Why the execution is in its status, in words (``None`` when nothing needs saying)."""
    if orphaned:
        return f"its runner is gone: kitaru executions resume {record.exec_id}"
    failure = FailureInfo.from_dict(record.failure)
    if failure is not None:
        return f"{failure.exception_type}: {failure.message}"
    if pending_waits:
        return f"waiting for input at {pending_waits[0].name!r}"
    if record.cancel_requested:
        return "cancel requested" if not record.status.is_terminal else "cancelled on request"
    return None
