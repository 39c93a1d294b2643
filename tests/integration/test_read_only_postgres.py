"""A PostgreSQL store whose transactions are read-only (a standby, a read-only role): listed and
read as usual, and a write says that the store is read-only."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url
from tests._postgres import create_database

from kitaru.errors import KitaruBackendError
from kitaru.store.conformance.records import add_execution, execution
from kitaru.store.sql import SqlStore

pytestmark = pytest.mark.postgres


def test_a_read_only_postgres_store_lists_and_refuses_writes(postgres_url: str, tmp_path: Path) -> None:
    name = f"read_only_{os.getpid()}_{tmp_path.name[-12:].replace('-', '_')}"
    url = create_database(postgres_url, name)
    with SqlStore(url) as store:  # created and migrated while it may be written
        kept = add_execution(store, "kept-1").exec_id
    parsed = make_url(url)
    conninfo = f"host={parsed.host} port={parsed.port} user={parsed.username} dbname={parsed.database}"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
    with SqlStore(url) as store:
        assert [e.exec_id for e in store.list_executions()] == [kept]
        assert store.get_execution(store.resolve_exec_id("kept")).exec_id == kept
        with pytest.raises(KitaruBackendError) as info:
            store.create_execution(execution(exec_id="new-1"))
    message = str(info.value)
    assert f"the store '{store.name}' is read-only" in message
    assert "It can still be listed and read" in message and "KITARU_STORE_URL" in message
