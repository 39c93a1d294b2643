"""Records for the conformance suites: factories with defaults, and common call sequences."""

from __future__ import annotations

import datetime as dt
from typing import Any

from kitaru._types import ArtifactKind, CallKind, CallStatus, ExecutionStatus, new_id, utcnow
from kitaru.records import ArtifactRecord, AttemptRecord, CallRecord, ExecutionRecord
from kitaru.store.base import MetadataStore

T0 = dt.datetime(2025, 3, 1, 12, 0, 0, 123456, tzinfo=dt.UTC)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def execution(exec_id: str | None = None, **fields: Any) -> ExecutionRecord:
    created = fields.pop("created_at", utcnow())
    values: dict[str, Any] = {
        "exec_id": exec_id or new_id(),
        "flow_name": "my_flow",
        "status": ExecutionStatus.PENDING,
        "created_at": created,
        "updated_at": created,
    }
    values.update(fields)
    return ExecutionRecord(**values)


def add_execution(store: MetadataStore, exec_id: str | None = None, **fields: Any) -> ExecutionRecord:
    record = execution(exec_id, **fields)
    store.create_execution(record)
    return record


def artifact(exec_id: str, **fields: Any) -> ArtifactRecord:
    values: dict[str, Any] = {
        "artifact_id": new_id(),
        "exec_id": exec_id,
        "name": "output",
        "kind": ArtifactKind.OUTPUT.value,
        "serializer": "json",
        "type_path": "builtins.int",
        "size": 2,
        "sha256": "ab" * 32,
        "created_at": utcnow(),
        "data": b"42",
    }
    values.update(fields)
    return ArtifactRecord(**values)


def call(exec_id: str, invocation_id: str = "step:0", seq: int = 1, **fields: Any) -> CallRecord:
    values: dict[str, Any] = {
        "call_id": new_id(),
        "exec_id": exec_id,
        "invocation_id": invocation_id,
        "seq": seq,
        "name": invocation_id.split(":")[0],
        "kind": CallKind.CHECKPOINT,
        "status": CallStatus.RUNNING,
        "started_at": utcnow(),
    }
    values.update(fields)
    return CallRecord(**values)


def attempt(call_id: str, number: int = 1) -> AttemptRecord:
    return AttemptRecord(new_id(), call_id, number, CallStatus.RUNNING, utcnow())


def run_call(
    store: MetadataStore, exec_id: str, invocation_id: str = "step:0", seq: int = 1, **fields: Any
) -> tuple[CallRecord, ArtifactRecord]:
    """Record one call that runs once and completes; return it and its output."""
    c = call(exec_id, invocation_id, seq, **fields)
    a = attempt(c.call_id)
    store.begin_attempt(c, a)
    out = artifact(exec_id, call_id=c.call_id, data=f"{invocation_id}".encode())
    store.complete_call(c.call_id, a.attempt_id, output=out, ended_at=utcnow())
    return c, out


def only_call(store: MetadataStore, exec_id: str) -> CallRecord:
    calls = store.list_calls(exec_id)
    assert len(calls) == 1
    return calls[0]
