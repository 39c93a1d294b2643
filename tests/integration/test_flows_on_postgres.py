"""The engine end to end on PostgreSQL (KITARU_STORE_URL) instead of the embedded SQLite file."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests._helpers import result_of, retry_and_wait
from tests._postgres import create_database

import kitaru
from kitaru import KitaruClient, checkpoint, flow
from kitaru.errors import KitaruUserCodeError
from kitaru.testing import isolated_home

pytestmark = pytest.mark.postgres

runs: dict[str, int] = {}


@pytest.fixture
def pg_home(postgres_url: str, tmp_path: Path) -> Iterator[str]:
    url = create_database(postgres_url, f"flows_{os.getpid()}_{tmp_path.name[-12:].replace('-', '_')}")
    with isolated_home(tmp_path / "home"):
        os.environ["KITARU_STORE_URL"] = url
        try:
            yield url
        finally:
            os.environ.pop("KITARU_STORE_URL", None)


@checkpoint(retries=1, retry_delay=0)
def flaky_double(x: int) -> int:
    runs["double"] = runs.get("double", 0) + 1
    if runs["double"] == 1:
        raise ConnectionError("first attempt fails")
    return 2 * x


@checkpoint
def must_pass(x: int) -> int:
    runs["gate"] = runs.get("gate", 0) + 1
    if runs.get("broken", 1):
        raise RuntimeError("gate closed")
    return x + 1


@flow(cache=True)
def pg_flow(x: int) -> int:
    kitaru.log(backend="postgres")
    squares = [f.result() for f in flaky_double.map(range(3))]
    return must_pass(sum(squares) + flaky_double(x))


def test_flow_runs_retries_reruns_and_caches_on_postgres(pg_home: str) -> None:
    runs.clear()
    handle = pg_flow.run(10)
    with pytest.raises(KitaruUserCodeError, match="gate closed"):
        handle.wait(timeout=60)
    execution = KitaruClient().executions.get(handle.exec_id)
    assert execution.spec["connection"]["store"].startswith("postgresql+psycopg://")
    assert execution.metadata == {"backend": "postgres"}
    assert sum(len(c.attempts) for c in execution.checkpoints if c.name == "flaky_double") == 5
    runs["broken"] = 0
    doubles_before = runs["double"]
    assert retry_and_wait(handle.exec_id, timeout=60).status is kitaru.ExecutionStatus.COMPLETED
    assert result_of(handle.exec_id) == 27
    assert runs["double"] == doubles_before  # completed checkpoints were reused
    second = pg_flow.run(10)
    assert second.wait(timeout=60) == 27
    statuses = {
        c.invocation_id: c.status.value for c in KitaruClient().executions.get(second.exec_id).checkpoints
    }
    assert set(statuses.values()) == {"cached"}
    assert kitaru.load(handle.exec_id, "must_pass") == 27
