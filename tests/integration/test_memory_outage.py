"""A memory write of a flow body rides out a store that fails for a while (a table locked by
another session past PostgreSQL's lock timeout): it is retried, and made once."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url
from tests._helpers import wait_until
from tests._postgres import create_database

from kitaru import KitaruClient, flow, memory
from kitaru.testing import isolated_home

pytestmark = pytest.mark.postgres

gate = threading.Event()


@flow
def remember() -> int:
    gate.wait(30)
    memory.set("k", 1)
    value = memory.get("k")
    assert isinstance(value, int)
    return value


@pytest.fixture
def locked_store(postgres_url: str, tmp_path: Path) -> Iterator[str]:
    name = f"memory_lock_{os.getpid()}_{tmp_path.name[-12:].replace('-', '_')}"
    url = create_database(postgres_url, name)
    parsed = make_url(url)
    conninfo = f"host={parsed.host} port={parsed.port} user={parsed.username} dbname={parsed.database}"
    with psycopg.connect(conninfo, autocommit=True) as admin:
        admin.execute(f"ALTER DATABASE \"{name}\" SET lock_timeout = '200ms'")
    with isolated_home(tmp_path / "home"):
        os.environ["KITARU_STORE_URL"] = url
        try:
            yield conninfo
        finally:
            os.environ.pop("KITARU_STORE_URL", None)
            gate.clear()


def test_a_memory_write_is_retried_through_a_locked_table(
    locked_store: str, capfd: pytest.CaptureFixture[str]
) -> None:
    client = KitaruClient()
    assert client.memories.scopes() == []  # the store is open and migrated
    with psycopg.connect(locked_store) as locker:
        locker.execute("LOCK TABLE memory_keys IN ACCESS EXCLUSIVE MODE")
        handle = remember.run()
        gate.set()
        said: list[str] = []
        wait_until(lambda: said.append(capfd.readouterr().err) or "wrote memory" in "".join(said), timeout=30)
        locker.rollback()
    assert handle.wait(timeout=60) == 1
    assert [e.version for e in client.memories.history("k", scope="remember")] == [1]
    assert "retrying" in "".join(said)
