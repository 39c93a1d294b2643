"""The server's PostgreSQL restarted while a flow runs against the server: the server
recovers by itself, and the flow completes with every checkpoint recorded once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests._helpers import wait_until
from tests._postgres import Cluster, postgres_cluster
from tests._server import ServerProcess

import kitaru
from kitaru._types import ExecutionStatus
from kitaru.config import reset_config
from kitaru.store.rest import RestStore
from kitaru.testing import reset_default_stores

pytestmark = pytest.mark.postgres

STEPS = 30


@kitaru.checkpoint
def step(i: int) -> int:
    time.sleep(0.05)
    return i


@kitaru.flow
def steady() -> int:
    return sum(step(i) for i in range(STEPS))


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    """A cluster of this test's own: it is stopped and started."""
    with postgres_cluster() as started:
        yield started


@pytest.fixture
def server(tmp_path: Path, cluster: Cluster) -> Iterator[ServerProcess]:
    served = ServerProcess(tmp_path, store_url=cluster.url)
    served.start()
    yield served
    served.stop()
    reset_default_stores()
    reset_config()


def test_a_flow_completes_across_a_restart_of_the_servers_postgres(
    server: ServerProcess, cluster: Cluster
) -> None:
    kitaru.connect(server.url)
    handle = steady.run()
    observer = RestStore(server.url)
    wait_until(lambda: observer.count_calls(handle.exec_id) >= 5, timeout=30)
    assert observer.count_calls(handle.exec_id) < STEPS - 5
    cluster.stop()
    try:
        wait_until(lambda: not _answers_executions(observer), timeout=30)
    finally:
        cluster.start()
    assert handle.wait(timeout=90) == sum(range(STEPS))
    journal = observer.load_journal(handle.exec_id)
    assert [call.invocation_id for call in journal] == ["step", *(f"step_{i}" for i in range(2, STEPS + 1))]
    assert all(call.attempt_count == 1 for call in journal)
    assert observer.get_execution(handle.exec_id).status is ExecutionStatus.COMPLETED
    observer.close()


def _answers_executions(store: RestStore) -> bool:
    try:
        store.list_executions(limit=1)
    except kitaru.errors.KitaruBackendError:
        return False
    return True
