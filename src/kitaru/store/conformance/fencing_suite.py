"""Conformance tests of fencing tokens: the epoch every claim raises, and refused stale writes.

Part of ``ALL_TESTS`` of ``store_suite``; each test takes a fresh, empty ``store``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from kitaru._types import CallKind, ExecutionStatus, utcnow
from kitaru.errors import KitaruFencedError
from kitaru.store.base import MetadataStore
from kitaru.store.conformance.capabilities import Capability, requires
from kitaru.store.conformance.records import add_execution, artifact, attempt, call, run_call

__all__ = ["FENCING_TESTS"]

RUNNING, WAITING, COMPLETED = ExecutionStatus.RUNNING, ExecutionStatus.WAITING, ExecutionStatus.COMPLETED
STALE_RUNNER, NEW_RUNNER = "host:1:aaaaaaaaaaaa", "host:2:bbbbbbbbbbbb"


def _state(store: MetadataStore, exec_id: str) -> tuple[Any, ...]:
    """Everything a write could change in an execution: its row, calls, attempts, artifacts, waits."""
    return (
        store.get_execution(exec_id),
        store.list_calls(exec_id, artifacts=True),
        store.list_artifacts(exec_id),
        store.list_pending_waits(exec_id),
    )


def _taken_over(store: MetadataStore) -> tuple[str, Any, Any]:
    """An execution started by the stale runner (epoch 1), which began one call, then claimed by
    another runner (epoch 2). Returns its id, the begun call and its attempt."""
    exec_id = add_execution(store).exec_id
    assert store.start_execution(exec_id, runner_id=STALE_RUNNER).epoch == 1
    begun = call(exec_id, "begun", 1)
    begun_attempt = attempt(begun.call_id)
    store.begin_attempt(begun, begun_attempt, epoch=1)
    claimed = store.claim_execution(
        exec_id, runner_id=NEW_RUNNER, expected=[RUNNING], expected_runner=STALE_RUNNER
    )
    assert claimed is not None and claimed.epoch == 2
    return exec_id, begun, begun_attempt


def test_every_start_and_claim_raises_the_epoch(store: MetadataStore) -> None:
    exec_id = add_execution(store).exec_id
    assert store.get_execution(exec_id).epoch == 0
    assert store.start_execution(exec_id, runner_id="r1").epoch == 1
    assert store.start_execution(exec_id, runner_id="r1").epoch == 2  # a flow retry starts again
    claimed = store.claim_execution(exec_id, runner_id="r2", expected=[RUNNING], expected_runner="r1")
    assert claimed is not None and claimed.epoch == 3
    # A refused claim changes nothing.
    assert store.claim_execution(exec_id, runner_id="r3", expected=[RUNNING], expected_runner="r1") is None
    assert store.get_execution(exec_id).epoch == 3
    # Heartbeats, status changes by the holder and the end of a run keep it.
    store.heartbeat(exec_id, runner_id="r2", epoch=3)
    store.merge_execution_metadata(exec_id, {"k": 1}, epoch=3)
    assert store.set_execution_status(exec_id, WAITING, expected=[RUNNING], runner_id="r2", epoch=3)
    assert store.get_execution(exec_id).epoch == 3


def test_a_release_raises_the_epoch(store: MetadataStore) -> None:
    exec_id = add_execution(store).exec_id
    store.start_execution(exec_id, runner_id="r1")
    # The runner leaves (a wait timed out): whatever still writes for that hold is fenced off.
    assert store.set_execution_status(exec_id, RUNNING, runner_id="r1", release=True, epoch=1)
    assert store.get_execution(exec_id).epoch == 2
    with pytest.raises(KitaruFencedError):
        store.merge_execution_metadata(exec_id, {"late": True}, epoch=1)
    # A client ending an orphan's hold (no epoch) fences off the orphan's runner as well.
    other = add_execution(store).exec_id
    store.start_execution(other, runner_id="gone")
    assert store.set_execution_status(
        other, ExecutionStatus.CANCELLED, expected=[RUNNING], runner_id="gone", release=True
    )
    assert store.get_execution(other).epoch == 2
    with pytest.raises(KitaruFencedError):
        store.finish_execution(other, COMPLETED, epoch=1)
    assert store.get_execution(other).status is ExecutionStatus.CANCELLED


def _stale_writes(
    store: MetadataStore, exec_id: str, begun: Any, begun_attempt: Any
) -> dict[str, Callable[[], Any]]:
    """Every write a runner makes, each with the stale epoch 1."""
    other = add_execution(store).exec_id
    run_call(store, other, "cached", cache_key="key-1")
    source = store.find_cached_call("key-1", exclude_exec_id=exec_id)
    assert source is not None
    fresh = call(exec_id, "fresh", 2)
    fresh_attempt = attempt(fresh.call_id)
    wait = call(exec_id, "approve", 3, kind=CallKind.WAIT, metadata={"wait": {"question": "ok?"}})
    cached = call(exec_id, "cached", 4, cache_key="key-1")
    out = artifact(exec_id, call_id=begun.call_id)
    return {
        "begin_attempt": lambda: store.begin_attempt(fresh, fresh_attempt, epoch=1),
        "record_completed_attempt": lambda: store.record_completed_attempt(
            fresh, fresh_attempt, output=artifact(exec_id, call_id=fresh.call_id), ended_at=utcnow(), epoch=1
        ),
        "complete_call": lambda: store.complete_call(
            begun.call_id, begun_attempt.attempt_id, output=out, ended_at=utcnow(), epoch=1
        ),
        "fail_attempt": lambda: store.fail_attempt(
            begun.call_id,
            begun_attempt.attempt_id,
            failure={"message": "late", "exception_type": "X", "traceback": None, "origin": "user_code"},
            ended_at=utcnow(),
            final=True,
            epoch=1,
        ),
        "record_cached_call": lambda: store.record_cached_call(cached, source=source, epoch=1),
        "begin_wait": lambda: store.begin_wait(wait, attempt(wait.call_id), runner_id=STALE_RUNNER, epoch=1),
        "finish_execution": lambda: store.finish_execution(
            exec_id, COMPLETED, result=artifact(exec_id, name="result", kind="result"), epoch=1
        ),
        "merge_execution_metadata": lambda: store.merge_execution_metadata(exec_id, {"late": True}, epoch=1),
        "merge_call_metadata": lambda: store.merge_call_metadata(begun.call_id, {"late": True}, epoch=1),
        "add_artifact": lambda: store.add_artifact(
            artifact(exec_id, name="saved", call_id=begun.call_id), epoch=1
        ),
        "heartbeat": lambda: store.heartbeat(exec_id, runner_id=STALE_RUNNER, epoch=1),
        "set_execution_status": lambda: store.set_execution_status(
            exec_id, WAITING, expected=[RUNNING], runner_id=STALE_RUNNER, epoch=1
        ),
        "release": lambda: store.set_execution_status(
            exec_id, RUNNING, runner_id=STALE_RUNNER, release=True, epoch=1
        ),
    }


def test_a_write_with_a_stale_epoch_is_refused_and_changes_nothing(store: MetadataStore) -> None:
    exec_id, begun, begun_attempt = _taken_over(store)
    writes = _stale_writes(store, exec_id, begun, begun_attempt)
    before = _state(store, exec_id)
    for name, write in writes.items():
        with pytest.raises(KitaruFencedError) as refused:
            write()
        assert (refused.value.exec_id, refused.value.epoch, refused.value.current) == (exec_id, 1, 2), name
        assert "epoch 2" in str(refused.value) and "epoch 1" in str(refused.value), name
        assert _state(store, exec_id) == before, f"{name} wrote despite its stale epoch"


def test_the_current_epoch_writes_and_no_epoch_is_not_checked(store: MetadataStore) -> None:
    exec_id, begun, begun_attempt = _taken_over(store)
    # The runner that claimed it writes with its epoch, and so on from the call it found.
    store.merge_call_metadata(begun.call_id, {"by": "new"}, epoch=2)
    store.complete_call(
        begun.call_id,
        begun_attempt.attempt_id,
        output=artifact(exec_id, call_id=begun.call_id),
        ended_at=utcnow(),
        epoch=2,
    )
    store.add_artifact(artifact(exec_id, name="saved", call_id=begun.call_id), epoch=2)
    assert store.heartbeat(exec_id, runner_id=NEW_RUNNER, epoch=2) is not None
    # Writes without an epoch come from no runner (a client, an operator): never fenced.
    store.merge_execution_metadata(exec_id, {"note": "operator"})
    store.finish_execution(exec_id, COMPLETED, epoch=2)
    done = store.get_execution(exec_id)
    assert done.status is COMPLETED and done.metadata == {"note": "operator"} and done.epoch == 2
    assert [c.status.value for c in store.list_calls(exec_id)] == ["completed"]


def test_a_missing_execution_is_a_state_error_not_a_fence(store: MetadataStore) -> None:
    from kitaru.errors import KitaruStateError

    with pytest.raises(KitaruStateError) as missing:
        store.merge_execution_metadata("no-such-execution", {"a": 1}, epoch=1)
    assert not isinstance(missing.value, KitaruFencedError)


@requires(Capability.THREADS)
def test_a_claim_orders_every_write_of_the_old_epoch_before_it(store: MetadataStore) -> None:
    """Runner writes racing a claim: each is either refused, or done before the claim, so the
    journal the new runner reads right after its claim already holds it."""
    exec_id = add_execution(store).exec_id
    store.start_execution(exec_id, runner_id=STALE_RUNNER)
    accepted: list[str] = []
    refused: list[str] = []
    some_written = threading.Event()
    lock = threading.Lock()
    seen_by_claimer: list[str] = []

    def write(worker: int) -> None:
        # Until the claim refuses it (however the threads are scheduled), or a minute at most.
        deadline = time.monotonic() + 60
        k = 0
        while time.monotonic() < deadline:
            k += 1
            c = call(exec_id, f"w{worker}_{k}", 1 + worker * 1_000_000 + k)
            try:
                store.record_completed_attempt(
                    c,
                    attempt(c.call_id),
                    output=artifact(exec_id, call_id=c.call_id),
                    ended_at=utcnow(),
                    epoch=1,
                )
            except KitaruFencedError:
                with lock:
                    refused.append(c.invocation_id)
                return
            with lock:
                accepted.append(c.invocation_id)
                if len(accepted) >= 8:
                    some_written.set()

    def claim() -> None:
        assert some_written.wait(60)
        claimed = store.claim_execution(
            exec_id, runner_id=NEW_RUNNER, expected=[RUNNING], expected_runner=STALE_RUNNER
        )
        assert claimed is not None and claimed.epoch == 2
        seen_by_claimer.extend(c.invocation_id for c in store.load_journal(exec_id))

    threads = [threading.Thread(target=write, args=(i,)) for i in range(4)] + [threading.Thread(target=claim)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(refused) == 4  # every writer was stopped by the claim
    assert set(accepted) == set(seen_by_claimer)  # nothing accepted after the claim, nothing lost
    assert sorted(c.invocation_id for c in store.load_journal(exec_id)) == sorted(seen_by_claimer)


#: The cases of this module, as plain functions of one argument: the store under test.
FENCING_TESTS: list[Callable[[MetadataStore], None]] = [
    value for name, value in list(globals().items()) if name.startswith("test_") and callable(value)
]
