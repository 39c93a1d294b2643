"""Entering a wait is one step for readers: never a ``running`` execution with a pending wait."""

from __future__ import annotations

import threading

import pytest
from tests._helpers import wait_until

import kitaru
from kitaru import KitaruClient, flow

pytestmark = pytest.mark.both_modes

EXECUTIONS = 12


@flow
def gated(i: int) -> int:
    return kitaru.wait(schema=int, question="How many?", timeout=60) + i


def test_a_reader_never_sees_a_running_execution_with_a_pending_wait() -> None:
    client = KitaruClient()
    store = client._store
    exec_ids: list[str] = []
    seen: list[str] = []
    reads = {"store": 0, "client": 0}
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            for exec_id in list(exec_ids):
                # Pending waits first, then the status: once a wait is visible, the status
                # read after it must already say waiting.
                pending = store.list_pending_waits(exec_id)
                status = store.get_execution(exec_id).status
                reads["store"] += 1
                if pending and status is kitaru.ExecutionStatus.RUNNING:
                    seen.append(f"store: {exec_id} running with pending wait {pending[0].invocation_id!r}")
                execution = client.executions.get(exec_id)
                reads["client"] += 1
                if execution.pending_waits and execution.status is kitaru.ExecutionStatus.RUNNING:
                    seen.append(f"client: {exec_id} running with a pending wait")

    reader = threading.Thread(target=read, name="reader", daemon=True)
    reader.start()
    handles = []
    try:
        for i in range(EXECUTIONS):
            handle = gated.run(i)
            handles.append(handle)
            exec_ids.append(handle.exec_id)
            wait_until(lambda h=handle: client.executions.pending_waits(h.exec_id), timeout=60)
        # Let the reader do its share of reads (a slow store on a busy machine reads less often).
        wait_until(lambda: reads["store"] >= EXECUTIONS and reads["client"] >= EXECUTIONS, timeout=60)
    finally:
        stop.set()
        reader.join(timeout=60)
    assert not reader.is_alive()
    for i, handle in enumerate(handles):
        client.executions.input(handle.exec_id, value=100)
        assert handle.wait(timeout=60) == 100 + i
    assert reads["store"] >= EXECUTIONS and reads["client"] >= EXECUTIONS  # the reader did read
    assert seen == []
