"""The local directory artifact store, on real files."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

import kitaru.artifacts.local
from kitaru.artifacts.base import ArtifactStore
from kitaru.artifacts.local import LocalArtifactStore
from kitaru.errors import KitaruArtifactIntegrityError, KitaruBackendError, KitaruUsageError

SRC = Path(kitaru.artifacts.local.__file__).resolve().parents[2]


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def python(code: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        env={**os.environ, "PYTHONPATH": str(SRC)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_implements_the_protocol(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path)
    assert isinstance(store, ArtifactStore)
    assert store.uri == str(tmp_path)


def test_round_trip_and_layout(tmp_path: Path) -> None:
    root = tmp_path / "blobs"
    store = LocalArtifactStore(root)
    assert not root.exists()  # directories are created lazily
    key = store.put(b"hello")
    assert key == hashlib.sha256(b"hello").hexdigest()
    assert store.get(key) == b"hello"
    assert store.exists(key)
    assert files_under(root) == [root / key[:2] / key[2:]]
    assert store.path_for(key) == root / key[:2] / key[2:]


@pytest.mark.parametrize("data", [b"", bytearray(b"mutable"), memoryview(b"view")])
def test_bytes_like_values(tmp_path: Path, data: bytes) -> None:
    store = LocalArtifactStore(tmp_path)
    key = store.put(data)
    assert key == hashlib.sha256(data).hexdigest()
    assert store.get(key) == bytes(data)


def test_relative_root_is_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    store = LocalArtifactStore("rel")
    key = store.put(b"x")
    monkeypatch.chdir("/")
    assert store.get(key) == b"x"
    assert store.uri == str(tmp_path / "rel")


def test_existing_content_is_not_written_again(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path)
    key = store.put(b"same")
    path = store.path_for(key)
    before = os.stat(path)
    assert store.put(b"same") == key
    assert store.put(b"same", sha256=key.upper()) == key
    after = os.stat(path)
    # The same file (not rewritten); its time is refreshed, so a deletion that started
    # before this put leaves it alone.
    assert after.st_ino == before.st_ino and after.st_mtime_ns >= before.st_mtime_ns
    assert files_under(tmp_path) == [path]


def test_a_truncated_blob_is_rewritten(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path)
    key = store.put(b"complete content")
    store.path_for(key).write_bytes(b"compl")  # e.g. lost by a power failure without fsync
    assert store.put(b"complete content") == key
    assert store.get(key) == b"complete content"


def test_given_sha256_is_used_as_the_key(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path)
    digest = hashlib.sha256(b"data").hexdigest()
    assert store.put(b"data", sha256=digest) == digest
    assert store.get(digest) == b"data"


@pytest.mark.parametrize("key", ["", "abc", "../" + "0" * 61, "g" * 64, "0" * 63 + "/", 5])
def test_malformed_keys_are_usage_errors(tmp_path: Path, key: object) -> None:
    store = LocalArtifactStore(tmp_path)
    with pytest.raises(KitaruUsageError, match="Invalid artifact key"):
        store.get(key)  # type: ignore[arg-type]
    with pytest.raises(KitaruUsageError, match="Invalid artifact key"):
        store.exists(key)  # type: ignore[arg-type]
    with pytest.raises(KitaruUsageError, match="Invalid artifact key"):
        store.put(b"x", sha256=key)  # type: ignore[arg-type]
    assert files_under(tmp_path) == []


def test_put_needs_bytes(tmp_path: Path) -> None:
    with pytest.raises(KitaruUsageError, match="needs bytes, got str"):
        LocalArtifactStore(tmp_path).put("text")  # type: ignore[arg-type]


def test_missing_key_is_an_integrity_error_naming_key_and_root(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path / "store")
    key = hashlib.sha256(b"never stored").hexdigest()
    assert not store.exists(key)
    with pytest.raises(KitaruArtifactIntegrityError) as info:
        store.get(key)
    assert key in str(info.value) and str(tmp_path / "store") in str(info.value)


def test_file_system_errors_are_backend_errors_with_the_path(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_bytes(b"")
    store = LocalArtifactStore(blocker)
    with pytest.raises(KitaruBackendError) as info:
        store.put(b"x")
    assert str(blocker) in str(info.value)

    good = LocalArtifactStore(tmp_path / "good")
    key = hashlib.sha256(b"y").hexdigest()
    good.path_for(key).mkdir(parents=True)  # a directory where the blob should be
    with pytest.raises(KitaruBackendError, match=str(good.path_for(key))):
        good.get(key)


def test_fsync_mode_round_trips(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path / "durable", fsync=True)
    key = store.put(os.urandom(1 << 20))
    assert len(store.get(key)) == 1 << 20
    assert [p.name.startswith(".") for p in files_under(tmp_path)] == [False]


def test_concurrent_puts_from_threads(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path)
    shared = os.urandom(2 << 20)
    results: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(16)

    def work(i: int) -> None:
        try:
            barrier.wait()
            for j in range(5):
                results.append(store.put(shared))
                results.append(store.put(f"{i}-{j}".encode()))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    key = hashlib.sha256(shared).hexdigest()
    assert results.count(key) == 80
    assert store.get(key) == shared
    assert len(files_under(tmp_path)) == 1 + 80  # no temporary files left behind
    assert {store.get(k) for k in results if k != key} == {
        f"{i}-{j}".encode() for i in range(16) for j in range(5)
    }


def test_concurrent_puts_from_processes(tmp_path: Path) -> None:
    code = """
        import sys
        from kitaru.artifacts.local import LocalArtifactStore
        store = LocalArtifactStore(sys.argv[1])
        data = bytes(range(256)) * 16384  # 4 MiB, the same in every process
        keys = {store.put(data) for _ in range(20)}
        keys.add(store.put(sys.argv[2].encode()))
        print(" ".join(sorted(keys)))
    """
    workers = [python(code, str(tmp_path), f"worker-{i}") for i in range(6)]
    outputs = [worker.communicate(timeout=120) for worker in workers]
    assert all(worker.returncode == 0 for worker in workers), [err for _, err in outputs]
    data = bytes(range(256)) * 16384
    key = hashlib.sha256(data).hexdigest()
    store = LocalArtifactStore(tmp_path)
    assert store.get(key) == data
    for i, (out, _) in enumerate(outputs):
        own = hashlib.sha256(f"worker-{i}".encode()).hexdigest()
        assert sorted(out.split()) == sorted([key, own])
        assert store.get(own) == f"worker-{i}".encode()
    assert len(files_under(tmp_path)) == 7


def _partial_file(root: Path, size: int) -> Path | None:
    for shard in root.iterdir() if root.exists() else ():
        for entry in shard.iterdir() if shard.is_dir() else ():
            if 0 < entry.stat().st_size < size:
                return entry
    return None


def test_a_writer_killed_mid_write_leaves_no_blob_under_the_key(tmp_path: Path) -> None:
    size = 256 << 20
    data = bytes(range(256)) * (size // 256)
    key = hashlib.sha256(data).hexdigest()
    code = """
        import sys
        from kitaru.artifacts.local import LocalArtifactStore
        data = bytes(range(256)) * (int(sys.argv[2]) // 256)
        LocalArtifactStore(sys.argv[1]).put(data)
        print("finished")
    """
    root = tmp_path / "store"
    store = LocalArtifactStore(root)
    writer = python(code, str(root), str(size))
    deadline = time.monotonic() + 60
    partial = None
    while partial is None and writer.poll() is None and time.monotonic() < deadline:
        try:
            partial = _partial_file(root, size)
        except FileNotFoundError:  # a temporary file renamed while listing
            continue
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait(timeout=30)
    assert partial is not None, "the writer finished before it could be killed mid-write"
    assert writer.returncode == -signal.SIGKILL

    assert partial != store.path_for(key)
    assert not store.exists(key)
    with pytest.raises(KitaruArtifactIntegrityError, match="missing"):
        store.get(key)
    assert files_under(root) == [partial]  # only the partial temporary file

    assert store.put(data) == key  # a new writer stores it despite the leftover
    assert store.get(key) == data
    assert store.remove_stale_temp_files() == 1  # its writer is dead: removed however recent
    assert files_under(root) == [store.path_for(key)]


def test_stale_temp_files_are_removed_only_when_old(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path)
    assert LocalArtifactStore(tmp_path / "missing").remove_stale_temp_files() == 0
    key = store.put(b"blob")
    leftover = store.path_for(key).parent / f".{key[2:]}.abcdef.tmp"
    leftover.write_bytes(b"partial")
    assert store.remove_stale_temp_files() == 0  # recent: maybe a write in progress
    old = time.time() - 7200
    os.utime(leftover, (old, old))
    assert store.remove_stale_temp_files() == 1
    assert files_under(tmp_path) == [store.path_for(key)]
