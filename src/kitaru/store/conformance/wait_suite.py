"""Conformance tests of entering a wait (``begin_wait``).

Part of ``ALL_TESTS`` of ``store_suite``; each test takes a fresh, empty ``store``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from kitaru._types import CallKind, CallStatus, ExecutionStatus
from kitaru.errors import KitaruStateError, KitaruUsageError
from kitaru.records import CallRecord
from kitaru.store.base import MetadataStore
from kitaru.store.conformance.records import add_execution, at, attempt, call, only_call, run_call

__all__ = ["WAIT_TESTS"]

RUNNER = "runner-1"


def started(store: MetadataStore, runner_id: str = RUNNER) -> str:
    """A new execution that ``runner_id`` runs."""
    exec_id = add_execution(store).exec_id
    store.start_execution(exec_id, runner_id=runner_id)
    return exec_id


def wait_call(exec_id: str, invocation_id: str = "approve", seq: int = 1, **metadata: object) -> CallRecord:
    info = {"name": invocation_id, "question": "ok?", "schema": {"type": "boolean"}, **metadata}
    return call(exec_id, invocation_id, seq, kind=CallKind.WAIT, metadata={"wait": info})


def test_begin_wait_records_the_wait_and_the_waiting_status(store: MetadataStore) -> None:
    exec_id = started(store)
    before = store.get_execution(exec_id)
    c = wait_call(exec_id)
    a = attempt(c.call_id)
    assert store.begin_wait(c, a, runner_id=RUNNER)
    record = store.get_execution(exec_id)
    assert record.status is ExecutionStatus.WAITING and record.runner_id == RUNNER
    assert record.ended_at is None and record.updated_at >= before.updated_at
    assert record.run_count == before.run_count
    got = only_call(store, exec_id)
    assert got.call_id == c.call_id and got.kind is CallKind.WAIT and got.status is CallStatus.RUNNING
    assert got.metadata == c.metadata and got.attempt_count == 1
    assert [(x.attempt_id, x.status) for x in got.attempts] == [(a.attempt_id, CallStatus.RUNNING)]
    assert [p.call_id for p in store.list_pending_waits(exec_id)] == [c.call_id]


def test_begin_wait_is_a_compare_and_set_on_the_runner(store: MetadataStore) -> None:
    other_runner = started(store, runner_id="runner-2")
    not_started = add_execution(store).exec_id
    waiting = started(store)
    store.set_execution_status(waiting, ExecutionStatus.WAITING)
    cancelled = started(store)
    store.set_execution_status(cancelled, ExecutionStatus.CANCELLED)
    for exec_id in (other_runner, not_started, waiting, cancelled):
        before = store.get_execution(exec_id)
        c = wait_call(exec_id)
        assert not store.begin_wait(c, attempt(c.call_id), runner_id=RUNNER)
        assert store.get_execution(exec_id) == before
        assert store.list_calls(exec_id) == [] and store.list_pending_waits(exec_id) == []


def test_begin_wait_errors_change_nothing(store: MetadataStore) -> None:
    with pytest.raises(KitaruStateError, match="missing-exec"):
        store.begin_wait(wait_call("missing-exec"), None, runner_id=RUNNER)
    exec_id = started(store)
    before = store.get_execution(exec_id)
    checkpoint = call(exec_id, "step:0", 1)
    with pytest.raises(KitaruUsageError, match="step:0"):
        store.begin_wait(checkpoint, attempt(checkpoint.call_id), runner_id=RUNNER)
    assert store.get_execution(exec_id) == before and store.list_calls(exec_id) == []


def test_begin_wait_again_keeps_the_call_and_replaces_its_request(store: MetadataStore) -> None:
    exec_id = started(store)
    first = wait_call(exec_id, timeout=5.0)
    first_attempt = attempt(first.call_id)
    assert store.begin_wait(first, first_attempt, runner_id=RUNNER)
    store.merge_call_metadata(first.call_id, {"note": "kept"})
    # The runner left while waiting; another one took the execution over and reaches the wait again.
    assert store.set_execution_status(exec_id, ExecutionStatus.WAITING, runner_id=RUNNER, release=True)
    assert store.claim_execution(exec_id, runner_id="runner-2", expected={ExecutionStatus.WAITING})
    again = wait_call(exec_id, timeout=9.0)  # a new call id: the stored one wins
    assert store.begin_wait(again, None, runner_id="runner-2")
    got = only_call(store, exec_id)
    assert got.call_id == first.call_id and got.status is CallStatus.RUNNING
    assert got.metadata == {"wait": again.metadata["wait"], "note": "kept"}
    assert got.attempt_count == 1 and [x.attempt_id for x in got.attempts] == [first_attempt.attempt_id]
    assert store.get_execution(exec_id).status is ExecutionStatus.WAITING
    assert [p.call_id for p in store.list_pending_waits(exec_id)] == [first.call_id]


def test_readers_never_see_a_running_execution_with_a_pending_wait(store: MetadataStore) -> None:
    exec_ids = [started(store) for _ in range(20)]
    seen: list[str] = []
    reads = [0]
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            for exec_id in exec_ids:
                pending = store.list_pending_waits(exec_id)  # first the wait, then the status
                if pending and store.get_execution(exec_id).status is ExecutionStatus.RUNNING:
                    seen.append(exec_id)
                reads[0] += 1

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        for exec_id in exec_ids:
            c = wait_call(exec_id)
            assert store.begin_wait(c, attempt(c.call_id), runner_id=RUNNER)
    finally:
        done.set()
        reader.join(timeout=60)
    assert not reader.is_alive() and reads[0] > 0
    assert seen == []


def test_execution_summaries_count_calls_artifacts_and_pending_waits(store: MetadataStore) -> None:
    empty = add_execution(store, flow_name="a", created_at=at(1)).exec_id
    busy = add_execution(store, flow_name="a", created_at=at(2)).exec_id
    store.start_execution(busy, runner_id=RUNNER)
    run_call(store, busy, "one:0", 1)
    run_call(store, busy, "two:0", 2)
    w = wait_call(busy, "approve", 3)
    assert store.begin_wait(w, attempt(w.call_id), runner_id=RUNNER)
    other = add_execution(store, flow_name="b", created_at=at(3)).exec_id
    run_call(store, other, "one:0", 1)

    summaries = store.list_execution_summaries()
    assert [s.record for s in summaries] == store.list_executions()
    counts = {
        s.record.exec_id: (s.checkpoint_count, s.artifact_count, s.pending_wait_count) for s in summaries
    }
    assert counts == {empty: (0, 0, 0), busy: (3, 2, 1), other: (1, 1, 0)}
    filtered = store.list_execution_summaries(flow="a", status="waiting", limit=5, since=at(0))
    assert [(s.record.exec_id, s.checkpoint_count) for s in filtered] == [(busy, 3)]
    assert store.list_execution_summaries(limit=0) == []
    with pytest.raises(KitaruUsageError):
        store.list_execution_summaries(status="bogus")


#: The cases of this module, as plain functions of one argument: the store under test.
WAIT_TESTS: list[Callable[[MetadataStore], None]] = [
    value for name, value in list(globals().items()) if name.startswith("test_") and callable(value)
]
