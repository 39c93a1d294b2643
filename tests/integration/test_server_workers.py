"""``kitaru server start --workers 2`` on PostgreSQL: concurrent runners complete with every
checkpoint recorded once, and a write sent again on other connections (reaching either
worker) is applied once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests._postgres import create_database
from tests._server import ServerProcess

import kitaru
from kitaru._types import ExecutionStatus, utcnow
from kitaru._wire import to_wire
from kitaru.config import reset_config
from kitaru.records import LogRecord
from kitaru.store.rest import RestStore
from kitaru.testing import reset_default_stores

pytestmark = pytest.mark.postgres

STEPS = 20
RUNNERS = 6


@kitaru.checkpoint
def step(i: int) -> int:
    time.sleep(0.01)
    return i


@kitaru.flow
def counted(offset: int) -> int:
    return sum(step(offset + i) for i in range(STEPS))


@pytest.fixture
def server(tmp_path: Path, postgres_url: str) -> Iterator[ServerProcess]:
    url = create_database(postgres_url, f"workers_{tmp_path.name[-12:].lower().replace('-', '_')}")
    served = ServerProcess(tmp_path, store_url=url, args=("--workers", "2"))
    served.start()
    yield served
    served.stop()
    reset_default_stores()
    reset_config()


def test_concurrent_runners_on_two_workers_lose_and_double_nothing(server: ServerProcess) -> None:
    kitaru.connect(server.url)
    handles = [counted.run(offset) for offset in range(0, RUNNERS * 100, 100)]
    results = [handle.wait(timeout=120) for handle in handles]
    assert results == [sum(range(offset, offset + STEPS)) for offset in range(0, RUNNERS * 100, 100)]
    observer = RestStore(server.url)
    for handle in handles:
        journal = observer.load_journal(handle.exec_id)
        assert [call.invocation_id for call in journal] == [
            "step",
            *(f"step_{i}" for i in range(2, STEPS + 1)),
        ]
        assert all(call.attempt_count == 1 for call in journal)
        assert observer.get_execution(handle.exec_id).status is ExecutionStatus.COMPLETED
    exec_id = handles[0].exec_id
    before = len(observer.list_logs(exec_id))
    body = {"records": to_wire([LogRecord(exec_id, utcnow(), "sent many times")])}
    for _ in range(12):  # a new connection each time: the two workers take turns accepting them
        with httpx.Client() as client:
            sent = client.post(f"{server.url}/api/v1/logs", json=body, headers={"Idempotency-Key": "once"})
            assert sent.status_code == 204
    assert len(observer.list_logs(exec_id)) == before + 1
    observer.close()
