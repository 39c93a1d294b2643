"""Many threads and processes open one fresh SQLite store at the same moment and write at once,
or race to answer the same waits and claim the same executions."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kitaru._types import CallKind, CallStatus, ExecutionStatus, new_id, utcnow
from kitaru.records import ArtifactRecord, AttemptRecord, CallRecord, ExecutionRecord
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
                store.find_cached_call(f"{worker}:{seq}", exclude_exec_id=exec_id)
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
from typing import Any
from tests.integration.test_sqlite_concurrency import hammer

path, name, ready_dir = sys.argv[1], sys.argv[2], Path(sys.argv[3])
(ready_dir / name).touch()
go = ready_dir / "go"
while not go.exists():
    time.sleep(0.001)
hammer(path, name)
"""


def _spawn(script: str, path: str, names: list[str], ready: Path, *extra: str) -> list[subprocess.Popen[str]]:
    """Start one worker process per name; each touches ``ready/name`` and waits for ``ready/go``."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "src")])}
    return [
        subprocess.Popen(
            [sys.executable, "-c", script, path, name, str(ready), *extra],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in names
    ]


def _release_together(
    processes: list[subprocess.Popen[str]],
    names: list[str],
    ready: Path,
    go: threading.Event,
    threads: list[threading.Thread],
    before_go: Callable[[], None] = lambda: None,
) -> list[tuple[str, str]]:
    """Once every process is ready, let processes and threads go at the same moment;
    return the processes' (stdout, stderr), killing and joining whatever is left."""
    try:
        deadline = time.monotonic() + 120
        while not all((ready / name).exists() for name in names):
            assert time.monotonic() < deadline, "worker processes did not start"
            assert all(p.poll() is None for p in processes), "a worker process died before the start"
            time.sleep(0.01)
        before_go()
        (ready / "go").touch()
        go.set()
        return [p.communicate(timeout=300) for p in processes]
    finally:
        go.set()
        for p in processes:
            if p.poll() is None:
                p.kill()
        for thread in threads:
            thread.join(timeout=300)


def test_processes_and_threads_open_a_fresh_store_and_write_at_once(tmp_path: Path) -> None:
    path = str(tmp_path / "store.db")
    ready = tmp_path / "ready"
    ready.mkdir()
    names = [f"process-{i}" for i in range(8)]
    processes = _spawn(_PROCESS_SCRIPT, path, names, ready)
    go = threading.Event()
    threads, errors = _run_threads(path, 8, go, "thread-")

    def store_is_fresh() -> None:
        assert not Path(path).exists(), "the store must be fresh when the workers start"

    outputs = _release_together(processes, names, ready, go, threads, store_is_fresh)
    failures = [
        f"{name}: {err}" for name, p, (_, err) in zip(names, processes, outputs, strict=True) if p.returncode
    ]
    assert failures == []
    assert errors == []
    _assert_counts(path, 16)


def test_a_store_opens_while_another_connection_holds_the_fresh_file(tmp_path: Path) -> None:
    # SQLite refuses to switch a file to WAL at once ("database is locked", no busy wait) while
    # another connection holds a lock on it, as when threads and processes create one store.
    path = tmp_path / "store.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("CREATE TABLE placeholder (i INTEGER)")
    result: dict[str, Any] = {}

    def open_store() -> None:
        try:
            store = SqlStore.open_sqlite(path)
            result["listed"] = store.list_executions()
            store.close()
        except Exception as exc:
            result["error"] = exc

    opener = threading.Thread(target=open_store)
    opener.start()
    time.sleep(0.3)  # let the opener meet the lock (it must wait for it, not fail)
    holder.execute("ROLLBACK")
    holder.close()
    opener.join(timeout=120)
    assert "error" not in result, result
    assert result["listed"] == []


WAITS = 20


