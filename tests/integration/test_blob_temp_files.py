"""Interrupted blob writes leave no temporary files behind: opening the local artifact store
removes those of dead writers, and never one that a live writer is still writing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests._helpers import wait_until

import kitaru.artifacts.local
from kitaru.artifacts.local import LocalArtifactStore

SRC = Path(kitaru.artifacts.local.__file__).resolve().parents[2]
WRITER = """
    import os, sys
    from kitaru.artifacts.local import LocalArtifactStore
    store = LocalArtifactStore(sys.argv[1])
    size = int(sys.argv[2])
    while True:  # distinct large blobs, deleted again so that the disk does not fill up
        key = store.put(os.urandom(16) + bytes(size))
        os.unlink(store.path_for(key))
"""


def _temp_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.name.endswith(".tmp"))


def _state(pid: int) -> str:
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0]


def _open_files_under(pid: int, root: Path) -> list[Path]:
    """The regular files under ``root`` that the process holds open (not directories it lists)."""
    found = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = Path(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except FileNotFoundError:
            continue
        if target.is_relative_to(root) and target.is_file():
            found.append(target)
    return found


def _freeze_mid_write(proc: subprocess.Popen[bytes], root: Path) -> Path:
    """Stop ``proc`` (SIGSTOP) at a moment it holds a blob's temporary file open; return that file."""

    def attempt() -> Path | None:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        os.kill(proc.pid, signal.SIGSTOP)
        wait_until(lambda: _state(proc.pid) == "T")
        files = _open_files_under(proc.pid, root)
        if files:
            return files[0]
        os.kill(proc.pid, signal.SIGCONT)
        return None

    return wait_until(attempt, timeout=60)


@pytest.fixture
def writers(tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(WRITER), str(tmp_path / "store"), str(32 << 20)],
            env={**os.environ, "PYTHONPATH": str(SRC)},
            stderr=subprocess.PIPE,
        )
        started.append(proc)
        return proc

    yield [start(), start()]
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
        if proc.stderr:
            proc.stderr.close()


def test_opening_removes_a_killed_writers_temp_file_and_keeps_a_live_writers(
    tmp_path: Path, writers: list[subprocess.Popen[bytes]]
) -> None:
    root = tmp_path / "store"
    victim, live = writers
    killed_file = _freeze_mid_write(victim, root)
    live_file = _freeze_mid_write(live, root)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=30)
    assert killed_file.exists() and live_file.exists()
    assert set(_temp_files(root)) == {killed_file, live_file}, (_temp_files(root), killed_file, live_file)

    store = LocalArtifactStore(root)  # opening recovers
    assert not killed_file.exists()
    assert live_file.exists()  # its writer is alive (stopped), so it is still being written
    assert store.remove_stale_temp_files() == 0
    assert store.remove_stale_temp_files(older_than=0) == 0  # even when "old": its writer lives
    assert _temp_files(root) == [live_file]

    os.kill(live.pid, signal.SIGCONT)
    wait_until(lambda: not live_file.exists(), timeout=60)  # the write went on and was renamed
    assert live.poll() is None
    _freeze_mid_write(live, root)
    os.kill(live.pid, signal.SIGKILL)
    live.wait(timeout=30)
    assert _temp_files(root)
    LocalArtifactStore(root)
    assert _temp_files(root) == []


def test_the_cleanup_function_reports_what_it_removed(
    tmp_path: Path, writers: list[subprocess.Popen[bytes]]
) -> None:
    root = tmp_path / "store"
    store = LocalArtifactStore(root)  # opened while both write: nothing to remove yet
    for proc in writers:
        _freeze_mid_write(proc, root)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert len(_temp_files(root)) == 2
    assert store.remove_stale_temp_files() == 2
    assert _temp_files(root) == []


def test_temp_files_of_unknown_writers_go_only_once_old(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path)
    key = store.put(b"blob")
    legacy = store.path_for(key).parent / f".{key[2:]}.abcdef.tmp"  # the layout of older versions
    legacy.write_bytes(b"partial")
    foreign = store.temp_dir / "otherhost-123-abcdef.tmp"  # a writer on another machine
    foreign.write_bytes(b"partial")
    assert LocalArtifactStore(tmp_path).remove_stale_temp_files() == 0  # recent: maybe in progress
    old = time.time() - 7200
    for path in (legacy, foreign):
        os.utime(path, (old, old))
    LocalArtifactStore(tmp_path)
    assert not foreign.exists()  # the open scan covers the temporary directory
    assert legacy.exists()  # shards are not scanned on open
    assert store.remove_stale_temp_files() == 1
    assert _temp_files(tmp_path) == []
    assert store.get(key) == b"blob"
