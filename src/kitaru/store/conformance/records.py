"""Records for the conformance suites: factories with defaults, and common call sequences.

Every factory fills what a test does not care about and takes the fields it
does as keywords.

Example:
    >>> from kitaru.store.conformance.records import execution
    >>> execution("abc", flow_name="research").flow_name
    'research'
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from kitaru._types import ArtifactKind, CallKind, CallStatus, ExecutionStatus, new_id, utcnow
from kitaru.records import ArtifactRecord, AttemptRecord, CallRecord, ExecutionRecord
from kitaru.store.base import MetadataStore

__all__ = [
    "T0",
    "add_execution",
    "artifact",
    "at",
    "attempt",
    "call",
    "execution",
    "only_call",
    "run_call",
]

#: A fixed instant with microseconds, for timestamps that must round-trip exactly.
T0 = dt.datetime(2025, 3, 1, 12, 0, 0, 123456, tzinfo=dt.UTC)


def at(seconds: float) -> dt.datetime:
    """Return the instant ``seconds`` after :data:`T0`."""
    return T0 + dt.timedelta(seconds=seconds)


def execution(exec_id: str | None = None, **fields: Any) -> ExecutionRecord:
    """Return a pending execution record (a new id unless given), created now unless given."""
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
    """Create an execution in ``store`` (see :func:`execution`) and return its record."""
    record = execution(exec_id, **fields)
    store.create_execution(record)
    return record


def artifact(exec_id: str, **fields: Any) -> ArtifactRecord:
    """Return an inline output artifact of ``exec_id`` holding ``42``."""
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
    """Return a running checkpoint call named after its invocation id."""
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
    """Return a running attempt of ``call_id`` started now."""
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
    """Return the one call of the execution (with its attempts); fail when there are more."""
    calls = store.list_calls(exec_id)
    assert len(calls) == 1
    return calls[0]
