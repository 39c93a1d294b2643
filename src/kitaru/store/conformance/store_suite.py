"""The conformance suite every ``MetadataStore`` passes.

Each test is a plain function taking a fresh, empty ``store``; a backend's
test module runs ``ALL_TESTS`` against its own stores (see
:class:`kitaru.store.conformance.MetadataStoreSuite`). Executions are
tested here; calls and artifacts in ``calls_suite``, the runner lifecycle,
waits and replay seeds in ``lifecycle_suite``, logs in ``logs_suite``: all are
part of ``ALL_TESTS``.
"""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Callable
from typing import Any

import pytest

from kitaru._types import ArtifactKind, CallKind, CallStatus, ExecutionStatus, new_id, utcnow
from kitaru.errors import KitaruBackendError, KitaruStateError, KitaruUsageError
from kitaru.store.base import LogRecord, MetadataStore
from kitaru.store.conformance.calls_suite import CALL_TESTS
from kitaru.store.conformance.lifecycle_suite import LIFECYCLE_TESTS
from kitaru.store.conformance.logs_suite import LOG_TESTS
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

__all__ = ["ALL_TESTS"]


# -- executions -------------------------------------------------------------
def test_store_has_every_method_of_the_protocol(store: MetadataStore) -> None:
    # isinstance() on a runtime-checkable protocol checks the names only.
    assert isinstance(store, MetadataStore)
    names = [name for name, value in vars(MetadataStore).items() if callable(value) and name[0] != "_"]
    assert len(names) >= 25
    for name in names:
        wanted = list(inspect.signature(getattr(MetadataStore, name)).parameters.values())[1:]
        got = list(inspect.signature(getattr(store, name)).parameters.values())
        shape = [(p.name, p.kind, p.default) for p in got]
        assert shape == [(p.name, p.kind, p.default) for p in wanted], name


def test_one_execution_from_start_to_end(store: MetadataStore) -> None:
    """The writes of one execution with a checkpoint, a saved value, a wait and a result."""
    exec_id = new_id()
    inputs = artifact(exec_id, name="inputs", kind=ArtifactKind.INPUT.value, data=b'{"topic":"x"}')
    store.create_execution(execution(exec_id, flow_name="research"), inputs=inputs)
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
        inputs.artifact_id,
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


def test_execution_round_trips_every_field(store: MetadataStore) -> None:
    record = execution(
        flow_name="research",
        status=ExecutionStatus.WAITING,
        created_at=at(0),
        updated_at=at(1),
        started_at=at(2),
        ended_at=at(3),
        metadata={"team": "ml", "nested": {"a": [1, 2, {"b": None}]}, "unicode": "déjà vu ✓"},
        failure={"message": "boom", "exception_type": "ValueError", "traceback": "tb", "origin": "user_code"},
        original_exec_id="orig-1",
        spec={"retries": 2, "api_key": "***"},
        source={"module": "app.flows", "qualname": "research", "path": None},
        inputs_artifact_id="in-1",
        result_artifact_id="res-1",
        runner_id="host:123",
        heartbeat_at=at(4),
        run_count=3,
        cancel_requested=True,
    )
    store.create_execution(record)
    assert store.get_execution(record.exec_id) == record


def test_timestamps_come_back_aware_utc(store: MetadataStore) -> None:
    plus_two = dt.timezone(dt.timedelta(hours=2))
    local = dt.datetime(2025, 6, 1, 14, 30, 0, 5, tzinfo=plus_two)
    record = add_execution(store, created_at=local, updated_at=local)
    got = store.get_execution(record.exec_id)
    assert got.created_at == local
    assert got.created_at.utcoffset() == dt.timedelta(0)
    assert got.created_at.hour == 12 and got.created_at.microsecond == 5
    started = store.start_execution(record.exec_id, runner_id="r")
    assert started.started_at is not None and started.started_at.tzinfo is not None
    assert started.heartbeat_at is not None and started.heartbeat_at.utcoffset() == dt.timedelta(0)


def test_create_execution_stores_its_inputs(store: MetadataStore) -> None:
    exec_id = new_id()
    inputs = artifact(exec_id, name="inputs", kind=ArtifactKind.INPUT.value, data=b'{"x":1}')
    store.create_execution(execution(exec_id), inputs=inputs)
    assert store.get_execution(exec_id).inputs_artifact_id == inputs.artifact_id
    assert store.get_artifact(inputs.artifact_id) == inputs


def test_create_execution_twice_is_a_state_error(store: MetadataStore) -> None:
    record = add_execution(store)
    with pytest.raises(KitaruStateError, match=record.exec_id):
        store.create_execution(record)


