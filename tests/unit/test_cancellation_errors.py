"""Cancelled and aborted executions read as cancellations, never as crashes of internal classes."""

from __future__ import annotations

import pytest
from tests._helpers import wait_until

import kitaru
from kitaru import KitaruClient, flow
from kitaru.errors import KitaruExecutionError, KitaruWaitAbortedError

pytestmark = pytest.mark.both_modes

INTERNAL = ("ExecutionCancelled", "RunnerReleased", "CancelledError", "kitaru.runtime")


@flow
def gated() -> str:
    kitaru.wait(schema=bool, name="go", timeout=60)
    return "done"


def _clean(text: str) -> bool:
    return not any(word in text for word in INTERNAL)


def test_a_cancelled_execution_raises_a_cancellation() -> None:
    client = KitaruClient()
    handle = gated.run()
    wait_until(lambda: client.executions.pending_waits(handle.exec_id), timeout=60)
    client.executions.cancel(handle.exec_id)
    with pytest.raises(KitaruExecutionError) as info:
        handle.wait(timeout=60)
    error = info.value
    assert type(error) is KitaruExecutionError and error.status is kitaru.ExecutionStatus.CANCELLED
    assert error.failure_origin == "cancelled" and error.__cause__ is None
    assert str(error).startswith(
        f"Execution {handle.exec_id} of flow 'gated' was cancelled: A cancel was requested; "
        "it stopped at its next checkpoint or wait."
    )
    assert _clean(str(error))
    stored = client.executions.get(handle.exec_id)
    assert stored.status is kitaru.ExecutionStatus.CANCELLED and stored.failure is not None
    assert stored.failure.origin == "cancelled" and _clean(str(stored.failure))
    # A second handle on the same execution (it reads the store) says the same.
    with pytest.raises(KitaruExecutionError, match="was cancelled: A cancel was requested") as again:
        handle.get()
    assert _clean(str(again.value))


def test_an_aborted_wait_raises_a_cancellation() -> None:
    client = KitaruClient()
    handle = gated.run()
    wait_until(lambda: client.executions.pending_waits(handle.exec_id), timeout=60)
    client.executions.abort_wait(handle.exec_id)
    with pytest.raises(KitaruWaitAbortedError) as info:
        handle.wait(timeout=60)
    assert info.value.status is kitaru.ExecutionStatus.CANCELLED
    assert str(info.value).startswith(f"Execution {handle.exec_id} of flow 'gated' was cancelled: Wait 'go'")
    assert _clean(str(info.value))
