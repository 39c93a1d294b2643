"""Flows on the in-memory stores (kitaru.testing.in_memory) and the in-memory artifact store."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from pathlib import Path

import pytest

import kitaru
from kitaru import KitaruClient, checkpoint, flow
from kitaru.artifacts.base import ArtifactStore
from kitaru.artifacts.local import LocalArtifactStore
from kitaru.artifacts.object_store import ObjectArtifactStore
from kitaru.errors import (
    KitaruArtifactIntegrityError,
    KitaruStateError,
    KitaruUsageError,
    KitaruUserCodeError,
)
from kitaru.testing import InMemoryStore, MemoryArtifactStore, in_memory

ES = kitaru.ExecutionStatus
runs: list[str] = []
broken = {"on": True}


@checkpoint
def fetch(n: int) -> str:
    runs.append("fetch")
    return "x" * n


@checkpoint
def fragile(text: str) -> int:
    runs.append("fragile")
    if broken["on"]:
        raise RuntimeError("fragile broke")
    return len(text)


@checkpoint
def report(size: int) -> str:
    runs.append("report")
    kitaru.save("notes", {"size": size})
    return f"size {size}"


@flow
def measure(n: int) -> str:
    return report(fragile(fetch(n)))


def test_a_flow_fails_retries_and_replays_on_the_in_memory_stores(kitaru_home: Path) -> None:
    runs.clear()
    broken["on"] = True
    big = 200_000  # larger than the inline limit: the output goes to the artifact store
    with in_memory() as stores:
        assert isinstance(stores.metadata, InMemoryStore)
        assert isinstance(stores.artifacts, MemoryArtifactStore)
        handle = measure.run(big)
        with pytest.raises(KitaruUserCodeError, match="fragile broke"):
            handle.wait(timeout=30)
        client = KitaruClient()
        assert client.executions.get(handle.exec_id).status is ES.FAILED
        broken["on"] = False
        client.executions.retry(handle.exec_id)
        done = client.executions.wait_for(handle.exec_id, timeout=30)
        assert done.status is ES.COMPLETED and kitaru.load(handle.exec_id, "report") == f"size {big}"
        assert runs == ["fetch", "fragile", "fragile", "report"]  # fetch was reused by the retry
        assert len(stores.artifacts) >= 1  # the big output is a blob
        assert kitaru.load(handle.exec_id, "notes") == {"size": big}

        runs.clear()
        replayed = measure.replay(handle.exec_id, from_="report")
        assert replayed.wait(timeout=30) == f"size {big}"
        assert runs == ["report"]
        record = stores.metadata.get_execution(replayed.exec_id)
        assert record.original_exec_id == handle.exec_id and record.status is ES.COMPLETED
        assert [c.name for c in stores.metadata.load_journal(replayed.exec_id)] == [
            "fetch",
            "fragile",
            "report",
        ]
        assert {e.exec_id for e in client.executions.list()} == {handle.exec_id, replayed.exec_id}
    assert not (kitaru_home / "kitaru.db").exists() and not (kitaru_home / "artifacts").exists()
    with in_memory():
        assert KitaruClient().executions.list() == []  # a new block starts empty
        with pytest.raises(KitaruStateError, match=handle.exec_id):
            KitaruClient().executions.get(handle.exec_id)


@pytest.fixture(params=["memory", "local", "s3"])
def artifact_store(request: pytest.FixtureRequest, tmp_path: Path) -> ArtifactStore:
    """Every artifact store backend, each run through the same cases."""
    if request.param == "memory":
        return MemoryArtifactStore("blobs")
    if request.param == "s3":
        return ObjectArtifactStore(request.getfixturevalue("s3_url"))
    return LocalArtifactStore(tmp_path / "blobs")


def test_artifact_stores_keep_one_contract(artifact_store: ArtifactStore) -> None:
    assert isinstance(artifact_store, ArtifactStore)
    key = artifact_store.put(b"hello")
    assert key == hashlib.sha256(b"hello").hexdigest()
    assert artifact_store.put(bytearray(b"hello")) == key and artifact_store.put(memoryview(b"hello")) == key
    assert artifact_store.get(key) == b"hello" and artifact_store.exists(key)
    digest = hashlib.sha256(b"pre-hashed").hexdigest()
    assert artifact_store.put(b"pre-hashed", sha256=digest.upper()) == digest
    assert artifact_store.get(digest) == b"pre-hashed"
    assert artifact_store.put(b"wrongly hashed", sha256="A" * 64) == "a" * 64  # trusted when stored...
    with pytest.raises(KitaruArtifactIntegrityError, match="corrupt"):
        artifact_store.get("a" * 64)  # ...and caught when read
    with pytest.raises(KitaruArtifactIntegrityError, match="b" * 64):
        artifact_store.get("b" * 64)
    assert not artifact_store.exists("c" * 64)
    with pytest.raises(KitaruUsageError):
        artifact_store.put("text")  # type: ignore[arg-type]
    for bad in ("not-a-key", "B" * 64):
        with pytest.raises(KitaruUsageError):
            artifact_store.get(bad)
        with pytest.raises(KitaruUsageError):
            artifact_store.exists(bad)


def test_artifact_stores_delete_and_list_alike(artifact_store: ArtifactStore) -> None:
    assert list(artifact_store.list_blobs()) == []
    keys = [artifact_store.put(data) for data in (b"one", b"two!", b"x" * (1 << 20))]
    assert sorted(artifact_store.list_blobs()) == sorted(zip(keys, [3, 4, 1 << 20], strict=True))
    assert artifact_store.get(keys[2]) == b"x" * (1 << 20)
    assert list(artifact_store.list_blobs(stored_before=time.time() - 3600)) == []
    assert sorted(artifact_store.list_blobs(stored_before=time.time() + 3600)) == sorted(
        zip(keys, [3, 4, 1 << 20], strict=True)
    )
    # a blob stored at or after the cut-off stays (a writer may be about to reference it)
    assert artifact_store.delete(keys, unless_stored_after=time.time() - 3600) == {}
    assert artifact_store.delete([keys[0], "d" * 64]) == {keys[0]: 3}
    assert not artifact_store.exists(keys[0]) and artifact_store.exists(keys[1])
    with pytest.raises(KitaruArtifactIntegrityError, match=keys[0]) as missing:
        artifact_store.get(keys[0])
    assert missing.value.reason == "missing"
    assert artifact_store.put(b"one") == keys[0] and artifact_store.get(keys[0]) == b"one"
    with pytest.raises(KitaruUsageError):
        artifact_store.delete(["not-a-key"])
    assert artifact_store.remove_stale_temp_files(older_than=0) == 0


def test_a_corrupt_blob_is_set_aside_and_repaired_by_storing_it_again(artifact_store: ArtifactStore) -> None:
    wrong = artifact_store.put(b"not what the key says", sha256="e" * 64)
    with pytest.raises(KitaruArtifactIntegrityError) as corrupt:
        artifact_store.get(wrong)
    assert corrupt.value.reason == "corrupt" and corrupt.value.key == wrong
    assert not artifact_store.exists(wrong)  # out of its key's place...
    assert [key for key, _ in artifact_store.list_blobs()] == []  # ...and not listed as a blob
    digest = hashlib.sha256(b"right").hexdigest()
    artifact_store.put(b"right", sha256=digest)
    assert artifact_store.get(digest) == b"right"


def test_memory_artifact_store_counts_and_names_its_blobs() -> None:
    store = MemoryArtifactStore("blobs")
    store.put(b"a")
    store.put(b"a")
    store.put(b"b")
    assert len(store) == 2 and store.uri == "memory://blobs"
    assert MemoryArtifactStore().uri != MemoryArtifactStore().uri


def test_memory_stores_import_no_sql_and_testing_stays_cheap() -> None:
    script = (
        "import sys\n"
        "import kitaru.testing\n"
        "assert 'kitaru.store.memory' not in sys.modules\n"
        "from kitaru.testing import InMemoryStore, MemoryArtifactStore\n"
        "InMemoryStore(); MemoryArtifactStore()\n"
        "loaded = [m for m in ('sqlalchemy', 'alembic', 'psycopg', 'pytest') if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)


def test_in_memory_store_names_itself_and_drops_its_data_when_closed() -> None:
    with InMemoryStore("scratch") as store:
        assert repr(store) == "InMemoryStore('scratch')" and store.name == "scratch"
        with pytest.raises(KitaruStateError, match="'nope' in store 'scratch'"):
            store.get_execution("nope")
    with pytest.raises(KitaruStateError, match="The store 'scratch' is closed"):
        store.list_executions()
