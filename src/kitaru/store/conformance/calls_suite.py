"""Conformance tests of durable calls (attempts, completion, failures, the cache, the journal) and artifacts.

Part of ``ALL_TESTS`` of ``store_suite``; each test takes a fresh, empty ``store``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from kitaru._types import CallKind, CallStatus, utcnow
from kitaru.errors import KitaruBackendError, KitaruStateError
from kitaru.store.base import MetadataStore
from kitaru.store.conformance.records import add_execution, artifact, at, attempt, call, only_call, run_call

__all__ = ["CALL_TESTS"]


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


def test_record_cached_call(store: MetadataStore) -> None:
    source_exec = add_execution(store).exec_id
    _, out = run_call(store, source_exec, cache_key="ck")
    exec_id = add_execution(store).exec_id
    cached = call(exec_id, cache_key="ck", ended_at=utcnow(), metadata={"m": 1})
    store.record_cached_call(cached, output_artifact_id=out.artifact_id)
    got = only_call(store, exec_id)
    assert got.call_id == cached.call_id and got.status is CallStatus.CACHED
    assert got.output_artifact_id == out.artifact_id and got.attempt_count == 0 and got.attempts == ()
    journal = store.load_journal(exec_id)
    assert journal[0].output == out
    store.record_cached_call(call(exec_id, seq=3), output_artifact_id=out.artifact_id)
    again = only_call(store, exec_id)
    assert again.call_id == cached.call_id and again.seq == 3 and again.metadata == {"m": 1}


def test_find_cached_output(store: MetadataStore) -> None:
    first = add_execution(store).exec_id
    second = add_execution(store).exec_id
    third = add_execution(store).exec_id
    assert store.find_cached_output("ck", exclude_exec_id=third) is None
    _, old = run_call(store, first, cache_key="ck")
    _, new = run_call(store, second, cache_key="ck")
    running = call(first, "running:0", 2, cache_key="ck")
    store.begin_attempt(running, attempt(running.call_id))
    _, other = run_call(store, first, "other:0", 3, cache_key="other")
    assert store.find_cached_output("ck", exclude_exec_id=third) == new
    assert store.find_cached_output("ck", exclude_exec_id=second) == old
    assert store.find_cached_output("other", exclude_exec_id=second) == other
    assert store.find_cached_output("other", exclude_exec_id=first) is None
    assert store.find_cached_output("unknown", exclude_exec_id=third) is None
    found = store.find_cached_output("ck", exclude_exec_id=third)
    assert found is not None and found.data == new.data


def test_find_cached_output_skips_failed_and_cached_calls(store: MetadataStore) -> None:
    first = add_execution(store).exec_id
    _, out = run_call(store, first, cache_key="ck")
    second = add_execution(store).exec_id
    store.record_cached_call(call(second, cache_key="ck"), output_artifact_id=out.artifact_id)
    failed = call(second, "bad:0", 2, cache_key="ck")
    a = attempt(failed.call_id)
    store.begin_attempt(failed, a)
    store.fail_attempt(failed.call_id, a.attempt_id, failure={"message": "x"}, ended_at=utcnow(), final=True)
    assert store.find_cached_output("ck", exclude_exec_id=first) is None


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


def test_record_cached_call_over_a_started_call(store: MetadataStore) -> None:
    source = add_execution(store).exec_id
    _, out = run_call(store, source, cache_key="ck")
    exec_id = add_execution(store).exec_id
    c = call(exec_id, metadata={"m": 1})
    a = attempt(c.call_id)
    store.begin_attempt(c, a)
    store.fail_attempt(c.call_id, a.attempt_id, failure={"message": "x"}, ended_at=at(1), final=False)
    store.record_cached_call(call(exec_id, ended_at=at(2)), output_artifact_id=out.artifact_id)
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


CALL_TESTS: list[Callable[[MetadataStore], None]] = [
    value for name, value in list(globals().items()) if name.startswith("test_") and callable(value)
]
