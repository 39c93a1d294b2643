"""The composition root: stores opened by URL, and the execution target handed to the client."""

from __future__ import annotations

from pathlib import Path

import pytest

from kitaru import KitaruClient, checkpoint, flow
from kitaru._connect import default_stores
from kitaru.artifacts.local import LocalArtifactStore
from kitaru.client import ExecutionStatus
from kitaru.errors import KitaruUsageError, KitaruUserCodeError
from kitaru.runtime.targets.local import LocalTarget
from kitaru.store import open_store
from kitaru.store.base import MetadataStore
from kitaru.store.sql import SqlStore


def test_open_store_picks_the_backend_by_scheme(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'sub' / 'kitaru.db'}")
    try:
        assert isinstance(store, SqlStore) and isinstance(store, MetadataStore)
        assert store.list_executions(limit=1) == []
    finally:
        store.close()
    with pytest.raises(KitaruUsageError, match=r"Unsupported store URL scheme 'mysql:'.*sqlite:///"):
        open_store("mysql://db.example/kitaru")


def test_the_default_stores_carry_the_local_target() -> None:
    assert isinstance(default_stores().target, LocalTarget)


def test_a_client_on_explicit_stores_retries_through_the_target_it_was_given() -> None:
    broken = {"on": True}

    @checkpoint
    def fragile(x: int) -> int:
        if broken["on"]:
            raise RuntimeError("fragile broke")
        return x

    @flow
    def uses_fragile(n: int) -> int:
        return fragile(n) + 1

    handle = uses_fragile.run(2)
    with pytest.raises(KitaruUserCodeError):
        handle.wait(timeout=30)
    stores = default_stores()
    # A second store object on the same database: nothing is shared with the default client.
    store = open_store(stores.url)
    try:
        client = KitaruClient(
            store=store, artifacts=LocalArtifactStore(stores.artifacts.uri), target=LocalTarget()
        )
        broken["on"] = False
        client.executions.retry(handle.exec_id)
        done = client.executions.wait_for(handle.exec_id, timeout=30)
        assert done.status is ExecutionStatus.COMPLETED and done.run_count == 2
    finally:
        store.close()
