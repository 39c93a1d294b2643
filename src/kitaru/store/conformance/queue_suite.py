"""Conformance tests of the work queue of workers: queueing, claims of queued work and of
orphans, filters, and waiting claims woken by queued work.

Part of ``ALL_TESTS`` of ``store_suite``; each test takes a fresh, empty ``store``.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable

import pytest

from kitaru._types import ExecutionStatus, utcnow
from kitaru.errors import KitaruFencedError, KitaruStateError
from kitaru.store.base import MetadataStore
from kitaru.store.conformance.records import add_execution

__all__ = ["QUEUE_TESTS"]

PENDING, RUNNING, WAITING, FAILED = (
    ExecutionStatus.PENDING,
    ExecutionStatus.RUNNING,
    ExecutionStatus.WAITING,
    ExecutionStatus.FAILED,
)
LEASE = 30.0


def _queued(store: MetadataStore, flow_name: str = "my_flow", queue: str | None = None) -> str:
    exec_id = add_execution(store, flow_name=flow_name).exec_id
    assert store.enqueue_execution(exec_id, expected=[PENDING], queue=queue) is not None
    return exec_id


def test_a_queued_execution_is_claimed_once_and_started(store: MetadataStore) -> None:
    exec_id = add_execution(store).exec_id
    assert store.claim_queued_execution(runner_id="w1", lease_seconds=LEASE) is None  # not queued
    queued = store.enqueue_execution(exec_id, expected=[PENDING], queue="gpu")
    assert queued is not None
    assert (queued.status, queued.runner_id, queued.queue) == (PENDING, None, "gpu")
    assert queued.queued_at is not None and queued.epoch == 1
    claimed = store.claim_queued_execution(runner_id="w1", lease_seconds=LEASE)
    assert claimed is not None and claimed.exec_id == exec_id
    assert (claimed.status, claimed.runner_id, claimed.run_count, claimed.epoch) == (RUNNING, "w1", 1, 2)
    assert claimed.queued_at is None and claimed.heartbeat_at is not None
    assert store.claim_queued_execution(runner_id="w2", lease_seconds=LEASE) is None
    assert store.get_execution(exec_id).runner_id == "w1"


def test_claims_take_the_oldest_queued_work_first(store: MetadataStore) -> None:
    ids = [_queued(store) for _ in range(3)]
    taken = [store.claim_queued_execution(runner_id=f"w{i}", lease_seconds=LEASE) for i in range(3)]
    assert [record.exec_id for record in taken if record is not None] == ids


def test_enqueue_is_a_compare_and_set_that_fences_off_the_holder(store: MetadataStore) -> None:
    exec_id = add_execution(store).exec_id
    store.start_execution(exec_id, runner_id="r1")
    # The wrong status or the wrong holder changes nothing.
    assert store.enqueue_execution(exec_id, expected=[FAILED], expected_runner="r1") is None
    assert store.enqueue_execution(exec_id, expected=[RUNNING], expected_runner="r2") is None
    assert store.enqueue_execution(exec_id, expected=[RUNNING]) is None
    assert store.get_execution(exec_id).queued_at is None
    requeued = store.enqueue_execution(exec_id, expected=[RUNNING], expected_runner="r1")
    assert requeued is not None and requeued.runner_id is None and requeued.epoch == 2
    with pytest.raises(KitaruFencedError):
        store.merge_execution_metadata(exec_id, {"late": True}, epoch=1)
    with pytest.raises(KitaruStateError):
        store.enqueue_execution("no-such-execution", expected=[PENDING])


def test_a_failed_execution_queued_for_a_retry_is_pending_again(store: MetadataStore) -> None:
    exec_id = add_execution(store).exec_id
    store.start_execution(exec_id, runner_id="r1")
    store.set_execution_status(exec_id, FAILED, runner_id="r1", release=True)
    assert store.get_execution(exec_id).ended_at is not None
    queued = store.enqueue_execution(exec_id, expected=[FAILED])
    assert queued is not None and queued.status is PENDING and queued.ended_at is None
    claimed = store.claim_queued_execution(runner_id="w1", lease_seconds=LEASE)
    assert claimed is not None and claimed.exec_id == exec_id and claimed.run_count == 2


def test_work_queued_for_later_is_not_claimed_before(store: MetadataStore) -> None:
    exec_id = add_execution(store).exec_id
    later = utcnow() + dt.timedelta(hours=1)
    assert store.enqueue_execution(exec_id, expected=[PENDING], not_before=later) is not None
    assert store.claim_queued_execution(runner_id="w1", lease_seconds=LEASE) is None
    store.enqueue_execution(exec_id, expected=[PENDING])
    claimed = store.claim_queued_execution(runner_id="w1", lease_seconds=LEASE)
    assert claimed is not None and claimed.exec_id == exec_id


def test_claims_filter_by_flow_and_queue(store: MetadataStore) -> None:
    a = _queued(store, "alpha", queue="cpu")
    b = _queued(store, "beta", queue="gpu")
    assert store.claim_queued_execution(runner_id="w", lease_seconds=LEASE, flows=["gamma"]) is None
    assert store.claim_queued_execution(runner_id="w", lease_seconds=LEASE, queue="tpu") is None
    got_b = store.claim_queued_execution(runner_id="w", lease_seconds=LEASE, queue="gpu")
    assert got_b is not None and got_b.exec_id == b
    got_a = store.claim_queued_execution(runner_id="w", lease_seconds=LEASE, flows=["beta", "alpha"])
    assert got_a is not None and got_a.exec_id == a


def test_an_orphan_is_claimed_once_its_lease_ran_out(store: MetadataStore) -> None:
    exec_id = add_execution(store).exec_id
    store.start_execution(exec_id, runner_id="dead")
    assert store.claim_queued_execution(runner_id="w1", lease_seconds=LEASE) is None  # still leased
    time.sleep(0.05)
    claimed = store.claim_queued_execution(runner_id="w1", lease_seconds=0.01)
    assert claimed is not None and claimed.exec_id == exec_id
    assert (claimed.runner_id, claimed.epoch, claimed.run_count) == ("w1", 2, 2)
    with pytest.raises(KitaruFencedError):  # the dead runner's late writes are refused
        store.merge_execution_metadata(exec_id, {"late": True}, epoch=1)
    # A runner that renews its lease is never taken over.
    time.sleep(0.05)
    store.heartbeat(exec_id, runner_id="w1", epoch=2)
    assert store.claim_queued_execution(runner_id="w2", lease_seconds=10) is None


def test_waiting_or_ended_executions_are_no_work(store: MetadataStore) -> None:
    waiting = add_execution(store).exec_id
    store.start_execution(waiting, runner_id="r")
    store.set_execution_status(waiting, WAITING, runner_id="r", release=True)
    done = add_execution(store).exec_id
    store.start_execution(done, runner_id="r")
    store.set_execution_status(done, FAILED, runner_id="r", release=True)
    time.sleep(0.05)
    assert store.claim_queued_execution(runner_id="w", lease_seconds=0.01) is None


def test_a_waiting_claim_is_woken_by_queued_work(store: MetadataStore) -> None:
    exec_id = add_execution(store).exec_id
    claimed: list[object] = []

    def claim() -> None:
        claimed.append(store.claim_queued_execution(runner_id="w", lease_seconds=LEASE, wait=20.0))

    thread = threading.Thread(target=claim)
    thread.start()
    time.sleep(0.2)
    store.enqueue_execution(exec_id, expected=[PENDING])
    thread.join(15)
    assert not thread.is_alive(), "the waiting claim was not woken by the queued execution"
    record = claimed[0]
    assert record is not None and getattr(record, "exec_id", None) == exec_id
    # With no work it returns None after its wait.
    assert store.claim_queued_execution(runner_id="w", lease_seconds=LEASE, wait=0.05) is None


#: The cases of this module, as plain functions of one argument: the store under test.
QUEUE_TESTS: list[Callable[[MetadataStore], None]] = [
    value for name, value in list(globals().items()) if name.startswith("test_") and callable(value)
]
