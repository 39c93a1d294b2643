"""The one codec between records and JSON (kitaru._wire): every record round-trips."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest

from kitaru import records
from kitaru._types import CallKind, CallStatus, ExecutionStatus
from kitaru._wire import from_wire, to_wire
from kitaru.errors import KitaruUsageError

NOW = dt.datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=dt.UTC)


def _artifact(data: bytes | None = b"\x00\xffbinary") -> records.ArtifactRecord:
    return records.ArtifactRecord(
        artifact_id="a1",
        exec_id="e1",
        name="out",
        kind="output",
        serializer="bytes",
        type_path="builtins.bytes",
        size=8,
        sha256="0" * 64,
        created_at=NOW,
        data=data,
        tags=("x", "y"),
        metadata={"k": [1, {"n": None}]},
    )


def _call() -> records.CallRecord:
    attempt = records.AttemptRecord("t1", "c1", 1, CallStatus.COMPLETED, NOW, NOW, None)
    return records.CallRecord(
        call_id="c1",
        exec_id="e1",
        invocation_id="step",
        seq=1,
        name="step",
        kind=CallKind.CHECKPOINT,
        status=CallStatus.COMPLETED,
        started_at=NOW,
        after=("a", "b"),
        output=_artifact(),
        attempts=(attempt,),
        artifacts=(_artifact(None),),
    )


SAMPLES = [
    records.ExecutionRecord("e1", "flow", ExecutionStatus.RUNNING, NOW, NOW, failure={"message": "x"}),
    _artifact(),
    _call(),
    records.ExecutionSummary(
        records.ExecutionRecord("e1", "flow", ExecutionStatus.WAITING, NOW, NOW), 3, 2, 1
    ),
    records.DeletedRows(exec_ids=("e1",), blobs=(("k" * 64, 12),)),
    records.MemoryOp("e1", "set:flow:a:k#1", "set", "flow", "a", "k", 2, NOW, (("k", 3),)),
    records.LlmUsageRecord("u1", "e1", "c1", "llm", "gpt", None, 5, None, 1.5, NOW),
    records.MemoryEntry("flow", "a", "k", 1, NOW, data=b"{}"),
]


@pytest.mark.parametrize("record", SAMPLES, ids=lambda record: type(record).__name__)
def test_every_record_round_trips_through_json(record: object) -> None:
    text = json.dumps(to_wire(record))
    back = from_wire(type(record), json.loads(text))
    assert back == record
    for field in dataclasses.fields(back):  # type: ignore[arg-type]
        assert type(getattr(back, field.name)) is type(getattr(record, field.name)), field.name


def test_containers_and_optionals() -> None:
    calls = [_call(), _call()]
    assert from_wire(list[records.CallRecord], to_wire(calls)) == calls
    assert from_wire(records.ExecutionRecord | None, None) is None
    assert from_wire(dt.datetime, "2026-03-01T12:30:15.123456+00:00") == NOW
    assert from_wire(float, 3) == 3.0


@pytest.mark.parametrize(
    ("kind", "value", "words"),
    [
        (records.LogRecord, {"exec_id": "e1"}, r"lacks the field\(s\) message, timestamp"),
        (
            records.LogRecord,
            {"exec_id": "e", "timestamp": NOW.isoformat(), "message": "m", "x": 1},
            "unknown",
        ),
        (records.LogRecord, {"exec_id": "e", "timestamp": "yesterday", "message": "m"}, "ISO 8601"),
        (records.ArtifactRecord, {**to_wire(_artifact()), "data": "not base64!"}, "base64"),
        (records.AttemptRecord, {**to_wire(_call().attempts[0]), "status": "bogus"}, "bogus"),
        (int, True, "must be a int"),
        (records.CallRecord, {**to_wire(_call()), "attempts": [{"x": 1}]}, r"body\.attempts\[0\] lacks"),
        (
            records.CallRecord,
            {**to_wire(_call()), "output": {**to_wire(_artifact()), "data": "!"}},
            "body.output.data",
        ),
        (list[int], {"a": 1}, "a list"),
    ],
)
def test_values_that_do_not_fit_are_usage_errors_naming_the_field(
    kind: object, value: object, words: str
) -> None:
    with pytest.raises(KitaruUsageError, match=words):
        from_wire(kind, value, where="body")


def test_to_wire_refuses_what_has_no_json_form() -> None:
    with pytest.raises(TypeError, match="object"):
        to_wire({"x": object()})
