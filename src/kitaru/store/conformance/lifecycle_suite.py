"""Conformance tests of the runner lifecycle, waits, replay seeds and logs.

Part of ``ALL_TESTS`` of ``store_suite``; each test takes a fresh, empty ``store``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import threading
from collections.abc import Callable
from typing import Any

import pytest

from kitaru._types import CallKind, CallStatus, ExecutionStatus, new_id, utcnow
from kitaru.errors import KitaruBackendError, KitaruStateError, KitaruUsageError
from kitaru.records import CallRecord, LogRecord
from kitaru.store.base import MetadataStore
from kitaru.store.conformance.capabilities import Capability, requires
from kitaru.store.conformance.records import (
    add_execution,
    artifact,
    at,
    attempt,
    call,
    only_call,
    run_call,
)

__all__ = ["LIFECYCLE_TESTS"]

PENDING, RUNNING, WAITING = ExecutionStatus.PENDING, ExecutionStatus.RUNNING, ExecutionStatus.WAITING
FAILED, COMPLETED = ExecutionStatus.FAILED, ExecutionStatus.COMPLETED


def begin_wait(
    store: MetadataStore, exec_id: str, invocation_id: str = "approve:0", seq: int = 1
) -> CallRecord:
    """Record a pending wait (a running ``wait`` call with one running attempt)."""
    c = call(exec_id, invocation_id, seq, kind=CallKind.WAIT, metadata={"wait": {"question": "ok?"}})
    store.begin_attempt(c, attempt(c.call_id))
    return c


def race(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(i)`` in ``count`` threads released at once; return the results by ``i``."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = work(index)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    return results


def log(exec_id: str, message: str, **fields: Any) -> LogRecord:
    return LogRecord(exec_id=exec_id, timestamp=fields.pop("timestamp", utcnow()), message=message, **fields)


def unnumbered(records: list[LogRecord]) -> list[LogRecord]:
    return [dataclasses.replace(r, seq=0) for r in records]


# -- claims -----------------------------------------------------------------
def test_claim_execution_takes_a_free_execution(store: MetadataStore) -> None:
    record = add_execution(store, created_at=at(0), updated_at=at(0))
    claimed = store.claim_execution(record.exec_id, runner_id="runner-a", expected=[PENDING])
    assert claimed is not None
    assert claimed.status is RUNNING and claimed.runner_id == "runner-a" and claimed.run_count == 1
    assert claimed.started_at is not None and claimed.heartbeat_at is not None
    assert claimed.updated_at > at(0) and claimed.ended_at is None and not claimed.cancel_requested
    assert store.get_execution(record.exec_id) == claimed
    assert store.claim_execution(record.exec_id, runner_id="runner-b", expected=[PENDING]) is None
    assert store.claim_execution(record.exec_id, runner_id="runner-b", expected=[RUNNING]) is None
    assert store.get_execution(record.exec_id) == claimed


def test_claim_execution_failures_change_nothing(store: MetadataStore) -> None:
    record = add_execution(
        store, status=FAILED, ended_at=at(5), failure={"message": "x"}, runner_id="old", run_count=2
    )
    before = store.get_execution(record.exec_id)
    exec_id = record.exec_id
    assert (
        store.claim_execution(exec_id, runner_id="new", expected=[PENDING, WAITING], expected_runner="old")
        is None
    )
    assert store.claim_execution(exec_id, runner_id="new", expected=[FAILED]) is None
    assert store.claim_execution(exec_id, runner_id="new", expected=[FAILED], expected_runner="other") is None
    assert store.claim_execution(exec_id, runner_id="new", expected=[], expected_runner="old") is None
    assert store.get_execution(exec_id) == before
    claimed = store.claim_execution(
        exec_id, runner_id="new", expected={FAILED, WAITING}, expected_runner="old"
    )
    assert claimed is not None and claimed.status is RUNNING and claimed.runner_id == "new"
    assert claimed.run_count == 3 and claimed.ended_at is None and claimed.failure is None


def test_claim_after_release(store: MetadataStore) -> None:
    exec_id = add_execution(store).exec_id
    first = store.claim_execution(exec_id, runner_id="a", expected=[PENDING])
    assert first is not None
    assert store.set_execution_status(exec_id, WAITING, expected=[RUNNING], runner_id="a", release=True)
    released = store.get_execution(exec_id)
    assert released.status is WAITING and released.runner_id is None and released.ended_at is None
    assert store.heartbeat(exec_id, runner_id="a") is None
    assert store.claim_execution(exec_id, runner_id="b", expected=[WAITING], expected_runner="a") is None
    second = store.claim_execution(exec_id, runner_id="b", expected=[WAITING])
    assert second is not None and second.runner_id == "b" and second.status is RUNNING
    assert second.run_count == 2 and second.started_at == first.started_at


def test_claim_and_start_keep_the_cancel_request(store: MetadataStore) -> None:
    exec_id = add_execution(store).exec_id
    assert store.request_cancel(exec_id).cancel_requested
    claimed = store.claim_execution(exec_id, runner_id="a", expected=[PENDING])
    assert claimed is not None and claimed.cancel_requested
    assert store.start_execution(exec_id, runner_id="b").cancel_requested


@requires(Capability.THREADS)
def test_concurrent_claims_have_one_winner(store: MetadataStore) -> None:
    exec_id = add_execution(store).exec_id
    results = race(8, lambda i: store.claim_execution(exec_id, runner_id=f"r{i}", expected=[PENDING]))
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    got = store.get_execution(exec_id)
    assert got.runner_id == winners[0].runner_id and got.run_count == 1


# -- status changes -----------------------------------------------------------
def test_set_execution_status(store: MetadataStore) -> None:
    exec_id = add_execution(store, created_at=at(0), updated_at=at(0)).exec_id
    assert store.set_execution_status(exec_id, WAITING)
    waiting = store.get_execution(exec_id)
    assert waiting.status is WAITING and waiting.ended_at is None and waiting.updated_at > at(0)
    assert store.set_execution_status(exec_id, COMPLETED, expected=[WAITING, RUNNING])
    done = store.get_execution(exec_id)
    assert done.status is COMPLETED and done.ended_at is not None and done.updated_at >= waiting.updated_at
    assert store.set_execution_status(exec_id, ExecutionStatus.CANCELLED)
    cancelled = store.get_execution(exec_id)
    assert cancelled.ended_at is not None and cancelled.ended_at >= done.ended_at


def test_set_execution_status_compare_and_set(store: MetadataStore) -> None:
    exec_id = add_execution(store).exec_id
    claimed = store.claim_execution(exec_id, runner_id="a", expected=[PENDING])
    assert claimed is not None
    assert not store.set_execution_status(exec_id, FAILED, expected=[WAITING, PENDING])
    assert not store.set_execution_status(exec_id, FAILED, expected=[RUNNING], runner_id="b")
    assert not store.set_execution_status(exec_id, FAILED, runner_id="b", release=True)
    assert not store.set_execution_status(exec_id, FAILED, expected=[])
    assert store.get_execution(exec_id) == claimed
    assert store.set_execution_status(exec_id, WAITING, expected=[RUNNING], runner_id="a")
    assert store.get_execution(exec_id).runner_id == "a"
    assert store.set_execution_status(exec_id, FAILED, release=True)
    failed = store.get_execution(exec_id)
    assert failed.status is FAILED and failed.runner_id is None and failed.ended_at is not None


def test_lifecycle_of_missing_executions(store: MetadataStore) -> None:
    with pytest.raises(KitaruStateError, match="missing-exec"):
        store.claim_execution("missing-exec", runner_id="a", expected=[PENDING])
    with pytest.raises(KitaruStateError, match="missing-exec"):
        store.claim_execution("missing-exec", runner_id="a", expected=[])
    with pytest.raises(KitaruStateError, match="missing-exec"):
        store.set_execution_status("missing-exec", FAILED)
    with pytest.raises(KitaruStateError, match="missing-exec"):
        store.set_execution_status("missing-exec", FAILED, expected=[RUNNING], runner_id="a")
    with pytest.raises(KitaruStateError, match="missing-exec"):
        store.heartbeat("missing-exec", runner_id="a")
    with pytest.raises(KitaruStateError, match="missing-exec"):
        store.request_cancel("missing-exec")
    with pytest.raises(KitaruUsageError, match="bogus"):
        store.set_execution_status(add_execution(store).exec_id, "bogus")  # type: ignore[arg-type]


# -- heartbeats and cancellation ---------------------------------------------
def test_heartbeat(store: MetadataStore) -> None:
    exec_id = add_execution(store).exec_id
    claimed = store.claim_execution(exec_id, runner_id="a", expected=[PENDING])
    assert claimed is not None and claimed.heartbeat_at is not None
    beat = store.heartbeat(exec_id, runner_id="a")
    assert beat is not None and beat.heartbeat_at is not None and beat.heartbeat_at >= claimed.heartbeat_at
    assert not beat.cancel_requested and beat.updated_at == claimed.updated_at
    assert dataclasses.replace(beat, heartbeat_at=None) == dataclasses.replace(claimed, heartbeat_at=None)
    assert store.heartbeat(exec_id, runner_id="b") is None
    assert store.get_execution(exec_id) == beat
    store.request_cancel(exec_id)
    after_cancel = store.heartbeat(exec_id, runner_id="a")
    assert after_cancel is not None and after_cancel.cancel_requested
    assert store.heartbeat(exec_id, runner_id="b") is None
    assert store.heartbeat(add_execution(store).exec_id, runner_id="a") is None


def test_request_cancel(store: MetadataStore) -> None:
    record = add_execution(store, created_at=at(0), updated_at=at(0))
    assert not store.get_execution(record.exec_id).cancel_requested
    cancelled = store.request_cancel(record.exec_id)
    assert cancelled.cancel_requested and cancelled.updated_at > at(0)
    assert cancelled.status is PENDING
    assert store.get_execution(record.exec_id) == cancelled
    assert store.request_cancel(record.exec_id).cancel_requested


# -- waits ------------------------------------------------------------------
def test_resolve_wait(store: MetadataStore) -> None:
    exec_id = add_execution(store).exec_id
    wait = begin_wait(store, exec_id)
    assert [c.call_id for c in store.list_pending_waits(exec_id)] == [wait.call_id]
    answer = artifact(exec_id, name="input", kind="input", call_id=wait.call_id, data=b'"yes"')
    ended = at(50)
    patch = {"wait": {"answered_by": "cli"}}
    assert store.resolve_wait(wait.call_id, output=answer, metadata=patch, ended_at=ended)
    got = only_call(store, exec_id)
    assert got.status is CallStatus.COMPLETED and got.ended_at == ended and got.failure is None
    assert got.output_artifact_id == answer.artifact_id
    assert got.metadata == {"wait": {"question": "ok?", "answered_by": "cli"}}
    assert [(a.status, a.ended_at) for a in got.attempts] == [(CallStatus.COMPLETED, ended)]
    assert store.load_journal(exec_id)[0].output == answer
    assert store.list_pending_waits(exec_id) == []
    late = artifact(exec_id, name="input", kind="input", call_id=wait.call_id, data=b'"no"')
    assert not store.resolve_wait(wait.call_id, output=late, metadata={"late": True}, ended_at=at(60))
    assert only_call(store, exec_id) == got
    with pytest.raises(KitaruStateError):
        store.get_artifact(late.artifact_id)


def test_resolve_wait_without_output(store: MetadataStore) -> None:
    exec_id = add_execution(store).exec_id
    wait = begin_wait(store, exec_id)
    assert store.resolve_wait(wait.call_id, output=None, metadata={}, ended_at=at(1))
    got = only_call(store, exec_id)
    assert got.status is CallStatus.COMPLETED and got.output_artifact_id is None
    assert got.metadata == {"wait": {"question": "ok?"}} and got.attempts[0].status is CallStatus.COMPLETED


def test_resolve_wait_on_calls_that_are_not_pending(store: MetadataStore) -> None:
    exec_id = add_execution(store).exec_id
    done, _ = run_call(store, exec_id, "done:0", 1)
    running = call(exec_id, "busy:0", 2)
    store.begin_attempt(running, attempt(running.call_id))
    aborted = begin_wait(store, exec_id, "aborted:0", 3)
    a = only_attempt_id(store, exec_id, aborted.call_id)
    store.fail_attempt(aborted.call_id, a, failure={"message": "aborted"}, ended_at=at(1), final=True)
    before = store.list_calls(exec_id)
    for c in (done, running, aborted):
        output = artifact(exec_id, call_id=c.call_id)
        assert not store.resolve_wait(c.call_id, output=output, metadata={"x": 1}, ended_at=at(2))
        with pytest.raises(KitaruStateError):
            store.get_artifact(output.artifact_id)
    assert store.list_calls(exec_id) == before
    with pytest.raises(KitaruStateError, match="missing-call"):
        store.resolve_wait("missing-call", output=None, metadata={}, ended_at=at(3))


def only_attempt_id(store: MetadataStore, exec_id: str, call_id: str) -> str:
    (found,) = [c for c in store.list_calls(exec_id) if c.call_id == call_id]
    return found.attempts[-1].attempt_id


@requires(Capability.THREADS)
def test_concurrent_resolvers_have_one_winner(store: MetadataStore) -> None:
    exec_id = add_execution(store).exec_id
    wait = begin_wait(store, exec_id)
    outputs = [artifact(exec_id, call_id=wait.call_id, data=f"{i}".encode()) for i in range(8)]

    def resolve(i: int) -> bool:
        return store.resolve_wait(wait.call_id, output=outputs[i], metadata={"by": i}, ended_at=utcnow())

    results = race(8, resolve)
    assert results.count(True) == 1
    winner = results.index(True)
    got = only_call(store, exec_id)
    assert got.output_artifact_id == outputs[winner].artifact_id and got.metadata["by"] == winner
    assert [a.artifact_id for a in store.list_artifacts(exec_id)] == [outputs[winner].artifact_id]


def test_list_pending_waits(store: MetadataStore) -> None:
    exec_id = add_execution(store).exec_id
    other = add_execution(store).exec_id
    late = begin_wait(store, exec_id, "late:0", 5)
    early = begin_wait(store, exec_id, "early:0", 2)
    answered = begin_wait(store, exec_id, "answered:0", 3)
    store.resolve_wait(answered.call_id, output=None, metadata={}, ended_at=utcnow())
    busy = call(exec_id, "busy:0", 4)
    store.begin_attempt(busy, attempt(busy.call_id))
    run_call(store, exec_id, "done:0", 1)
    begin_wait(store, other, "late:0", 1)
    pending = store.list_pending_waits(exec_id)
    assert [c.call_id for c in pending] == [early.call_id, late.call_id]
    assert pending[0].kind is CallKind.WAIT and pending[0].metadata == {"wait": {"question": "ok?"}}
    assert store.list_pending_waits(add_execution(store).exec_id) == []
    with pytest.raises(KitaruStateError, match="missing-exec"):
        store.list_pending_waits("missing-exec")


# -- replay seeds -------------------------------------------------------------
def seed_copies(calls: list[CallRecord]) -> list[CallRecord]:
    return [
        dataclasses.replace(c, call_id=new_id(), metadata={**c.metadata, "replayed": True}, output=None)
        for c in calls
    ]


def test_seed_calls(store: MetadataStore) -> None:
    source = add_execution(store).exec_id
    run_call(store, source, "a:0", 1)
    run_call(store, source, "b:0", 2, metadata={"m": 1})
    cache_source = add_execution(store).exec_id
    run_call(store, cache_source, "c:0", 1, cache_key="ck")
    hit = store.find_cached_call("ck", exclude_exec_id=source)
    assert hit is not None
    store.record_cached_call(call(source, "c:0", 3, cache_key="ck"), source=hit)
    journal = store.load_journal(source)
    target = add_execution(store).exec_id
    copies = seed_copies(journal)
    store.seed_calls(target, copies)
    seeded = store.load_journal(target)
    assert [c.call_id for c in seeded] == [c.call_id for c in copies]
    assert all(c.exec_id == target for c in seeded)
    assert [c.output for c in seeded] == [c.output for c in journal]
    assert all(c.output is not None and c.output.data is not None for c in seeded)
    assert [c.status for c in seeded] == [CallStatus.COMPLETED, CallStatus.COMPLETED, CallStatus.CACHED]
    expected = [dataclasses.replace(c, exec_id=target, attempt_count=0) for c in copies]
    assert [dataclasses.replace(c, output=None) for c in seeded] == expected
    assert all(c.attempts == () for c in store.list_calls(target))
    assert store.load_journal(source) == journal


def test_seed_calls_is_one_transaction(store: MetadataStore) -> None:
    source = add_execution(store).exec_id
    run_call(store, source, "a:0", 1)
    run_call(store, source, "b:0", 2)
    target = add_execution(store).exec_id
    first, second = seed_copies(store.load_journal(source))
    clash = dataclasses.replace(second, invocation_id=first.invocation_id)
    with pytest.raises(KitaruBackendError):
        store.seed_calls(target, [first, clash])
    assert store.load_journal(target) == []
    store.seed_calls(target, [])
    with pytest.raises(KitaruStateError, match="missing-exec"):
        store.seed_calls("missing-exec", [first])
    with pytest.raises(KitaruStateError, match="missing-exec"):
        store.seed_calls("missing-exec", [])
    assert store.load_journal(target) == []


# -- logs -------------------------------------------------------------------
def test_append_and_list_logs(store: MetadataStore) -> None:
    exec_id = add_execution(store).exec_id
    other = add_execution(store).exec_id
    plus_two = dt.timezone(dt.timedelta(hours=2))
    records = [
        log(exec_id, "starting", timestamp=dt.datetime(2025, 5, 1, 14, 0, 0, 7, tzinfo=plus_two)),
        log(exec_id, "fetching\nwith two lines ✓", call_id="c1", invocation_id="fetch:0", source="stderr"),
        log(exec_id, "", level="WARNING", source="logging", call_id="c1", invocation_id="fetch:0"),
    ]
    store.append_logs(records[:2])
    store.append_logs([log(other, "elsewhere")])
    store.append_logs(records[2:])
    got = store.list_logs(exec_id)
    assert unnumbered(got) == records
    assert got[0].timestamp.utcoffset() == dt.timedelta(0) and got[0].timestamp.hour == 12
    seqs = [r.seq for r in got]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3 and seqs[0] > 0
    elsewhere = store.list_logs(other)
    assert [r.message for r in elsewhere] == ["elsewhere"] and elsewhere[0].seq not in seqs
    store.append_logs([])
    assert store.list_logs(add_execution(store).exec_id) == []


def test_list_logs_filters(store: MetadataStore) -> None:
    exec_id = add_execution(store).exec_id
    store.append_logs([log(exec_id, f"m{i}", call_id="c1" if i % 2 else None) for i in range(6)])
    everything = store.list_logs(exec_id)
    assert [r.message for r in everything] == [f"m{i}" for i in range(6)]
    assert [r.message for r in store.list_logs(exec_id, call_id="c1")] == ["m1", "m3", "m5"]
    assert [r.message for r in store.list_logs(exec_id, after_seq=everything[2].seq)] == ["m3", "m4", "m5"]
    assert [r.message for r in store.list_logs(exec_id, limit=2)] == ["m0", "m1"]
    assert [
        r.message for r in store.list_logs(exec_id, call_id="c1", after_seq=everything[1].seq, limit=1)
    ] == ["m3"]
    assert store.list_logs(exec_id, after_seq=everything[-1].seq) == []
    assert store.list_logs(exec_id, limit=0) == []
    assert store.list_logs(exec_id, call_id="nope") == []
    with pytest.raises(KitaruUsageError):
        store.list_logs(exec_id, limit=-1)
    # Following: ask for what came after the last line seen.
    store.append_logs([log(exec_id, "m6"), log(exec_id, "m7")])
    assert [r.message for r in store.list_logs(exec_id, after_seq=everything[-1].seq)] == ["m6", "m7"]


def test_append_logs_keeps_the_order_of_a_batch(store: MetadataStore) -> None:
    exec_id = add_execution(store).exec_id
    same_time = utcnow()
    first = [log(exec_id, f"line {i}", timestamp=same_time) for i in range(200)]
    second = [log(exec_id, f"line {i}", timestamp=same_time) for i in range(200, 250)]
    store.append_logs(first)
    store.append_logs(second)
    got = store.list_logs(exec_id)
    assert unnumbered(got) == first + second
    assert all(a.seq < b.seq for a, b in itertools.pairwise(got))


def test_logs_of_missing_executions(store: MetadataStore) -> None:
    exec_id = add_execution(store).exec_id
    with pytest.raises(KitaruStateError, match="missing-exec"):
        store.list_logs("missing-exec")
    with pytest.raises(KitaruStateError, match="missing-exec"):
        store.append_logs([log(exec_id, "kept out"), log("missing-exec", "nowhere")])
    assert store.list_logs(exec_id) == []


#: The cases of this module, as plain functions of one argument: the store under test.
LIFECYCLE_TESTS: list[Callable[[MetadataStore], None]] = [
    value for name, value in list(globals().items()) if name.startswith("test_") and callable(value)
]
