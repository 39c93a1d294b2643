"""Flows that run in this process against a Kitaru server (uvicorn on loopback over SQLite):
KITARU_SERVER_URL + KITARU_API_KEY, or kitaru.connect()."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests._server import running_server

import kitaru
from kitaru import KitaruClient
from kitaru._types import ExecutionStatus
from kitaru.artifacts.local import LocalArtifactStore
from kitaru.config import reset_config
from kitaru.server import issue_api_key, store_api_keys
from kitaru.store.sql import SqlStore
from kitaru.testing import reset_default_stores

BIG = os.urandom(1 << 20)


@kitaru.checkpoint
def small(x: int) -> int:
    return x + 1


@kitaru.checkpoint
def big() -> int:
    kitaru.save("blob", BIG)
    return len(BIG)


@kitaru.flow
def pipeline(x: int) -> int:
    big()
    return small(x) + small(x + 10)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, str, SqlStore, LocalArtifactStore]]:
    backing = SqlStore.open_sqlite(tmp_path / "server.db")
    blobs = LocalArtifactStore(tmp_path / "server-blobs")
    token, _ = issue_api_key(backing, "runner")
    with running_server(backing, blobs, auth=store_api_keys(backing)) as url:
        yield url, token, backing, blobs
    reset_default_stores()
    reset_config()
    backing.close()


def _check_stored_on_the_server(exec_id: str, backing: SqlStore, blobs: LocalArtifactStore) -> None:
    assert backing.get_execution(exec_id).status is ExecutionStatus.COMPLETED
    assert [call.invocation_id for call in backing.load_journal(exec_id)] == ["big", "small", "small_2"]
    (saved,) = backing.list_artifacts(exec_id, name="blob")
    assert saved.blob_key is not None and blobs.get(saved.blob_key)


def test_a_flow_runs_against_the_server_named_by_the_environment(
    server: tuple[str, str, SqlStore, LocalArtifactStore], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url, token, backing, blobs = server
    monkeypatch.setenv("KITARU_SERVER_URL", url)
    monkeypatch.setenv("KITARU_API_KEY", token)
    handle = pipeline.run(1)
    assert handle.wait(timeout=60) == 14
    _check_stored_on_the_server(handle.exec_id, backing, blobs)
    assert not (Path(os.environ["KITARU_HOME"]) / "kitaru.db").exists()  # nothing stored locally
    client = KitaruClient()
    execution = client.executions.get(handle.exec_id)
    assert execution.status is ExecutionStatus.COMPLETED
    (blob,) = client.artifacts.list(handle.exec_id, name="blob")
    assert blob.load() == BIG
    assert kitaru.load(handle.exec_id, "blob") == BIG


def test_connect_points_the_process_at_the_server(
    server: tuple[str, str, SqlStore, LocalArtifactStore],
) -> None:
    url, token, backing, blobs = server
    kitaru.connect(url, api_key=token)
    handle = pipeline.run(5)
    assert handle.wait(timeout=60) == 22
    _check_stored_on_the_server(handle.exec_id, backing, blobs)


def test_a_wrong_key_is_refused_before_anything_runs(
    server: tuple[str, str, SqlStore, LocalArtifactStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _, backing, _ = server
    kitaru.connect(url, api_key="kitaru_not-a-key")
    with pytest.raises(kitaru.KitaruError, match="API key is not valid"):
        pipeline.run(1)
    assert backing.list_executions() == []
