"""Streamed writes and reads of the local and in-memory artifact stores."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from kitaru.artifacts.base import ArtifactStore
from kitaru.artifacts.local import LocalArtifactStore
from kitaru.artifacts.memory import MemoryArtifactStore
from kitaru.errors import KitaruArtifactIntegrityError, KitaruUsageError

MIB = 1 << 20


@pytest.fixture(params=["local", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ArtifactStore:
    if request.param == "local":
        return LocalArtifactStore(tmp_path / "blobs")
    return MemoryArtifactStore()


def _chunks(data: bytes, size: int = 300_000) -> Iterator[bytes]:
    for at in range(0, len(data), size):
        yield data[at : at + size]


def test_a_streamed_write_stores_the_bytes_under_their_key(store: ArtifactStore) -> None:
    data = bytes(range(256)) * 10_000
    key = hashlib.sha256(data).hexdigest()
    assert store.put_stream(_chunks(data), sha256=key) == key
    assert store.get(key) == data and store.blob_size(key) == len(data)


def test_a_streamed_write_with_another_hash_stores_nothing(store: ArtifactStore) -> None:
    key = hashlib.sha256(b"expected").hexdigest()
    with pytest.raises(KitaruUsageError, match="nothing was stored"):
        store.put_stream(_chunks(b"x" * MIB), sha256=key)
    assert not store.exists(key) and store.blob_size(key) is None
    if isinstance(store, LocalArtifactStore):
        assert not list(store.temp_dir.iterdir())


def test_a_streamed_read_gives_the_size_and_the_bytes_from_an_offset(store: ArtifactStore) -> None:
    data = bytes(range(256)) * 20_000
    key = store.put(data)
    size, chunks = store.read_stream(key)
    assert size == len(data) and b"".join(chunks) == data
    size, chunks = store.read_stream(key, start=4_000_000)
    assert size == len(data) and b"".join(chunks) == data[4_000_000:]
    assert b"".join(store.read_stream(key, start=len(data))[1]) == b""
    with pytest.raises(KitaruUsageError, match="outside the blob"):
        store.read_stream(key, start=len(data) + 1)


def test_a_streamed_read_of_a_missing_blob_fails_at_once(store: ArtifactStore) -> None:
    with pytest.raises(KitaruArtifactIntegrityError) as missing:
        store.read_stream("0" * 64)
    assert missing.value.reason == "missing"


def test_a_corrupt_blob_fails_before_its_last_chunk_and_is_moved_aside(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path / "blobs")
    data = bytes(range(256)) * 12_000  # about 3 MiB: three chunks
    key = store.put(data)
    store.path_for(key).write_bytes(data[:-1] + b"!")
    size, chunks = store.read_stream(key)
    received = bytearray()
    with pytest.raises(KitaruArtifactIntegrityError) as corrupt:
        for chunk in chunks:
            received += chunk
    assert corrupt.value.reason == "corrupt" and len(received) < size
    assert not store.exists(key) and list((store.root / ".corrupt").iterdir())
