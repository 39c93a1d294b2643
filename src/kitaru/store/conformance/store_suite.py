"""The conformance suite every ``MetadataStore`` passes.

Each test is a plain function taking a fresh, empty ``store``; a backend's
test module runs ``ALL_TESTS`` against its own stores (see
:class:`kitaru.store.conformance.MetadataStoreSuite`). The tests of runner
lifecycle, waits, replay seeds and logs live in ``lifecycle_suite``, those of
whole executions, refused writes and copies in ``integrity_suite``, those of
call listings in ``paging_suite``, those of copying a replay's calls in
``copy_suite``, those of the work queue of workers in ``queue_suite``, those of deleting
executions in ``retention_suite``, those of fencing
tokens in ``fencing_suite``, those of call sites of log lines, attempt metadata and
artifacts by their checkpoint in ``provenance_suite``; all are part of ``ALL_TESTS``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import inspect
from collections.abc import Callable
from typing import Any

import pytest

from kitaru._types import ArtifactKind, CallKind, CallStatus, ExecutionStatus, new_id, short_id, utcnow
from kitaru.errors import KitaruBackendError, KitaruStateError, KitaruUsageError
from kitaru.store.base import MetadataStore
from kitaru.store.conformance.cache_suite import CACHE_TESTS
from kitaru.store.conformance.copy_suite import COPY_TESTS
from kitaru.store.conformance.fencing_suite import FENCING_TESTS
from kitaru.store.conformance.integrity_suite import INTEGRITY_TESTS
from kitaru.store.conformance.keys_suite import IDEMPOTENCY_TESTS, KEY_TESTS
from kitaru.store.conformance.lifecycle_suite import LIFECYCLE_TESTS
from kitaru.store.conformance.listing_suite import LISTING_TESTS
from kitaru.store.conformance.memory_suite import MEMORY_TESTS
from kitaru.store.conformance.paging_suite import PAGING_TESTS
from kitaru.store.conformance.provenance_suite import PROVENANCE_TESTS
from kitaru.store.conformance.queue_suite import QUEUE_TESTS
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
from kitaru.store.conformance.retention_suite import RETENTION_TESTS
from kitaru.store.conformance.usage_suite import USAGE_TESTS
from kitaru.store.conformance.usage_summary_suite import USAGE_SUMMARY_TESTS
from kitaru.store.conformance.wait_suite import WAIT_TESTS

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
        epoch=7,
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
    kind = ArtifactKind.INPUT.value
    inputs = [
        artifact(exec_id, name=name, kind=kind, data=data, metadata={"kitaru": {"argument": place}})
        for name, data, place in [("x", b"1", 0), ("pair", b"[1,2]", 1), ("label", b'"a"', "label")]
    ]
    store.create_execution(execution(exec_id), inputs=inputs)
    assert store.get_execution(exec_id).inputs_artifact_id is None  # set only by the single-artifact form
    assert [store.get_artifact(a.artifact_id) for a in inputs] == inputs
    listed = store.list_artifacts(exec_id, kind=kind)
    assert [(a.artifact_id, a.name, a.metadata) for a in listed] == [
        (a.artifact_id, a.name, a.metadata) for a in inputs
    ]


def test_create_execution_keeps_the_inputs_artifact_it_is_given(store: MetadataStore) -> None:
    """Executions stored with one ``inputs`` artifact (all arguments in one value) read back as written."""
    exec_id = new_id()
    inputs = artifact(exec_id, name="inputs", kind=ArtifactKind.INPUT.value, data=b'{"args":[],"kwargs":{}}')
    store.create_execution(execution(exec_id, inputs_artifact_id=inputs.artifact_id), inputs=[inputs])
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
        store.create_execution(
            execution(exec_id), inputs=[artifact(exec_id), artifact(exec_id, artifact_id=taken.artifact_id)]
        )
    with pytest.raises(KitaruStateError):
        store.get_execution(exec_id)
    assert store.list_artifacts(first.exec_id) == [dataclasses.replace(taken, data=None)]


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


def test_resolve_exec_id_by_its_end(store: MetadataStore) -> None:
    # Tables print an id's end (its random part): it resolves like a prefix does.
    a = add_execution(store, "0199c0de-0000-7000-8000-3f9a2c1b7e04").exec_id
    b = add_execution(store, "0199c0de-0000-7000-8000-77aa2c1b7e04").exec_id
    assert store.resolve_exec_id(short_id(a)) == a
    assert store.resolve_exec_id("77aa2c1b7e04") == b
    with pytest.raises(KitaruStateError) as info:
        store.resolve_exec_id("2c1b7e04")
    message = str(info.value)
    assert f"\n  {a}\n  {b}\n" in message and "kitaru executions get" in message
    add_execution(store, "a_b%c")
    assert store.resolve_exec_id("%c") == "a_b%c"
    with pytest.raises(KitaruStateError):
        store.resolve_exec_id("_%c")


def test_resolve_exec_id_latest(store: MetadataStore) -> None:
    with pytest.raises(KitaruStateError, match="has none yet"):
        store.resolve_exec_id("latest")
    add_execution(store, new_id(), created_at=at(1))
    newest = add_execution(store, new_id(), created_at=at(2)).exec_id
    assert store.resolve_exec_id("latest") == newest


def test_resolve_artifact_id(store: MetadataStore) -> None:
    owner = add_execution(store, new_id())
    made = [artifact(owner.exec_id, name=f"a{i}") for i in range(3)]
    for record in made:
        store.add_artifact(record)
    first = made[0].artifact_id
    assert store.resolve_artifact_id(first) == first
    assert store.resolve_artifact_id(short_id(first)) == first
    assert store.resolve_artifact_id(first[:-3]) == first
    with pytest.raises(KitaruStateError, match="ambiguous") as info:
        store.resolve_artifact_id(first[:8])
    assert "kitaru artifacts get" in str(info.value)
    with pytest.raises(KitaruStateError, match="No artifact id"):
        store.resolve_artifact_id("zzzz")
    with pytest.raises(KitaruUsageError, match="empty"):
        store.resolve_artifact_id(" ")


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


def test_resolve_exec_id_refuses_an_empty_prefix(store: MetadataStore) -> None:
    # An empty prefix (an unset shell variable) would match the only execution and act on it.
    only = add_execution(store, "eeee1111").exec_id
    for blank in ("", " ", "\t\n"):
        with pytest.raises(KitaruUsageError, match="empty") as info:
            store.resolve_exec_id(blank)
        assert "kitaru executions list" in str(info.value)
    assert store.resolve_exec_id("eeee") == only


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


# -- calls ------------------------------------------------------------------
def test_begin_attempt_records_call_and_attempt(store: MetadataStore) -> None:
    exec_id = add_execution(store).exec_id
    parent = call(exec_id, "outer:0", 1)
    store.begin_attempt(parent, attempt(parent.call_id))
    c = call(
        exec_id,
        "fetch:0",
        2,
        type="tool_call",
        cache_key="ck",
        input_fingerprint="fp",
        after=("outer:0",),
        parent_call_id=parent.call_id,
        kind=CallKind.LLM,
        metadata={"m": 1},
    )
    a = attempt(c.call_id)
    store.begin_attempt(c, a)
    got = store.list_calls(exec_id)[1]
    assert got.call_id == c.call_id and got.status is CallStatus.RUNNING
    assert (got.type, got.cache_key, got.input_fingerprint) == ("tool_call", "ck", "fp")
    assert got.after == ("outer:0",) and got.parent_call_id == parent.call_id
    assert got.kind is CallKind.LLM and got.metadata == {"m": 1} and got.started_at == c.started_at
    assert got.attempt_count == 1 and got.attempts == (a,)
    assert got.output is None and got.ended_at is None


def test_begin_attempt_upsert_keeps_call_id_and_metadata(store: MetadataStore) -> None:
    exec_id = add_execution(store).exec_id
    first = call(exec_id, "step:0", 1, cache_key="k1", metadata={"first": True})
    a1 = attempt(first.call_id, 1)
    store.begin_attempt(first, a1)
    store.merge_call_metadata(first.call_id, {"added": 1})
    store.fail_attempt(first.call_id, a1.attempt_id, failure={"message": "x"}, ended_at=utcnow(), final=False)
    again = call(exec_id, "step:0", 5, name="renamed", type="llm_call", cache_key="k2", after=("a:0",))
    a2 = attempt(again.call_id, 2)
    store.begin_attempt(again, a2)
    got = only_call(store, exec_id)
    assert got.call_id == first.call_id
    assert (got.seq, got.name, got.type, got.cache_key, got.after) == (
        5,
        "renamed",
        "llm_call",
        "k2",
        ("a:0",),
    )
    assert got.status is CallStatus.RUNNING and got.metadata == {"first": True, "added": 1}
    assert got.attempt_count == 2
    assert [x.number for x in got.attempts] == [1, 2]
    assert [x.status for x in got.attempts] == [CallStatus.FAILED, CallStatus.RUNNING]
    assert {x.call_id for x in got.attempts} == {first.call_id}


def test_complete_call(store: MetadataStore) -> None:
    exec_id = add_execution(store).exec_id
    c = call(exec_id)
    a1 = attempt(c.call_id, 1)
    store.begin_attempt(c, a1)
    store.fail_attempt(c.call_id, a1.attempt_id, failure={"message": "flaky"}, ended_at=utcnow(), final=False)
    a2 = attempt(c.call_id, 2)
    store.begin_attempt(c, a2)
    out = artifact(exec_id, call_id=c.call_id)
    ended = at(100)
    store.complete_call(c.call_id, a2.attempt_id, output=out, ended_at=ended)
    got = only_call(store, exec_id)
    assert got.status is CallStatus.COMPLETED and got.output_artifact_id == out.artifact_id
    assert got.ended_at == ended and got.failure is None and got.attempt_count == 2
    assert got.attempts[0].status is CallStatus.FAILED and got.attempts[0].failure == {"message": "flaky"}
    assert got.attempts[1].status is CallStatus.COMPLETED and got.attempts[1].ended_at == ended
    assert store.get_artifact(out.artifact_id) == out


def test_record_completed_attempt_is_begin_then_complete(store: MetadataStore) -> None:
    exec_id = add_execution(store).exec_id
    c = call(exec_id, cache_key="ck", input_fingerprint="fp")
    a = attempt(c.call_id)
    out = artifact(exec_id, call_id=c.call_id)
    ended = at(100)
    store.record_completed_attempt(c, a, output=out, ended_at=ended)
    got = only_call(store, exec_id)
    assert got.call_id == c.call_id and got.status is CallStatus.COMPLETED
    assert got.output_artifact_id == out.artifact_id and got.ended_at == ended and got.failure is None
    assert (got.cache_key, got.input_fingerprint, got.started_at) == ("ck", "fp", c.started_at)
    assert got.attempt_count == 1 and len(got.attempts) == 1
    assert got.attempts[0].attempt_id == a.attempt_id and got.attempts[0].status is CallStatus.COMPLETED
    assert got.attempts[0].ended_at == ended
    assert store.get_artifact(out.artifact_id) == out


def test_record_completed_attempt_after_a_failed_one_keeps_the_call(store: MetadataStore) -> None:
    exec_id = add_execution(store).exec_id
    c = call(exec_id, metadata={"first": True})
    a1 = attempt(c.call_id, 1)
    store.begin_attempt(c, a1)
    store.fail_attempt(c.call_id, a1.attempt_id, failure={"message": "flaky"}, ended_at=utcnow(), final=False)
    again = call(exec_id, seq=3)  # a new record of the same invocation: the stored call id wins
    a2 = attempt(c.call_id, 2)
    out = artifact(exec_id, call_id=c.call_id)
    store.record_completed_attempt(again, a2, output=out, ended_at=at(50))
    got = only_call(store, exec_id)
    assert got.call_id == c.call_id and got.seq == 3 and got.metadata == {"first": True}
    assert got.status is CallStatus.COMPLETED and got.attempt_count == 2
    assert [x.status for x in got.attempts] == [CallStatus.FAILED, CallStatus.COMPLETED]


def test_record_completed_attempt_of_missing_execution_changes_nothing(store: MetadataStore) -> None:
    c = call("missing-exec")
    with pytest.raises(KitaruStateError, match="missing-exec"):
        store.record_completed_attempt(
            c, attempt(c.call_id), output=artifact("missing-exec", call_id=c.call_id), ended_at=utcnow()
        )


def test_complete_call_with_unknown_attempt_changes_nothing(store: MetadataStore) -> None:
    exec_id = add_execution(store).exec_id
    c = call(exec_id)
    store.begin_attempt(c, attempt(c.call_id))
    out = artifact(exec_id, call_id=c.call_id)
    with pytest.raises(KitaruStateError, match="no-attempt"):
        store.complete_call(c.call_id, "no-attempt", output=out, ended_at=utcnow())
    with pytest.raises(KitaruStateError):
        store.get_artifact(out.artifact_id)
    assert only_call(store, exec_id).status is CallStatus.RUNNING


def test_fail_attempt(store: MetadataStore) -> None:
    exec_id = add_execution(store).exec_id
    c = call(exec_id)
    a1 = attempt(c.call_id, 1)
    store.begin_attempt(c, a1)
    failure = {"message": "bad", "exception_type": "ValueError", "traceback": "tb", "origin": "user_code"}
    store.fail_attempt(c.call_id, a1.attempt_id, failure=failure, ended_at=at(1), final=False)
    got = only_call(store, exec_id)
    assert got.status is CallStatus.RUNNING and got.failure is None and got.ended_at is None
    assert got.attempts[0].status is CallStatus.FAILED and got.attempts[0].failure == failure
    assert got.attempts[0].ended_at == at(1)
    a2 = attempt(c.call_id, 2)
    store.begin_attempt(c, a2)
    store.fail_attempt(c.call_id, a2.attempt_id, failure=failure, ended_at=at(2), final=True)
    got = only_call(store, exec_id)
    assert got.status is CallStatus.FAILED and got.failure == failure and got.ended_at == at(2)
    with pytest.raises(KitaruStateError):
        store.fail_attempt(c.call_id, "nope", failure=failure, ended_at=at(3), final=True)


def test_rerun_of_a_failed_call_clears_its_end(store: MetadataStore) -> None:
    exec_id = add_execution(store).exec_id
    c = call(exec_id)
    a1 = attempt(c.call_id, 1)
    store.begin_attempt(c, a1)
    store.fail_attempt(c.call_id, a1.attempt_id, failure={"message": "x"}, ended_at=at(1), final=True)
    store.begin_attempt(call(exec_id, call_id=c.call_id), attempt(c.call_id, 2))
    got = only_call(store, exec_id)
    assert got.status is CallStatus.RUNNING and got.failure is None and got.ended_at is None


def test_begin_attempt_for_missing_execution(store: MetadataStore) -> None:
    c = call("missing-exec")
    with pytest.raises(KitaruStateError, match="missing-exec"):
        store.begin_attempt(c, attempt(c.call_id))


def test_merge_call_metadata(store: MetadataStore) -> None:
    exec_id = add_execution(store).exec_id
    c = call(exec_id, metadata={"tokens": {"in": 1}})
    store.begin_attempt(c, attempt(c.call_id))
    store.merge_call_metadata(c.call_id, {"tokens": {"out": 2}, "model": "m"})
    assert only_call(store, exec_id).metadata == {"tokens": {"in": 1, "out": 2}, "model": "m"}
    with pytest.raises(KitaruStateError, match="missing-call"):
        store.merge_call_metadata("missing-call", {"a": 1})


def test_load_journal(store: MetadataStore) -> None:
    exec_id = add_execution(store).exec_id
    c2, out2 = run_call(store, exec_id, "b:0", 2)
    c1 = call(exec_id, "a:0", 1)
    a1 = attempt(c1.call_id)
    store.begin_attempt(c1, a1)
    blob = artifact(exec_id, call_id=c1.call_id, data=None, blob_key="f" * 64, size=5_000_000_000)
    store.complete_call(c1.call_id, a1.attempt_id, output=blob, ended_at=utcnow())
    c3 = call(exec_id, "c:0", 3)
    store.begin_attempt(c3, attempt(c3.call_id))
    journal = store.load_journal(exec_id)
    assert [c.invocation_id for c in journal] == ["a:0", "b:0", "c:0"]
    assert journal[0].output == blob and journal[0].output is not None and journal[0].output.data is None
    assert journal[1].output == out2 and journal[1].call_id == c2.call_id
    assert journal[2].output is None and journal[2].status is CallStatus.RUNNING
    assert [c.attempt_count for c in journal] == [1, 1, 1]
    assert all(c.attempts == () for c in journal)


def test_journal_of_empty_and_missing_executions(store: MetadataStore) -> None:
    exec_id = add_execution(store).exec_id
    assert store.load_journal(exec_id) == []
    assert store.list_calls(exec_id) == []
    with pytest.raises(KitaruStateError, match="missing-exec"):
        store.load_journal("missing-exec")
    with pytest.raises(KitaruStateError, match="missing-exec"):
        store.list_calls("missing-exec")


def test_calls_of_other_executions_stay_apart(store: MetadataStore) -> None:
    first = add_execution(store).exec_id
    second = add_execution(store).exec_id
    c1, _ = run_call(store, first, "step:0")
    c2, _ = run_call(store, second, "step:0")
    assert [c.call_id for c in store.load_journal(first)] == [c1.call_id]
    assert [c.call_id for c in store.list_calls(second)] == [c2.call_id]


# -- artifacts --------------------------------------------------------------
def test_artifact_round_trips(store: MetadataStore) -> None:
    exec_id = add_execution(store).exec_id
    inline = artifact(
        exec_id, name="saved", kind="context", tags=("a", "b"), metadata={"k": [1]}, data=b"\x00\xff"
    )
    blob = artifact(exec_id, name="big", data=None, blob_key="e" * 64, size=3 * 2**31)
    store.add_artifact(inline)
    store.add_artifact(blob)
    assert store.get_artifact(inline.artifact_id) == inline
    assert store.get_artifact(blob.artifact_id) == blob
    with pytest.raises(KitaruStateError, match="missing-artifact"):
        store.get_artifact("missing-artifact")


def test_list_artifacts(store: MetadataStore) -> None:
    exec_id = add_execution(store).exec_id
    c, out = run_call(store, exec_id)
    saved = artifact(exec_id, name="notes", kind="context", call_id=c.call_id, created_at=at(-10))
    other = artifact(exec_id, name="notes", kind="blob", created_at=at(-5))
    store.add_artifact(saved)
    store.add_artifact(other)
    listed = store.list_artifacts(exec_id)
    assert [a.artifact_id for a in listed] == [saved.artifact_id, other.artifact_id, out.artifact_id]
    assert all(a.data is None for a in listed)
    assert listed[2].sha256 == out.sha256 and listed[2].call_id == c.call_id
    assert [a.artifact_id for a in store.list_artifacts(exec_id, name="notes")] == [
        saved.artifact_id,
        other.artifact_id,
    ]
    assert [a.artifact_id for a in store.list_artifacts(exec_id, kind="blob")] == [other.artifact_id]
    assert [a.artifact_id for a in store.list_artifacts(exec_id, call_id=c.call_id)] == [
        saved.artifact_id,
        out.artifact_id,
    ]
    assert store.list_artifacts(exec_id, name="notes", kind="context", call_id="x") == []
    assert store.list_artifacts(add_execution(store).exec_id) == []
    with pytest.raises(KitaruStateError, match="missing-exec"):
        store.list_artifacts("missing-exec")


def test_add_artifact_to_missing_execution(store: MetadataStore) -> None:
    with pytest.raises(KitaruStateError, match="missing-exec"):
        store.add_artifact(artifact("missing-exec"))


def test_duplicate_artifact_is_a_backend_error(store: MetadataStore) -> None:
    exec_id = add_execution(store).exec_id
    a = artifact(exec_id)
    store.add_artifact(a)
    with pytest.raises(KitaruBackendError, match=a.artifact_id):
        store.add_artifact(a)


def test_closed_store_refuses_work(store: MetadataStore) -> None:
    record = add_execution(store)
    store.close()
    with pytest.raises(KitaruStateError, match="closed"):
        store.get_execution(record.exec_id)
    store.close()


def test_shared_is_a_fixed_flag(store: MetadataStore) -> None:
    """Whether others can write the store decides whether values from it may run code (pickles)."""
    assert type(store.shared) is bool
    add_execution(store)
    assert store.shared is store.shared


#: Every case of the suite, as plain functions of one argument: the store under test.
ALL_TESTS: list[Callable[[MetadataStore], None]] = (
    [value for name, value in list(globals().items()) if name.startswith("test_") and callable(value)]
    + LIFECYCLE_TESTS
    + CACHE_TESTS
    + INTEGRITY_TESTS
    + WAIT_TESTS
    + PAGING_TESTS
    + LISTING_TESTS
    + COPY_TESTS
    + RETENTION_TESTS
    + FENCING_TESTS
    + MEMORY_TESTS
    + USAGE_TESTS
    + USAGE_SUMMARY_TESTS
    + PROVENANCE_TESTS
    + KEY_TESTS
    + IDEMPOTENCY_TESTS
    + QUEUE_TESTS
)
