"""Small polling helpers shared by the tests (never fixed sleeps as synchronisation)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import kitaru
from kitaru import KitaruClient
from kitaru.client import Execution

T = TypeVar("T")


def wait_until(predicate: Callable[[], T], timeout: float = 10.0) -> T:
    """Poll ``predicate`` until it returns something truthy; return that."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError(f"condition not reached within {timeout} s")


def released(client: KitaruClient, exec_id: str) -> bool:
    """The execution waits and its runner has left."""
    execution = client.executions.get(exec_id)
    return execution.status is kitaru.ExecutionStatus.WAITING and execution.runner_id is None


def retry_and_wait(exec_id: str, timeout: float = 30.0) -> Execution:
    """Retry a failed execution through the client and return it once it ended."""
    client = KitaruClient()
    client.executions.retry(exec_id)
    return client.executions.wait_for(exec_id, timeout=timeout)


def result_of(exec_id: str) -> object:
    """The stored return value of an ended execution."""
    (result,) = KitaruClient().artifacts.list(exec_id, kind="result")
    return result.load()
