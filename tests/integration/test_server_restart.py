"""A server stopped or killed (SIGKILL) while a flow runs against it, then started again: the
runner's requests fail on the connection, are sent again until the server is back, and the
execution completes with every checkpoint recorded once."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests._helpers import wait_until
from tests._server import ServerProcess

import kitaru
from kitaru._types import ExecutionStatus
from kitaru.config import reset_config
from kitaru.store.rest import RestStore
from kitaru.testing import reset_default_stores

STEPS = 30


@kitaru.checkpoint
def step(i: int) -> int:
    time.sleep(0.05)
    return i


@kitaru.flow
def steady() -> int:
    return sum(step(i) for i in range(STEPS))


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    served = ServerProcess(tmp_path)
    served.start()
    yield served
    served.stop()
    reset_default_stores()
    reset_config()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["stopped", "killed"])
def test_a_flow_completes_across_a_server_restart(server: ServerProcess, sig: signal.Signals) -> None:
    kitaru.connect(server.url)
    handle = steady.run()
    observer = RestStore(server.url)
    wait_until(lambda: observer.count_calls(handle.exec_id) >= 5, timeout=30)
    assert observer.count_calls(handle.exec_id) < STEPS - 5  # the runner will meet a server that is gone
    server.stop(sig)
    server.start()
    assert handle.wait(timeout=60) == sum(range(STEPS))
    journal = observer.load_journal(handle.exec_id)
    assert [call.invocation_id for call in journal] == ["step", *(f"step_{i}" for i in range(2, STEPS + 1))]
    assert all(call.attempt_count == 1 for call in journal)
    assert observer.get_execution(handle.exec_id).status is ExecutionStatus.COMPLETED
    observer.close()
