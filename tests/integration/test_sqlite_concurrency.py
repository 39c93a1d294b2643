"""Many threads and processes open one fresh SQLite store at the same moment and write at once."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

from kitaru._types import CallKind, CallStatus, ExecutionStatus, new_id, utcnow
from kitaru.store.base import ArtifactRecord, AttemptRecord, CallRecord, ExecutionRecord
from kitaru.store.sql import SqlStore

ROUNDS = 25
CALLS = 2
REPO = Path(__file__).resolve().parents[2]


def hammer(path: str, worker: str, rounds: int = ROUNDS) -> None:
    """Open the store and write ``rounds`` executions of ``CALLS`` completed calls each."""
    store = SqlStore.open_sqlite(path)
    try:
        for round_ in range(rounds):
            now = utcnow()
            exec_id = new_id()
            store.create_execution(
                ExecutionRecord(
                    exec_id, f"flow-{worker}", ExecutionStatus.PENDING, now, now, metadata={"r": round_}
                )
            )
            store.start_execution(exec_id, runner_id=worker)
            for seq in range(1, CALLS + 1):
                call = CallRecord(
                    new_id(),
                    exec_id,
                    f"step:{seq}",
                    seq,
                    "step",
                    CallKind.CHECKPOINT,
                    CallStatus.RUNNING,
                    now,
                )
                attempt = AttemptRecord(new_id(), call.call_id, 1, CallStatus.RUNNING, utcnow())
                store.find_cached_output(f"{worker}:{seq}", exclude_exec_id=exec_id)
                store.begin_attempt(call, attempt)
                output = ArtifactRecord(
                    artifact_id=new_id(),
                    exec_id=exec_id,
                    name="output",
                    kind="output",
                    serializer="json",
                    type_path="builtins.int",
                    size=1,
                    sha256="0" * 64,
                    created_at=utcnow(),
                    call_id=call.call_id,
                    data=b"1",
                )
                store.complete_call(call.call_id, attempt.attempt_id, output=output, ended_at=utcnow())
            store.finish_execution(exec_id, ExecutionStatus.COMPLETED)
    finally:
        store.close()


def _run_threads(
    path: str, count: int, go: threading.Event, prefix: str
) -> tuple[list[threading.Thread], list]:
    errors: list[BaseException] = []

    def work(name: str) -> None:
        go.wait()
        try:
            hammer(path, name)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(f"{prefix}{i}",)) for i in range(count)]
    for thread in threads:
        thread.start()
    return threads, errors


def _assert_counts(path: str, workers: int) -> None:
    executions = workers * ROUNDS
    with sqlite3.connect(path) as db:
        counts = {
            table: db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("executions", "calls", "attempts", "artifacts")
        }
        statuses = dict(db.execute("SELECT status, count(*) FROM calls GROUP BY status").fetchall())
        runners = db.execute("SELECT count(DISTINCT runner_id) FROM executions").fetchone()[0]
    assert counts == {
        "executions": executions,
        "calls": executions * CALLS,
        "attempts": executions * CALLS,
        "artifacts": executions * CALLS,
    }
    assert statuses == {"completed": executions * CALLS}
    assert runners == workers
    store = SqlStore.open_sqlite(path)
    try:
        listed = store.list_executions(status=ExecutionStatus.COMPLETED)
        assert len(listed) == executions
        assert all(e.run_count == 1 for e in listed)
    finally:
        store.close()


def test_threads_open_a_fresh_store_and_write_at_once(tmp_path: Path) -> None:
    path = str(tmp_path / "store.db")
    go = threading.Event()
    threads, errors = _run_threads(path, 16, go, "thread-")
    go.set()
    for thread in threads:
        thread.join(timeout=300)
    assert errors == []
    _assert_counts(path, 16)


_PROCESS_SCRIPT = """
import os, sys, time
from pathlib import Path
from tests.integration.test_sqlite_concurrency import hammer

path, name, ready_dir = sys.argv[1], sys.argv[2], Path(sys.argv[3])
(ready_dir / name).touch()
go = ready_dir / "go"
while not go.exists():
    time.sleep(0.001)
hammer(path, name)
"""


def test_processes_and_threads_open_a_fresh_store_and_write_at_once(tmp_path: Path) -> None:
    path = str(tmp_path / "store.db")
    ready = tmp_path / "ready"
    ready.mkdir()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "src")])}
    names = [f"process-{i}" for i in range(8)]
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _PROCESS_SCRIPT, path, name, str(ready)],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in names
    ]
    go = threading.Event()
    threads, errors = _run_threads(path, 8, go, "thread-")
    try:
        deadline = time.monotonic() + 120
        while not all((ready / name).exists() for name in names):
            assert time.monotonic() < deadline, "worker processes did not start"
            assert all(p.poll() is None for p in processes), "a worker process died before the start"
            time.sleep(0.01)
        assert not Path(path).exists(), "the store must be fresh when the workers start"
        (ready / "go").touch()
        go.set()
        outputs = [p.communicate(timeout=300) for p in processes]
    finally:
        go.set()
        for p in processes:
            if p.poll() is None:
                p.kill()
        for thread in threads:
            thread.join(timeout=300)
    failures = [
        f"{name}: {err}" for name, p, (_, err) in zip(names, processes, outputs, strict=True) if p.returncode
    ]
    assert failures == []
    assert errors == []
    _assert_counts(path, 16)