def test_create_execution_is_atomic(store: MetadataStore) -> None:
    first = add_execution(store)
    taken = artifact(first.exec_id)
    store.add_artifact(taken)
    exec_id = new_id()
    with pytest.raises(KitaruBackendError):
        store.create_execution(execution(exec_id), inputs=artifact(exec_id, artifact_id=taken.artifact_id))
    with pytest.raises(KitaruStateError):
        store.get_execution(exec_id)


def test_get_missing_execution_names_it(store: MetadataStore) -> None:
    with pytest.raises(KitaruStateError, match="no-such-exec") as info:
        store.get_execution("no-such-exec")
    assert "executions.list()" in str(info.value)


def test_resolve_exec_id(store: MetadataStore) -> None:
    a = add_execution(store, "aaaa1111").exec_id
    add_execution(store, "aaaa2222")
    b = add_execution(store, "bbbb1111").exec_id
    assert store.resolve_exec_id(a) == a
    assert store.resolve_exec_id("aaaa1") == a
    assert store.resolve_exec_id("b") == b


def test_resolve_exec_id_exact_match_wins(store: MetadataStore) -> None:
    add_execution(store, "abc")
    add_execution(store, "abcdef")
    assert store.resolve_exec_id("abc") == "abc"
    assert store.resolve_exec_id("abcd") == "abcdef"


def test_resolve_exec_id_ambiguous_lists_the_matches(store: MetadataStore) -> None:
    add_execution(store, "cafe-1")
    add_execution(store, "cafe-2")
    add_execution(store, "other")
    with pytest.raises(KitaruStateError) as info:
        store.resolve_exec_id("cafe")
    message = str(info.value)
    assert "cafe-1" in message and "cafe-2" in message and "other" not in message


def test_resolve_exec_id_without_match(store: MetadataStore) -> None:
    add_execution(store, "dddd")
    with pytest.raises(KitaruStateError, match="zzz"):
        store.resolve_exec_id("zzz")


def test_resolve_exec_id_takes_the_prefix_literally(store: MetadataStore) -> None:
    add_execution(store, "a_b%c")
    add_execution(store, "axbyc")
    add_execution(store, "UPPER")
    assert store.resolve_exec_id("a_") == "a_b%c"
    assert store.resolve_exec_id("a_b%") == "a_b%c"
    with pytest.raises(KitaruStateError):
        store.resolve_exec_id("%")
    with pytest.raises(KitaruStateError):
        store.resolve_exec_id("upp")


def test_list_executions_newest_first(store: MetadataStore) -> None:
    old = add_execution(store, created_at=at(0))
    new = add_execution(store, created_at=at(10))
    middle = add_execution(store, created_at=at(5))
    tie_low = add_execution(store, "tie-a", created_at=at(7))
    tie_high = add_execution(store, "tie-b", created_at=at(7))
    ids = [e.exec_id for e in store.list_executions()]
    assert ids == [new.exec_id, tie_high.exec_id, tie_low.exec_id, middle.exec_id, old.exec_id]


def test_list_executions_filters(store: MetadataStore) -> None:
    a1 = add_execution(store, flow_name="a", status=ExecutionStatus.COMPLETED, created_at=at(1))
    a2 = add_execution(store, flow_name="a", status=ExecutionStatus.FAILED, created_at=at(2))
    a3 = add_execution(store, flow_name="a", status=ExecutionStatus.COMPLETED, created_at=at(3))
    b1 = add_execution(store, flow_name="b", status=ExecutionStatus.COMPLETED, created_at=at(4))

    def ids(**filters: Any) -> list[str]:
        return [e.exec_id for e in store.list_executions(**filters)]

    assert ids(flow="a") == [a3.exec_id, a2.exec_id, a1.exec_id]
    assert ids(status=ExecutionStatus.COMPLETED) == [b1.exec_id, a3.exec_id, a1.exec_id]
    assert ids(status="failed") == [a2.exec_id]
    assert ids(flow="a", status="completed") == [a3.exec_id, a1.exec_id]
    assert ids(limit=2) == [b1.exec_id, a3.exec_id]
    assert ids(since=at(2)) == [b1.exec_id, a3.exec_id, a2.exec_id]
    assert ids(since=at(2).astimezone(dt.timezone(dt.timedelta(hours=-5)))) == ids(since=at(2))
    assert ids(flow="a", status="completed", since=at(2), limit=5) == [a3.exec_id]
    assert ids(flow="nope") == []
    assert ids(limit=0) == []


