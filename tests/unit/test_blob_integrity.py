"""Blobs are checked against their sha256 when read: a corrupt or missing one is an error naming
the artifact, and a cache hit on one counts as a miss (the call runs live and says why)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests._modes import Stored

import kitaru
from kitaru import KitaruClient, checkpoint, flow
from kitaru._connect import default_stores
from kitaru.artifacts.local import LocalArtifactStore
from kitaru.artifacts.memory import MemoryArtifactStore
from kitaru.errors import KitaruArtifactIntegrityError, KitaruBackendError, KitaruExecutionError

pytestmark = pytest.mark.both_modes

BIG = 200_000  # above the inline limit: stored as a blob
runs: dict[str, int] = {}


@checkpoint(cache=True)
def big(x: int) -> bytes:
    runs["big"] = runs.get("big", 0) + 1
    return bytes([x % 256]) * BIG


@flow
def makes_big(x: int) -> int:
    return len(big(x))


@pytest.fixture(autouse=True)
def _clean() -> None:
    runs.clear()


def _flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _blob_output() -> tuple[str, str, str]:
    """Run ``makes_big(7)``; return its exec id, the output artifact id and the blob key."""
    handle = makes_big.run(7)
    assert handle.wait(timeout=30) == BIG
    (call,) = KitaruClient().executions.get(handle.exec_id).checkpoints
    artifact = call.artifacts[0]
    record = default_stores().metadata.get_artifact(artifact.artifact_id)
    assert record.blob_key is not None
    return handle.exec_id, artifact.artifact_id, record.blob_key


def test_a_local_blob_with_changed_bytes_is_refused(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path)
    key = store.put(b"x" * 1000)
    _flip_a_byte(store.path_for(key))
    with pytest.raises(KitaruArtifactIntegrityError) as info:
        store.get(key)
    message = str(info.value)
    assert key in message and str(store.path_for(key)) in message and "corrupt" in message
    assert info.value.reason == "corrupt"
    assert isinstance(info.value, KitaruBackendError)


def test_a_missing_local_blob_is_an_integrity_error(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path)
    key = hashlib.sha256(b"never stored").hexdigest()
    with pytest.raises(KitaruArtifactIntegrityError, match=key) as info:
        store.get(key)
    assert info.value.reason == "missing"


def test_a_corrupt_blob_is_set_aside_so_the_same_content_can_be_stored_again(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path)
    data = b"payload" * 100
    key = store.put(data)
    _flip_a_byte(store.path_for(key))
    with pytest.raises(KitaruArtifactIntegrityError, match="corrupt"):
        store.get(key)
    with pytest.raises(KitaruArtifactIntegrityError, match="found corrupt and moved aside") as info:
        store.get(key)
    assert info.value.reason == "missing"
    assert store.put(data) == key
    assert store.get(key) == data


def test_the_memory_store_checks_blobs_too() -> None:
    store = MemoryArtifactStore()
    key = store.put(b"the content", sha256="0" * 64)  # a caller's wrong hash is caught on read
    with pytest.raises(KitaruArtifactIntegrityError, match="corrupt"):
        store.get(key)
    with pytest.raises(KitaruArtifactIntegrityError, match="1" * 64):
        store.get("1" * 64)


@pytest.mark.parametrize("damage", ["corrupt", "missing"])
def test_loading_a_damaged_blob_names_the_artifact(damage: str, stored: Stored) -> None:
    exec_id, artifact_id, key = _blob_output()
    path = LocalArtifactStore(stored.blobs).path_for(key)
    if damage == "corrupt":
        _flip_a_byte(path)
    else:
        path.unlink()
    with pytest.raises(KitaruArtifactIntegrityError) as info:
        KitaruClient().artifacts.get(artifact_id).load()
    message = str(info.value)
    for part in (artifact_id, "'big'", exec_id, key, str(path), damage):
        assert part in message, (part, message)
    assert info.value.reason == damage
    with pytest.raises(KitaruArtifactIntegrityError, match=artifact_id):
        kitaru.load(exec_id, "big")


def test_inline_data_that_does_not_match_its_hash_is_refused(stored: Stored) -> None:
    handle = makes_big.run(1)
    handle.wait(timeout=30)
    (result,) = KitaruClient().artifacts.list(handle.exec_id, kind="result")
    engine = sa.create_engine(stored.url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE artifacts SET data = :data WHERE artifact_id = :id"),
            {"data": b"999999", "id": result.artifact_id},
        )
    engine.dispose()
    with pytest.raises(KitaruArtifactIntegrityError, match=result.artifact_id) as info:
        result.load()
    assert info.value.reason == "corrupt"


@pytest.mark.parametrize("damage", ["corrupt", "missing"])
def test_a_cache_hit_on_a_damaged_blob_runs_live_and_says_why(damage: str, stored: Stored) -> None:
    source, _, key = _blob_output()
    path = LocalArtifactStore(stored.blobs).path_for(key)
    if damage == "corrupt":
        _flip_a_byte(path)
    else:
        path.unlink()
    second = makes_big.run(7)
    assert second.wait(timeout=30) == BIG
    assert runs["big"] == 2
    (call,) = KitaruClient().executions.get(second.exec_id).checkpoints
    assert call.status.value == "completed"
    skipped = call.metadata["kitaru"]["cache_skipped"]
    assert skipped["exec_id"] == source and damage in skipped["reason"]
    logs = [entry.message for entry in KitaruClient().executions.logs(second.exec_id)]
    assert any("runs live" in line and source in line for line in logs), logs
    # The live call stored the content again: the next run is a cache hit that loads.
    assert call.artifacts[0].load() == bytes([7]) * BIG
    third = makes_big.run(7)
    assert third.wait(timeout=30) == BIG and runs["big"] == 2


def test_a_reused_checkpoint_with_a_corrupt_blob_fails_the_execution_as_a_backend_error(
    stored: Stored,
) -> None:
    gate = {"open": False}

    @checkpoint
    def produce() -> bytes:
        return b"z" * BIG

    @checkpoint
    def consume(data: bytes) -> int:
        if not gate["open"]:
            raise RuntimeError("closed")
        return len(data)

    @flow
    def pipeline() -> int:
        return consume(produce())

    handle = pipeline.run()
    with pytest.raises(KitaruExecutionError, match="closed"):
        handle.wait(timeout=30)
    produced = next(
        c for c in KitaruClient().executions.get(handle.exec_id).checkpoints if c.name == "produce"
    )
    record = default_stores().metadata.get_artifact(produced.artifacts[0].artifact_id)
    assert record.blob_key is not None
    _flip_a_byte(LocalArtifactStore(stored.blobs).path_for(record.blob_key))
    gate["open"] = True
    KitaruClient().executions.retry(handle.exec_id)
    execution = KitaruClient().executions.wait_for(handle.exec_id, timeout=30)
    assert execution.status is kitaru.ExecutionStatus.FAILED
    assert execution.failure is not None
    assert execution.failure.origin.value == "backend"
    assert produced.artifacts[0].artifact_id in execution.failure.message
