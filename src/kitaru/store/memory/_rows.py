"""How the in-memory store keeps records: normalized on the way in, copied on the way out.

The SQL store turns every record into column values and back, which
normalizes it: timestamps become aware UTC, JSON values become fresh
copies (tuples turn into lists, non-JSON values are refused), enums come
back as enums. These helpers do the same for :mod:`kitaru.store.memory`, so
a record read from it equals one read from a SQL store, and callers never
hold a reference into the store's tables.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any, overload

from kitaru._types import CallKind, CallStatus
from kitaru.errors import KitaruUsageError
from kitaru.records import ArtifactRecord, AttemptRecord, CallRecord, ExecutionRecord, LogRecord
from kitaru.store._common import status_of

__all__ = [
    "artifact_in",
    "artifact_out",
    "attempt_in",
    "attempt_out",
    "call_in",
    "call_out",
    "execution_in",
    "execution_out",
    "json_copy",
    "log_in",
    "log_out",
    "status_of",
    "utc",
]

_UTC = dt.UTC
_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_decode = json.JSONDecoder().decode


@overload
def utc(value: dt.datetime) -> dt.datetime: ...
@overload
def utc(value: None) -> None: ...
@overload
def utc(value: dt.datetime | None) -> dt.datetime | None: ...
def utc(value: dt.datetime | None) -> dt.datetime | None:
    """Return ``value`` as an aware UTC datetime (naive values are taken to be UTC).

    Example:
        >>> utc(dt.datetime(2025, 1, 1)).tzinfo
        datetime.timezone.utc
    """
    if value is None:
        return None
    if not isinstance(value, dt.datetime):
        raise KitaruUsageError(f"Expected a datetime, got {type(value).__name__}: {value!r}.")
    if value.tzinfo is None:
        return value.replace(tzinfo=_UTC)
    if value.tzinfo is _UTC:
        return value
    return value.astimezone(_UTC)


def json_copy(value: Any, what: str) -> Any:
    """Return a fresh copy of a JSON value, as a SQL store would read it back.

    Raises:
        KitaruUsageError: ``value`` is not JSON-serializable (``what`` names the field).

    Example:
        >>> json_copy({"a": (1, 2)}, "metadata")
        {'a': [1, 2]}
    """
    if value is None:
        return None
    if not value and type(value) is dict:
        return {}
    try:
        return _decode(_encode(value))
    except (TypeError, ValueError) as exc:
        raise KitaruUsageError(
            f"The value of {what!r} cannot be stored: {exc}. Metadata and failures must be JSON-serializable."
        ) from exc


def _fresh(value: Any) -> Any:
    """A copy of a stored (already JSON-normalized) value."""
    if value is None:
        return None
    if not value and type(value) is dict:
        return {}
    return _decode(_encode(value))


def execution_in(record: ExecutionRecord) -> ExecutionRecord:
    """Return the stored form of a new execution."""
    return dataclasses.replace(
        record,
        status=status_of(record.status),
        created_at=utc(record.created_at),
        updated_at=utc(record.updated_at),
        started_at=utc(record.started_at),
        ended_at=utc(record.ended_at),
        heartbeat_at=utc(record.heartbeat_at),
        queued_at=utc(record.queued_at),
        metadata=json_copy(record.metadata, "metadata"),
        failure=json_copy(record.failure, "failure"),
        spec=json_copy(record.spec, "spec"),
        source=json_copy(record.source, "source"),
        run_count=int(record.run_count),
        cancel_requested=bool(record.cancel_requested),
        epoch=int(record.epoch),
    )


def execution_out(record: ExecutionRecord) -> ExecutionRecord:
    """Return a copy of a stored execution that the caller may keep."""
    return dataclasses.replace(
        record,
        metadata=_fresh(record.metadata),
        failure=_fresh(record.failure),
        spec=_fresh(record.spec),
        source=_fresh(record.source),
    )


def call_in(
    call: CallRecord, *, status: CallStatus | str, output_artifact_id: str | None, attempt_count: int
) -> CallRecord:
    """Return the stored form of a call row (no output, no attempts: those are other tables)."""
    return CallRecord(
        call_id=call.call_id,
        exec_id=call.exec_id,
        invocation_id=call.invocation_id,
        seq=int(call.seq),
        name=call.name,
        kind=CallKind(call.kind),
        status=CallStatus(status),
        started_at=utc(call.started_at),
        type=call.type,
        ended_at=utc(call.ended_at),
        cache_key=call.cache_key,
        input_fingerprint=call.input_fingerprint,
        output_artifact_id=output_artifact_id,
        metadata=json_copy(call.metadata, "metadata"),
        after=tuple(call.after),
        parent_call_id=call.parent_call_id,
        failure=json_copy(call.failure, "failure"),
        attempt_count=attempt_count,
    )


def call_out(
    call: CallRecord, output: ArtifactRecord | None = None, attempts: tuple[AttemptRecord, ...] = ()
) -> CallRecord:
    """Return a copy of a stored call with ``output`` and ``attempts`` filled as given."""
    return dataclasses.replace(
        call,
        metadata=_fresh(call.metadata),
        failure=_fresh(call.failure),
        output=output,
        attempts=attempts,
    )


def attempt_in(attempt: AttemptRecord, call_id: str) -> AttemptRecord:
    """Return the stored form of an attempt of ``call_id``."""
    return AttemptRecord(
        attempt_id=attempt.attempt_id,
        call_id=call_id,
        number=int(attempt.number),
        status=CallStatus(attempt.status),
        started_at=utc(attempt.started_at),
        ended_at=utc(attempt.ended_at),
        failure=json_copy(attempt.failure, "failure"),
        metadata=json_copy(attempt.metadata or None, "metadata"),
    )


def attempt_out(attempt: AttemptRecord) -> AttemptRecord:
    """Return a copy of a stored attempt."""
    return dataclasses.replace(attempt, failure=_fresh(attempt.failure), metadata=_fresh(attempt.metadata))


def artifact_in(artifact: ArtifactRecord) -> ArtifactRecord:
    """Return the stored form of an artifact row."""
    data = artifact.data
    return dataclasses.replace(
        artifact,
        kind=str(artifact.kind),
        size=int(artifact.size),
        created_at=utc(artifact.created_at),
        data=None if data is None else bytes(data),
        tags=tuple(artifact.tags),
        metadata=json_copy(artifact.metadata, "metadata"),
    )


def artifact_out(artifact: ArtifactRecord, *, with_data: bool = True) -> ArtifactRecord:
    """Return a copy of a stored artifact, its inline data left out unless ``with_data``."""
    return dataclasses.replace(
        artifact,
        data=artifact.data if with_data else None,
        metadata=_fresh(artifact.metadata),
    )


def log_in(record: LogRecord, seq: int) -> LogRecord:
    """Return the stored form of a log record numbered ``seq``."""
    return dataclasses.replace(record, timestamp=utc(record.timestamp), seq=seq)


def log_out(record: LogRecord) -> LogRecord:
    """Return a stored log record (log records hold no mutable values)."""
    return record
