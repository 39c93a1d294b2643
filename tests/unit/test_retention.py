"""Deleting executions through the client: rows, logs and blobs go; what other executions
use stays; executions a live runner holds are refused or skipped."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import pytest
from tests._helpers import wait_until
from tests._modes import Stored

import kitaru
from kitaru import KitaruClient, checkpoint, flow
from kitaru._connect import default_stores
from kitaru._leases import RunnerIdentity, new_runner_id
from kitaru._types import ExecutionStatus, new_id, utcnow
from kitaru.artifacts.local import LocalArtifactStore
from kitaru.client import DeletionResult
from kitaru.client._retention import BLOB_GRACE_SECONDS, parse_duration
from kitaru.errors import KitaruStateError, KitaruUsageError
from kitaru.records import ExecutionRecord

pytestmark = pytest.mark.both_modes

BIG = 100_000  # larger than the inline limit: stored as a blob


@checkpoint
def make(text: str) -> str:
    print(f"making {text}")
    return text * BIG


@checkpoint(cache=True)
def cached_make(text: str) -> str:
    return text * BIG


@checkpoint
def measure(value: str) -> int:
    return len(value)


@flow
def blobby(text: str) -> int:
    return measure(make(text))


@flow
def cached_blobby(text: str) -> int:
    return measure(cached_make(text))


@flow
def tiny(n: int) -> int:
    return measure(str(n))


def _run(target: object, *args: object) -> str:
    handle = target.run(*args)  # type: ignore[attr-defined]
    handle.wait(timeout=30)
    return str(handle.exec_id)


def _rows(stored: Stored, exec_id: str) -> dict[str, int]:
    with sqlite3.connect(stored.db) as db:
        counts = {
            table: db.execute(f"SELECT count(*) FROM {table} WHERE exec_id = ?", (exec_id,)).fetchone()[0]
            for table in ("executions", "calls", "artifacts", "logs")
        }
        counts["attempts"] = db.execute(
            "SELECT count(*) FROM attempts WHERE call_id IN (SELECT call_id FROM calls WHERE exec_id = ?)",
            (exec_id,),
        ).fetchone()[0]
    return counts


def _dangling(stored: Stored) -> list[tuple[str, str]]:
    """Calls whose output link names no artifact (must stay empty)."""
    with sqlite3.connect(stored.db) as db:
        return db.execute(
            "SELECT c.call_id, c.output_artifact_id FROM calls c LEFT JOIN artifacts a "
            "ON a.artifact_id = c.output_artifact_id "
            "WHERE c.output_artifact_id IS NOT NULL AND a.artifact_id IS NULL"
        ).fetchall()


def _blob_files(stored: Stored) -> set[Path]:
    return {p for p in stored.blobs.rglob("*") if p.is_file() and not p.name.startswith(".")}


def test_delete_by_prefix_removes_rows_logs_and_blobs(stored: Stored) -> None:
    exec_id = _run(blobby, "a")
    assert _rows(stored, exec_id)["logs"] == 1 and len(_blob_files(stored)) == 1
    result = KitaruClient().executions.delete(exec_id[:13])
    assert isinstance(result, DeletionResult)
    assert result.exec_ids == (exec_id,) and result.by_flow == {"blobby": 1} and not result.dry_run
    assert (result.calls, result.attempts, result.artifacts, result.logs) == (2, 2, 4, 1)
    assert (result.blobs, result.bytes_freed) == (1, BIG + 2)  # a JSON string: quoted
    assert _rows(stored, exec_id) == dict.fromkeys(
        ("executions", "calls", "artifacts", "logs", "attempts"), 0
    )
    assert _blob_files(stored) == set()
    with pytest.raises(KitaruStateError, match=exec_id[:13]):
        KitaruClient().executions.get(exec_id[:13])
    assert result.to_dict()["executions"] == 1


def test_delete_refuses_an_empty_id(kitaru_home: Path) -> None:
    only = _run(tiny, 7)  # the one execution an empty prefix would match
    for ids in ((), ("",), (only, "  ")):
        with pytest.raises(KitaruUsageError):
            KitaruClient().executions.delete(*ids)
    assert [e.exec_id for e in KitaruClient().executions.list()] == [only]


def test_a_blob_shared_by_content_with_a_kept_execution_stays(stored: Stored) -> None:
    doomed, kept = _run(blobby, "s"), _run(blobby, "s")
    (blob,) = _blob_files(stored)
    result = KitaruClient().executions.delete(doomed)
    assert result.blobs == 0 and result.bytes_freed == 0
    assert blob.exists()
    execution = KitaruClient().executions.get(kept)
    assert [c.artifacts[0].load() for c in execution.checkpoints] == ["s" * BIG, BIG]
    assert kitaru.load(kept, "make") == "s" * BIG
    assert KitaruClient().executions.delete(kept).blobs == 1
    assert not blob.exists()


def test_cached_and_replayed_calls_keep_the_outputs_of_a_deleted_source(stored: Stored) -> None:
    source = _run(cached_blobby, "c")
    hit = _run(cached_blobby, "c")
    replay = cached_blobby.replay(source, from_="measure")
    replay.wait(timeout=30)
    client = KitaruClient()
    assert [c.status.value for c in client.executions.get(hit).checkpoints] == ["cached", "completed"]
    result = client.executions.delete(source)
    assert result.adopted_artifacts == 2 and result.blobs == 0
    assert _dangling(stored) == []
    for exec_id in (hit, replay.exec_id):
        assert kitaru.load(exec_id, "cached_make") == "c" * BIG
        outputs = [c.artifacts[0] for c in client.executions.get(exec_id).checkpoints]
        assert [a.exec_id for a in outputs] == [exec_id, exec_id]
    again = cached_blobby.replay(replay.exec_id, from_="measure")  # the copies are replayable
    assert again.wait(timeout=30) == BIG
    assert client.executions.delete(hit, replay.exec_id, again.exec_id).blobs == 1
    assert _blob_files(stored) == set()


def test_prune_dry_run_deletes_nothing_and_counts_what_would_go(stored: Stored) -> None:
    ids = [_run(blobby, "d"), _run(blobby, "e"), _run(tiny, 1)]
    client = KitaruClient()
    planned = client.executions.prune(older_than="0s", dry_run=True)
    assert planned.dry_run and planned.exec_ids == tuple(ids)
    assert planned.by_flow == {"blobby": 2, "tiny": 1}
    assert (planned.blobs, planned.bytes_freed) == (2, 2 * (BIG + 2))
    assert [e.exec_id for e in client.executions.list()] == ids[::-1]
    assert len(_blob_files(stored)) == 2
    done = client.executions.prune(older_than=dt.timedelta(0))
    assert _same_but_dry_run(planned, done)
    assert client.executions.list() == [] and _blob_files(stored) == set()


def _same_but_dry_run(planned: DeletionResult, done: DeletionResult) -> bool:
    return planned.to_dict() | {"dry_run": False} == done.to_dict()


def test_prune_by_age_status_and_keep_last(kitaru_home: Path) -> None:
    first, second, third = _run(tiny, 1), _run(tiny, 2), _run(tiny, 3)
    other = _run(blobby, "x")
    failed = blobby.run(None)
    with pytest.raises(kitaru.KitaruExecutionError):
        failed.wait(timeout=30)
    client = KitaruClient()
    assert client.executions.prune(older_than="1d").exec_ids == ()
    assert client.executions.prune(older_than="0s", status="failed").exec_ids == (failed.exec_id,)
    kept = client.executions.prune(older_than="0s", keep_last=2, dry_run=True)
    assert kept.exec_ids == (first,)  # blobby has only one completed execution left
    assert client.executions.prune(keep_last=1, status=["completed", ExecutionStatus.CANCELLED]).exec_ids == (
        first,
        second,
    )
    assert [e.exec_id for e in client.executions.list()] == [other, third]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "older_than= or keep_last="),
        ({"older_than": "30"}, "Invalid duration '30'"),
        ({"older_than": "1.5d"}, "whole number"),
        ({"older_than": "-3d"}, "Invalid duration"),
        ({"older_than": "3 days"}, "Invalid duration"),
        ({"older_than": dt.timedelta(days=-1)}, "must not be negative"),
        ({"older_than": 30}, "timedelta or a duration"),
        ({"keep_last": -1}, "keep_last must be"),
        ({"keep_last": True}, "keep_last must be"),
        ({"older_than": "1d", "status": "done"}, "Unknown execution status 'done'"),
        ({"older_than": "1d", "status": []}, "names no status"),
        ({"older_than": "1d", "status": 3}, "a status or a list"),
    ],
)
def test_prune_refuses_unclear_policies(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(KitaruUsageError, match=message):
        KitaruClient().executions.prune(**kwargs)  # type: ignore[arg-type]


def test_durations() -> None:
    assert parse_duration("30d") == dt.timedelta(days=30)
    assert parse_duration(" 12h ") == dt.timedelta(hours=12)
    assert parse_duration("90m") == parse_duration("90min") == dt.timedelta(minutes=90)
    assert parse_duration("2w") == dt.timedelta(weeks=2)
    assert parse_duration("0s") == dt.timedelta(0)
    for bad in ("", "d", "30", "1.5d", "+3d", "3D", "３d", "10y", "9" * 30 + "w"):
        with pytest.raises(KitaruUsageError):
            parse_duration(bad)


gate = threading.Event()


@checkpoint
def blocked() -> int:
    gate.wait(timeout=60)
    return 1


@flow
def held() -> int:
    return blocked()


def test_a_live_running_execution_is_refused_and_skipped(kitaru_home: Path) -> None:
    gate.clear()
    done = _run(tiny, 5)
    handle = held.run()
    client = KitaruClient()
    try:
        wait_until(lambda: client.executions.get(handle.exec_id).status is ExecutionStatus.RUNNING)
        with pytest.raises(KitaruStateError, match="alive") as info:
            client.executions.delete(done, handle.exec_id)
        assert f"kitaru executions cancel {handle.exec_id}" in str(info.value)
        assert client.executions.get(done).exec_id == done  # nothing deleted
        pruned = client.executions.prune(older_than="0s", status=["running", "completed"])
        assert pruned.exec_ids == (done,)
        assert handle.exec_id in pruned.skipped and "alive" in pruned.skipped[handle.exec_id]
    finally:
        gate.set()
    assert handle.wait(timeout=30) == 1
    assert client.executions.delete(handle.exec_id).exec_ids == (handle.exec_id,)


def _dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_an_orphaned_or_abandoned_execution_can_be_deleted(kitaru_home: Path) -> None:
    store = default_stores().metadata
    this_process = RunnerIdentity.parse(new_runner_id())
    assert this_process is not None
    now = utcnow()
    orphan = ExecutionRecord(
        exec_id=new_id(),
        flow_name="gone",
        status=ExecutionStatus.RUNNING,
        created_at=now,
        updated_at=now,
        runner_id=str(dataclasses.replace(this_process, pid=_dead_pid())),  # certainly dead
        heartbeat_at=now,
    )
    left = ExecutionRecord(  # waits for input; its runner released it
        exec_id=new_id(), flow_name="gone", status=ExecutionStatus.WAITING, created_at=now, updated_at=now
    )
    store.create_execution(orphan)
    store.create_execution(left)
    client = KitaruClient()
    assert client.executions.get(orphan.exec_id).orphaned
    assert client.executions.prune(older_than="0s").exec_ids == ()  # not ended: not by default
    pruned = client.executions.prune(older_than="0s", status=["running", "waiting"])
    assert set(pruned.exec_ids) == {orphan.exec_id, left.exec_id} and pruned.skipped == {}


def test_prune_sweeps_old_blobs_no_artifact_uses(stored: Stored) -> None:
    kept = _run(blobby, "k")
    blobs = LocalArtifactStore(stored.blobs)
    stray_old = blobs.put(b"left by a write whose row was never committed" * 4000)
    stray_new = blobs.put(b"a write in progress" * 4000)
    past = time.time() - BLOB_GRACE_SECONDS - 60
    for key in (stray_old, *(p.parent.name + p.name for p in _blob_files(stored))):
        if key != stray_new:
            os.utime(blobs.path_for(key), (past, past))
    planned = KitaruClient().executions.prune(older_than="1d", dry_run=True)
    assert planned.exec_ids == () and planned.blobs == 1 and blobs.exists(stray_old)
    result = KitaruClient().executions.prune(older_than="1d")
    assert (result.blobs, result.bytes_freed) == (1, planned.bytes_freed)
    assert not blobs.exists(stray_old) and blobs.exists(stray_new)
    assert kitaru.load(kept, "make") == "k" * BIG  # an old blob a row uses stays


def test_a_blob_stored_again_during_a_deletion_stays(stored: Stored) -> None:
    blobs = LocalArtifactStore(stored.blobs)
    key = blobs.put(b"x" * 100)
    later = os.stat(blobs.path_for(key)).st_mtime
    assert blobs.delete([key], unless_stored_after=later) == {}
    past = later - 10
    os.utime(blobs.path_for(key), (past, past))
    assert blobs.put(b"x" * 100) == key  # stored again: its time is refreshed
    assert blobs.delete([key], unless_stored_after=later) == {}
    assert blobs.delete([key, "0" * 64]) == {key: 100}
    assert not blobs.exists(key) and list(blobs.list_blobs()) == []
