"""Conversions between store records and table rows.

Rows convert positionally: the tables of :mod:`kitaru.store.schema` list
their columns in the order of the record fields.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from kitaru._types import CallKind, CallStatus, ExecutionStatus
from kitaru.records import ArtifactRecord, AttemptRecord, CallRecord, ExecutionRecord, LogRecord

__all__ = [
    "ARTIFACT_WIDTH",
    "CALL_WIDTH",
    "artifact_from_row",
    "artifact_params",
    "attempt_from_row",
    "attempt_params",
    "call_from_row",
    "call_params",
    "execution_from_row",
    "execution_params",
    "journal_from_rows",
    "log_from_row",
    "log_params",
]

#: Number of columns of the ``calls`` table.
CALL_WIDTH = 18
#: Number of columns of the ``artifacts`` table.
ARTIFACT_WIDTH = 14

# Enum members by value: a dict lookup is several times cheaper than calling the enum,
# which counts when a journal of tens of thousands of calls is read.
_KINDS: dict[str, CallKind] = {member.value: member for member in CallKind}
_STATUSES: dict[str, CallStatus] = {member.value: member for member in CallStatus}


def execution_params(record: ExecutionRecord) -> dict[str, Any]:
    """Return the column values of an ``executions`` row."""
    return {
        "exec_id": record.exec_id,
        "flow_name": record.flow_name,
        "status": str(record.status),
        "created_at": record.created_at,
        "updated_at": record.updated_at,
        "started_at": record.started_at,
        "ended_at": record.ended_at,
        "metadata": record.metadata,
        "failure": record.failure,
        "original_exec_id": record.original_exec_id,
        "spec": record.spec,
        "source": record.source,
        "inputs_artifact_id": record.inputs_artifact_id,
        "result_artifact_id": record.result_artifact_id,
        "runner_id": record.runner_id,
        "heartbeat_at": record.heartbeat_at,
        "run_count": record.run_count,
        "cancel_requested": record.cancel_requested,
        "epoch": record.epoch,
        "queued_at": record.queued_at,
        "queue": record.queue,
    }


def execution_from_row(r: Sequence[Any]) -> ExecutionRecord:
    """Build an :class:`ExecutionRecord` from an ``executions`` row."""
    return ExecutionRecord(
        r[0],
        r[1],
        ExecutionStatus(r[2]),
        r[3],
        r[4],
        r[5],
        r[6],
        r[7],
        r[8],
        r[9],
        r[10],
        r[11],
        r[12],
        r[13],
        r[14],
        r[15],
        r[16],
        r[17],
        r[18],
        r[19],
        r[20],
    )


def call_params(call: CallRecord, status: str, output_artifact_id: str | None) -> dict[str, Any]:
    """Return the column values of a new ``calls`` row with ``status`` and no attempts yet."""
    return {
        "call_id": call.call_id,
        "exec_id": call.exec_id,
        "invocation_id": call.invocation_id,
        "seq": call.seq,
        "name": call.name,
        "kind": str(call.kind),
        "status": status,
        "started_at": call.started_at,
        "type": call.type,
        "ended_at": call.ended_at,
        "cache_key": call.cache_key,
        "input_fingerprint": call.input_fingerprint,
        "output_artifact_id": output_artifact_id,
        "metadata": call.metadata,
        "after": list(call.after),
        "parent_call_id": call.parent_call_id,
        "failure": call.failure,
        "attempt_count": 0,
    }


def call_from_row(
    r: Sequence[Any],
    output: ArtifactRecord | None = None,
    attempts: tuple[AttemptRecord, ...] = (),
    artifacts: tuple[ArtifactRecord, ...] = (),
) -> CallRecord:
    """Build a :class:`CallRecord` from the first :data:`CALL_WIDTH` values of a row."""
    return CallRecord(
        r[0],
        r[1],
        r[2],
        r[3],
        r[4],
        _KINDS.get(r[5]) or CallKind(r[5]),
        _STATUSES.get(r[6]) or CallStatus(r[6]),
        r[7],
        r[8],
        r[9],
        r[10],
        r[11],
        r[12],
        r[13],
        tuple(r[14]),
        r[15],
        r[16],
        r[17],
        output,
        attempts,
        artifacts,
    )


def attempt_params(attempt: AttemptRecord, call_id: str) -> dict[str, Any]:
    """Return the column values of an ``attempts`` row belonging to ``call_id``."""
    return {
        "attempt_id": attempt.attempt_id,
        "call_id": call_id,
        "number": attempt.number,
        "status": str(attempt.status),
        "started_at": attempt.started_at,
        "ended_at": attempt.ended_at,
        "failure": attempt.failure,
        "metadata": attempt.metadata or None,
    }


def attempt_from_row(r: Sequence[Any]) -> AttemptRecord:
    """Build an :class:`AttemptRecord` from an ``attempts`` row."""
    return AttemptRecord(r[0], r[1], r[2], _STATUSES.get(r[3]) or CallStatus(r[3]), r[4], r[5], r[6], r[7])


def artifact_params(artifact: ArtifactRecord) -> dict[str, Any]:
    """Return the column values of an ``artifacts`` row."""
    return {
        "artifact_id": artifact.artifact_id,
        "exec_id": artifact.exec_id,
        "name": artifact.name,
        "kind": str(artifact.kind),
        "serializer": artifact.serializer,
        "type_path": artifact.type_path,
        "size": artifact.size,
        "sha256": artifact.sha256,
        "created_at": artifact.created_at,
        "call_id": artifact.call_id,
        "data": artifact.data,
        "blob_key": artifact.blob_key,
        "tags": list(artifact.tags),
        "metadata": artifact.metadata,
    }


def artifact_from_row(r: Sequence[Any], start: int = 0) -> ArtifactRecord:
    """Build an :class:`ArtifactRecord` from :data:`ARTIFACT_WIDTH` values of a row from ``start``."""
    data = r[start + 10]
    return ArtifactRecord(
        r[start],
        r[start + 1],
        r[start + 2],
        r[start + 3],
        r[start + 4],
        r[start + 5],
        r[start + 6],
        r[start + 7],
        r[start + 8],
        r[start + 9],
        data if data is None or type(data) is bytes else bytes(data),
        r[start + 11],
        tuple(r[start + 12]),
        r[start + 13],
    )


# Columns of a journal row (a call, then its output artifact) whose values repeat from call to
# call: the execution id, the checkpoint name, the artifact's kind, serializer and type.
_REPEATING = (1, 4, CALL_WIDTH + 1, CALL_WIDTH + 3, CALL_WIDTH + 4, CALL_WIDTH + 5)
# (output column, call column) pairs of a journal row that usually hold equal strings: the
# artifact id and the call's output link, the artifact's call id and name and the call's ids.
_SAME_AS_CALL = ((CALL_WIDTH, 12), (CALL_WIDTH + 2, 2), (CALL_WIDTH + 9, 0))


def journal_from_rows(rows: Iterable[Sequence[Any]]) -> list[CallRecord]:
    """Build the journal from rows of a call's columns followed by its output's (``NULL`` when none).

    Values that repeat from call to call are kept once: a journal of tens of
    thousands of calls stays in memory for a whole run.
    """
    shared: dict[Any, Any] = {}
    keep = shared.setdefault
    journal = []
    for row in rows:
        values = list(row)
        for index in _REPEATING:
            value = values[index]
            if value is not None:
                values[index] = keep(value, value)
        output = None
        if values[CALL_WIDTH] is not None:
            # The output's id, call id and name (the invocation id) repeat the call's: keep one string.
            for own, of_call in _SAME_AS_CALL:
                if values[own] == values[of_call]:
                    values[own] = values[of_call]
            output = artifact_from_row(values, CALL_WIDTH)
        journal.append(call_from_row(values, output))
    return journal


def log_params(record: LogRecord) -> dict[str, Any]:
    """Return the column values of a new ``logs`` row (the store assigns ``seq``)."""
    return {
        "exec_id": record.exec_id,
        "call_id": record.call_id,
        "invocation_id": record.invocation_id,
        "ts": record.timestamp,
        "level": record.level,
        "source": record.source,
        "message": record.message,
        "module": record.module,
        "filename": record.filename,
        "lineno": record.lineno,
    }


def log_from_row(r: Sequence[Any]) -> LogRecord:
    """Build a :class:`LogRecord` from a row of the ``logs`` columns in record order."""
    return LogRecord(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10])