def test_list_executions_rejects_bad_filters(store: MetadataStore) -> None:
    with pytest.raises(KitaruUsageError, match="bogus"):
        store.list_executions(status="bogus")
    with pytest.raises(KitaruUsageError):
        store.list_executions(limit=-1)


def test_start_execution(store: MetadataStore) -> None:
    record = add_execution(store, ended_at=at(1), failure={"message": "old"})
    first = store.start_execution(record.exec_id, runner_id="runner-1")
    assert first.status is ExecutionStatus.RUNNING
    assert first.started_at is not None and first.ended_at is None and first.failure is None
    assert first.run_count == 1 and first.runner_id == "runner-1"
    assert first.heartbeat_at is not None and first.updated_at >= record.updated_at
    assert store.get_execution(record.exec_id) == first
    store.finish_execution(record.exec_id, ExecutionStatus.FAILED, failure={"message": "x"})
    second = store.start_execution(record.exec_id, runner_id="runner-2")
    assert second.started_at == first.started_at
    assert second.run_count == 2 and second.runner_id == "runner-2"
    assert second.ended_at is None and second.failure is None


def test_start_missing_execution(store: MetadataStore) -> None:
    with pytest.raises(KitaruStateError, match="missing-id"):
        store.start_execution("missing-id", runner_id="r")


def test_finish_execution_with_result(store: MetadataStore) -> None:
    record = add_execution(store)
    store.start_execution(record.exec_id, runner_id="r")
    result = artifact(record.exec_id, name="result", kind=ArtifactKind.RESULT.value)
    store.finish_execution(record.exec_id, ExecutionStatus.COMPLETED, result=result)
    got = store.get_execution(record.exec_id)
    assert got.status is ExecutionStatus.COMPLETED
    assert got.ended_at is not None and got.result_artifact_id == result.artifact_id
    assert got.failure is None
    assert store.get_artifact(result.artifact_id) == result


def test_finish_execution_with_failure_and_waiting(store: MetadataStore) -> None:
    record = add_execution(store)
    store.start_execution(record.exec_id, runner_id="r")
    store.finish_execution(record.exec_id, ExecutionStatus.WAITING)
    waiting = store.get_execution(record.exec_id)
    assert waiting.status is ExecutionStatus.WAITING and waiting.ended_at is None
    failure = {"message": "boom", "exception_type": "KeyError", "traceback": "...", "origin": "user_code"}
    store.finish_execution(record.exec_id, ExecutionStatus.FAILED, failure=failure)
    failed = store.get_execution(record.exec_id)
    assert failed.status is ExecutionStatus.FAILED and failed.failure == failure
    assert failed.ended_at is not None and failed.result_artifact_id is None


def test_finish_missing_execution_stores_nothing(store: MetadataStore) -> None:
    anchor = add_execution(store)
    result = artifact(anchor.exec_id, name="result")
    with pytest.raises(KitaruStateError, match="missing-id"):
        store.finish_execution("missing-id", ExecutionStatus.COMPLETED, result=result)
    with pytest.raises(KitaruStateError):
        store.get_artifact(result.artifact_id)


def test_merge_execution_metadata(store: MetadataStore) -> None:
    record = add_execution(store, metadata={"a": {"x": 1}, "b": 1, "keep": True})
    store.merge_execution_metadata(record.exec_id, {"a": {"y": 2}, "b": 2, "c": [1]})
    store.merge_execution_metadata(record.exec_id, {"a": {"x": 3}, "c": [2]})
    got = store.get_execution(record.exec_id)
    assert got.metadata == {"a": {"x": 3, "y": 2}, "b": 2, "c": [2], "keep": True}
    assert got.updated_at >= record.updated_at
    with pytest.raises(KitaruStateError, match="missing-id"):
        store.merge_execution_metadata("missing-id", {"a": 1})


def test_unserializable_metadata_is_a_usage_error(store: MetadataStore) -> None:
    record = add_execution(store)
    with pytest.raises(KitaruUsageError):
        store.merge_execution_metadata(record.exec_id, {"bad": object()})
    assert store.get_execution(record.exec_id).metadata == {}


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


# -- the store itself -------------------------------------------------------
def test_closed_store_refuses_work(store: MetadataStore) -> None:
    record = add_execution(store)
    store.close()
    with pytest.raises(KitaruStateError, match="closed"):
        store.get_execution(record.exec_id)
    store.close()


ALL_TESTS: list[Callable[[MetadataStore], None]] = (
    [value for name, value in list(globals().items()) if name.startswith("test_") and callable(value)]
    + CALL_TESTS
    + LIFECYCLE_TESTS
    + LOG_TESTS
)