def _setup_waits(path: str) -> list[str]:
    """Create ``WAITS`` executions, each waiting for input on one pending wait; return the call ids."""
    store = SqlStore.open_sqlite(path)
    call_ids = []
    try:
        for index in range(WAITS):
            now = utcnow()
            exec_id = f"exec-{index:02d}"
            store.create_execution(ExecutionRecord(exec_id, "flow", ExecutionStatus.WAITING, now, now))
            wait = CallRecord(
                new_id(), exec_id, "approve:0", 1, "approve", CallKind.WAIT, CallStatus.RUNNING, now
            )
            store.begin_attempt(wait, AttemptRecord(new_id(), wait.call_id, 1, CallStatus.RUNNING, now))
            call_ids.append(wait.call_id)
    finally:
        store.close()
    return call_ids


def race(path: str, worker: str, call_ids: list[str]) -> list[str]:
    """Try to answer every wait and then to claim its execution; return what this worker won."""
    store = SqlStore.open_sqlite(path)
    won = []
    try:
        for index, call_id in enumerate(call_ids):
            exec_id = f"exec-{index:02d}"
            output = ArtifactRecord(
                artifact_id=new_id(),
                exec_id=exec_id,
                name="input",
                kind="input",
                serializer="json",
                type_path="builtins.str",
                size=len(worker) + 2,
                sha256="0" * 64,
                created_at=utcnow(),
                call_id=call_id,
                data=f'"{worker}"'.encode(),
            )
            if store.resolve_wait(call_id, output=output, metadata={"by": worker}, ended_at=utcnow()):
                won.append(f"wait:{call_id}")
            if store.claim_execution(exec_id, runner_id=worker, expected=[ExecutionStatus.WAITING]):
                won.append(f"claim:{exec_id}")
    finally:
        store.close()
    return won


_RACE_SCRIPT = """
import json, sys, time
from pathlib import Path
from typing import Any
from tests.integration.test_sqlite_concurrency import race

path, name, ready_dir, ids = sys.argv[1], sys.argv[2], Path(sys.argv[3]), sys.argv[4].split(",")
(ready_dir / name).touch()
go = ready_dir / "go"
while not go.exists():
    time.sleep(0.001)
print(json.dumps(race(path, name, ids)))
"""


def test_processes_and_threads_race_for_waits_and_claims(tmp_path: Path) -> None:
    path = str(tmp_path / "store.db")
    call_ids = _setup_waits(path)
    ready = tmp_path / "ready"
    ready.mkdir()
    names = [f"process-{i}" for i in range(4)]
    processes = _spawn(_RACE_SCRIPT, path, names, ready, ",".join(call_ids))
    results: dict[str, list[str]] = {}
    errors: list[BaseException] = []
    start = threading.Event()

    def work(name: str) -> None:
        start.wait()
        try:
            results[name] = race(path, name, call_ids)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(f"thread-{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    outputs = _release_together(processes, names, ready, start, threads)
    assert errors == []
    assert [err for p, (_, err) in zip(processes, outputs, strict=True) if p.returncode] == []
    for name, (out, _) in zip(names, outputs, strict=True):
        results[name] = json.loads(out)
    wins = [won for worker in results.values() for won in worker]
    expected = [f"wait:{c}" for c in call_ids] + [f"claim:exec-{i:02d}" for i in range(WAITS)]
    assert sorted(wins) == sorted(expected)
    store = SqlStore.open_sqlite(path)
    try:
        for index, call_id in enumerate(call_ids):
            exec_id = f"exec-{index:02d}"
            (answered,) = store.load_journal(exec_id)
            assert answered.status is CallStatus.COMPLETED and answered.output is not None
            winner = answered.metadata["by"]
            assert f"wait:{call_id}" in results[winner]
            assert answered.output.data == f'"{winner}"'.encode()
            assert len(store.list_artifacts(exec_id)) == 1
            claimed = store.get_execution(exec_id)
            assert claimed.run_count == 1 and f"claim:{exec_id}" in results[str(claimed.runner_id)]
    finally:
        store.close()
