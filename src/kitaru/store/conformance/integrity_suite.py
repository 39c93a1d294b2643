"""Conformance tests across tables: one whole execution, refused writes, kept values, copies.

Part of ``ALL_TESTS`` of ``store_suite``; each test takes a fresh, empty ``store``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from kitaru._types import ArtifactKind, CallKind, CallStatus, ExecutionStatus, new_id, utcnow
from kitaru.errors import KitaruBackendError
from kitaru.records import LogRecord
from kitaru.store.base import MetadataStore
from kitaru.store.conformance.records import (
    add_execution,
    artifact,
    at,
    attempt,
    call,
    execution,
    only_call,
    run_call,
)

__all__ = ["INTEGRITY_TESTS"]


def test_one_execution_from_start_to_end(store: MetadataStore) -> None:
    """The writes of one execution with a checkpoint, a saved value, a wait and a result."""
    exec_id = new_id()
    inputs = artifact(exec_id, name="topic", kind=ArtifactKind.INPUT.value, data=b'"x"')
    store.create_execution(execution(exec_id, flow_name="research"), inputs=[inputs])
    assert store.claim_execution(exec_id, runner_id="r1", expected=[ExecutionStatus.PENDING]) is not None
    fetched, out = run_call(store, exec_id, "fetch:0", 1, input_fingerprint="fp")
    saved = artifact(exec_id, name="notes", kind=ArtifactKind.CONTEXT.value, call_id=fetched.call_id)
    store.add_artifact(saved)
    store.append_logs([LogRecord(exec_id, utcnow(), "fetched", call_id=fetched.call_id)])
    wait = call(exec_id, "approve:0", 2, kind=CallKind.WAIT)
    store.begin_attempt(wait, attempt(wait.call_id))
    assert store.set_execution_status(
        exec_id, ExecutionStatus.WAITING, expected=[ExecutionStatus.RUNNING], runner_id="r1", release=True
    )
    assert [c.call_id for c in store.list_pending_waits(exec_id)] == [wait.call_id]
    answer = artifact(exec_id, name="input", kind=ArtifactKind.INPUT.value, call_id=wait.call_id)
    assert store.resolve_wait(wait.call_id, output=answer, metadata={"by": "cli"}, ended_at=utcnow())
    again = store.claim_execution(exec_id, runner_id="r2", expected=[ExecutionStatus.WAITING])
    assert again is not None and again.run_count == 2 and again.runner_id == "r2"
    journal = store.load_journal(exec_id)
    assert [(c.invocation_id, c.status) for c in journal] == [
        ("fetch:0", CallStatus.COMPLETED),
        ("approve:0", CallStatus.COMPLETED),
    ]
    assert [c.output for c in journal] == [out, answer]
    result = artifact(exec_id, name="result", kind=ArtifactKind.RESULT.value)
    store.finish_execution(exec_id, ExecutionStatus.COMPLETED, result=result)
    assert store.set_execution_status(exec_id, ExecutionStatus.COMPLETED, runner_id="r2", release=True)
    done = store.get_execution(exec_id)
    assert (done.status, done.result_artifact_id, done.inputs_artifact_id, done.runner_id) == (
        ExecutionStatus.COMPLETED,
        result.artifact_id,
        None,
        None,
    )
    assert [e.exec_id for e in store.list_executions(status="completed")] == [exec_id]
    assert store.resolve_exec_id(exec_id[:-4]) == exec_id
    assert {a.artifact_id for a in store.list_artifacts(exec_id)} == {
        inputs.artifact_id,
        out.artifact_id,
        saved.artifact_id,
        answer.artifact_id,
        result.artifact_id,
    }
    assert [r.message for r in store.list_logs(exec_id, call_id=fetched.call_id)] == ["fetched"]


def test_finish_execution_keeps_an_earlier_result(store: MetadataStore) -> None:
    record = add_execution(store)
    result = artifact(record.exec_id, name="result", kind=ArtifactKind.RESULT.value)
    store.finish_execution(record.exec_id, ExecutionStatus.COMPLETED, result=result)
    store.start_execution(record.exec_id, runner_id="r")
    store.finish_execution(record.exec_id, ExecutionStatus.WAITING)
    got = store.get_execution(record.exec_id)
    assert got.result_artifact_id == result.artifact_id and got.ended_at is None


def test_records_read_and_written_are_copies(store: MetadataStore) -> None:
    metadata: dict[str, Any] = {"nested": {"a": 1}, "pair": (1, 2)}
    record = add_execution(store, metadata=metadata, spec={"retries": 1})
    metadata["nested"]["a"] = 2
    read = store.get_execution(record.exec_id)
    assert read.metadata == {"nested": {"a": 1}, "pair": [1, 2]}
    read.metadata["nested"]["a"] = 3
    read.spec["retries"] = 9
    c = call(record.exec_id, metadata={"m": {"x": 1}})
    store.begin_attempt(c, attempt(c.call_id))
    store.list_calls(record.exec_id)[0].metadata["m"]["x"] = 2
    saved = artifact(record.exec_id, metadata={"k": [1]})
    store.add_artifact(saved)
    store.get_artifact(saved.artifact_id).metadata["k"].append(2)
    store.list_artifacts(record.exec_id)[0].metadata["k"].append(3)
    again = store.get_execution(record.exec_id)
    assert again.metadata == {"nested": {"a": 1}, "pair": [1, 2]} and again.spec == {"retries": 1}
    assert only_call(store, record.exec_id).metadata == {"m": {"x": 1}}
    assert store.get_artifact(saved.artifact_id).metadata == {"k": [1]}


def test_record_cached_call_over_a_started_call(store: MetadataStore) -> None:
    source = add_execution(store).exec_id
    run_call(store, source, cache_key="ck")
    hit = store.find_cached_call("ck", exclude_exec_id="")
    assert hit is not None and hit.output is not None
    out = hit.output
    exec_id = add_execution(store).exec_id
    c = call(exec_id, metadata={"m": 1})
    a = attempt(c.call_id)
    store.begin_attempt(c, a)
    store.fail_attempt(c.call_id, a.attempt_id, failure={"message": "x"}, ended_at=at(1), final=False)
    store.record_cached_call(call(exec_id, ended_at=at(2)), source=hit)
    got = only_call(store, exec_id)
    assert got.call_id == c.call_id and got.status is CallStatus.CACHED and got.ended_at == at(2)
    assert got.output_artifact_id == out.artifact_id and got.metadata == {"m": 1}
    assert got.attempt_count == 1 and [x.attempt_id for x in got.attempts] == [a.attempt_id]


def test_taken_ids_are_refused_and_change_nothing(store: MetadataStore) -> None:
    exec_id = add_execution(store).exec_id
    done, out = run_call(store, exec_id, "done:0", 1)
    c = call(exec_id, "step:0", 2)
    a = attempt(c.call_id)
    store.begin_attempt(c, a)
    wait = call(exec_id, "approve:0", 3, kind=CallKind.WAIT)
    store.begin_attempt(wait, attempt(wait.call_id))
    before = store.list_calls(exec_id)
    taken = artifact(exec_id, artifact_id=out.artifact_id, data=b"other")
    with pytest.raises(KitaruBackendError):
        store.complete_call(c.call_id, a.attempt_id, output=taken, ended_at=at(1))
    with pytest.raises(KitaruBackendError):
        store.resolve_wait(wait.call_id, output=taken, metadata={"x": 1}, ended_at=at(1))
    clash = call(exec_id, "other:0", 4, call_id=done.call_id)
    with pytest.raises(KitaruBackendError):
        store.begin_attempt(clash, attempt(clash.call_id))
    again = call(exec_id, "fresh:0", 5)
    with pytest.raises(KitaruBackendError):
        store.begin_attempt(again, dataclasses.replace(attempt(again.call_id), attempt_id=a.attempt_id))
    assert store.list_calls(exec_id) == before
    assert store.get_artifact(out.artifact_id) == out
    assert [w.call_id for w in store.list_pending_waits(exec_id)] == [wait.call_id]


#: The cases of this module, as plain functions of one argument: the store under test.
INTEGRITY_TESTS: list[Callable[[MetadataStore], None]] = [
    value for name, value in list(globals().items()) if name.startswith("test_") and callable(value)
]
