"""SIGKILL at random points, then recovery in a new process: nothing completed runs twice.

Each trial forks a process that runs a flow on its own fresh data directory
and kills it with SIGKILL at a random point of its progress: before the execution exists,
between checkpoints, inside a checkpoint, while a large output is hashed and
written to the artifact store, while the store commits; and, in some trials,
exactly at two points a clock cannot aim at: right after the flow's wait was
recorded (the runner dies before it polls for the answer or releases the
execution), and in the middle of a blob write (its temporary file written, not
yet renamed). A second forked process then recovers the execution: it answers
the pending wait (which continues the execution) or resumes the orphan. The trial
checks the result, that no checkpoint that had completed before the kill ran
again, and the integrity of the store and the artifact directory, with no
temporary file of a killed blob write left behind.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import random
import signal
import sqlite3
import sys
import time
import traceback
from pathlib import Path

import pytest

import kitaru
from kitaru import KitaruClient, checkpoint, flow
from kitaru.store.sql import SqlStore

pytestmark = [pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork"), pytest.mark.both_modes]

TRIALS = int(os.environ.get("KITARU_CRASH_TRIALS", "60"))
STEPS = 6
WAIT_AFTER = 2  # the flow waits for input after this step
ANSWER = 7
BIG = 200_000  # bytes: stored as a blob in the artifact store, not inline
KILL_POINTS = ("clock", "clock", "clock", "after_wait_recorded", "mid_blob_write")


def _mark(line: str) -> None:
    fd = os.open(os.environ["KITARU_TRIAL_SIDE_EFFECTS"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


@checkpoint
def crunch(i: int, pause: float) -> bytes | int:
    _mark(f"start crunch{'' if i == 0 else f'_{i + 1}'}")
    time.sleep(pause)
    if i % 2:  # every other output is large: hashed and written to the artifact store
        return hashlib.sha256(str(i).encode()).digest() * (BIG // 32)
    return i * i


@flow
def crashable(pauses: list[float]) -> int:
    total = 0
    for i in range(STEPS):
        value = crunch(i, pauses[i])
        total += len(value) if isinstance(value, bytes) else value
        if i == WAIT_AFTER:  # the runner records the wait and leaves at once (timeout 0)
            total += kitaru.wait(schema=int, name="approve", timeout=0)
    return total


EXPECTED = sum(i * i for i in range(0, STEPS, 2)) + BIG // 32 * 32 * len(range(1, STEPS, 2)) + ANSWER


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _arm(kill_point: str) -> None:
    """In the child only: die exactly at ``kill_point`` (wrapping what the flow calls there)."""
    if kill_point == "after_wait_recorded":
        begin_wait = SqlStore.begin_wait

        def begin_wait_then_die(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            begin_wait(self, *args, **kwargs)
            _die()

        SqlStore.begin_wait = begin_wait_then_die  # type: ignore[method-assign]
    elif kill_point == "mid_blob_write":
        replace = os.replace

        def replace_or_die(src, dst, *args, **kwargs):  # type: ignore[no-untyped-def]
            if str(src).endswith(".tmp"):
                _die()  # the temporary file is written and closed, not yet renamed into place
            return replace(src, dst, *args, **kwargs)

        os.replace = replace_or_die


def _in_child(fn, report: Path) -> int:  # type: ignore[no-untyped-def]
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        code = 1
        try:
            fn()
            code = 0
        except BaseException:
            report.write_text(traceback.format_exc())
        finally:
            sys.stdout.flush()
            os._exit(code)
    return pid


def _run_flow(home: Path, side: Path, pauses: list[float], ready: int, kill_point: str) -> None:
    os.environ["KITARU_HOME"] = str(home)
    os.environ["KITARU_TRIAL_SIDE_EFFECTS"] = str(side)
    client = KitaruClient()  # open (and create) the store first, so the kill lands in the flow itself
    _arm(kill_point)
    os.write(ready, b"1")
    handle = crashable.run(pauses)
    execution = client.executions.wait_for(handle.exec_id, timeout=60)
    if execution.pending_waits:  # the runner left at the wait: answering continues it here
        client.executions.input(execution.exec_id, wait="approve", value=ANSWER)
        client.executions.wait_for(execution.exec_id, timeout=60)


def _wait_for_starts(side: Path, count: int) -> None:
    """Return once ``count`` checkpoint attempts started, or after 30 s (a child that
    failed early is reported by the checks that follow)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if side.exists() and side.read_text().count("start ") >= count:
            return
        time.sleep(0.0005)


def _recover(home: Path, side: Path) -> None:
    os.environ["KITARU_HOME"] = str(home)
    os.environ["KITARU_TRIAL_SIDE_EFFECTS"] = str(side)
    client = KitaruClient()
    try:
        latest = client.executions.latest()
    except kitaru.KitaruNotFoundError:
        return  # killed before the execution existed: nothing to recover
    for _ in range(3):  # at most: resume the orphan, answer the wait it reaches, done
        execution = client.executions.get(latest.exec_id)
        if execution.status.is_terminal:
            break
        if execution.pending_waits:  # waiting, or its runner died right after recording the wait
            client.executions.input(execution.exec_id, wait="approve", value=ANSWER)
        else:
            assert execution.orphaned, f"the killed runner should be seen as gone: {execution}"
            client.executions.resume(execution.exec_id)
        client.executions.wait_for(execution.exec_id, timeout=60)
    done = client.executions.get(latest.exec_id)
    assert done.status is kitaru.ExecutionStatus.COMPLETED, done.failure


def _prune_all(home: Path) -> None:
    os.environ["KITARU_HOME"] = str(home)
    result = KitaruClient().executions.prune(older_than="0s", status=["completed", "failed", "cancelled"])
    assert result.executions <= 1, result


def _starts(side: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    if side.exists():
        for line in side.read_text().splitlines():
            name = line.removeprefix("start ")
            counts[name] = counts.get(name, 0) + 1
    return counts


def _completed_calls(db: Path) -> set[str]:
    if not db.exists():
        return set()
    store = SqlStore.open_sqlite(db)
    try:
        executions = store.list_executions(limit=5)
        assert len(executions) <= 1
        if not executions:
            return set()
        return {c.invocation_id for c in store.load_journal(executions[0].exec_id) if c.status.is_done}
    finally:
        store.close()


def _pending_waits(db: Path) -> set[str]:
    store = SqlStore.open_sqlite(db)
    try:
        (execution,) = store.list_executions(limit=5)
        return {c.invocation_id for c in store.list_pending_waits(execution.exec_id)}
    finally:
        store.close()


def check_integrity(home: Path) -> None:
    """The SQLite file is sound and every stored row points at complete data."""
    db = home / "kitaru.db"
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        rows = conn.execute("SELECT artifact_id, blob_key, sha256, size, data FROM artifacts").fetchall()
        outputs = conn.execute(
            "SELECT invocation_id, output_artifact_id FROM calls WHERE status IN ('completed', 'cached')"
        ).fetchall()
    known = {r[0] for r in rows}
    for artifact_id, blob_key, digest, size, data in rows:
        if blob_key is None:
            assert data is not None and len(data) == size, artifact_id
            assert hashlib.sha256(data).hexdigest() == digest, artifact_id
            continue
        blob = home / "artifacts" / blob_key[:2] / blob_key[2:]
        content = blob.read_bytes()
        assert len(content) == size and hashlib.sha256(content).hexdigest() == blob_key == digest
    for invocation_id, output_id in outputs:
        assert output_id in known, f"completed call {invocation_id} points at a missing artifact"


@pytest.mark.local_only(
    reason="kills runners inside the SQLite and blob-file writes of their own data directory and "
    "checks those files (forked children: no server thread may run in the parent)"
)
def test_sigkill_at_random_points_never_loses_or_repeats_completed_work(tmp_path: Path) -> None:
    seed = int(os.environ.get("KITARU_CRASH_SEED", time.time_ns() % 1_000_000))
    rng = random.Random(seed)
    outcomes = {
        "killed": 0,
        "finished_before_kill": 0,
        "before_first_checkpoint": 0,
        "partial": 0,
        "re_ran_incomplete": 0,
        **{f"armed_{point}": 0 for point in KILL_POINTS if point != "clock"},
    }
    for trial in range(TRIALS):
        where = f"trial {trial} (KITARU_CRASH_SEED={seed})"
        home, side, report = tmp_path / f"t{trial}", tmp_path / f"t{trial}.side", tmp_path / f"t{trial}.err"
        pauses = [rng.choice([0.0, 0.001, 0.004]) for _ in range(STEPS)]
        kill_point = rng.choice(KILL_POINTS)
        where += f" killed at {kill_point}"
        ready_r, ready_w = os.pipe()
        pid = _in_child(functools.partial(_run_flow, home, side, pauses, ready_w, kill_point), report)
        os.close(ready_w)
        os.read(ready_r, 1)  # the child's store is open; the flow starts now
        os.close(ready_r)
        if kill_point == "clock":
            # Where the kill lands is chosen by the flow's progress, not by the clock alone, so a
            # loaded machine (a slower flow) moves no kill past the end: before the first
            # checkpoint, or a few milliseconds after the k-th checkpoint started.
            after_starts = rng.randint(0, STEPS)
            if after_starts:
                _wait_for_starts(side, after_starts)
            time.sleep(rng.uniform(0.0, 0.004))
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        else:
            outcomes[f"armed_{kill_point}"] += 1  # the child kills itself at that point
        _, status = os.waitpid(pid, 0)
        if os.WIFSIGNALED(status):
            outcomes["killed"] += 1
        else:
            assert os.WEXITSTATUS(status) == 0, f"{where}: the flow failed: {report.read_text()}"
            outcomes["finished_before_kill"] += 1
        if kill_point == "mid_blob_write":  # the kill really left a half-done write behind
            assert [p for p in home.rglob("*.tmp") if p.is_file()], f"{where}: no temporary file"
        elif kill_point == "after_wait_recorded":  # ... and a recorded wait its runner never saw
            assert "approve" in _pending_waits(home / "kitaru.db"), f"{where}: no pending wait"
        completed_before = _completed_calls(home / "kitaru.db")
        starts_before = _starts(side)
        if not (home / "kitaru.db").exists() or not starts_before:
            outcomes["before_first_checkpoint"] += 1
        elif len(completed_before) < STEPS:
            outcomes["partial"] += 1

        pid = _in_child(functools.partial(_recover, home, side), report)
        _, status = os.waitpid(pid, 0)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, (
            f"{where}: recovery failed: {report.read_text() if report.exists() else status}"
        )

        # Opening the store in the recovering process removed what a write killed midway left.
        leftovers = sorted(str(p) for p in home.rglob("*.tmp") if p.is_file()) if home.exists() else []
        assert not leftovers, f"{where}: temporary files survived recovery: {leftovers}"
        starts_after = _starts(side)
        for name in completed_before:
            assert starts_after.get(name) == starts_before.get(name), f"{where}: completed {name} ran again"
        if any(starts_after[n] > c for n, c in starts_before.items() if n not in completed_before):
            outcomes["re_ran_incomplete"] += 1  # killed inside a checkpoint: it runs again, as it must
        if (home / "kitaru.db").exists() and completed_before | set(starts_after):
            check_integrity(home)
            store = SqlStore.open_sqlite(home / "kitaru.db")
            try:
                executions = store.list_executions(limit=5)
                if executions:
                    (execution,) = executions
                    assert execution.status is kitaru.ExecutionStatus.COMPLETED, where
                    result = store.get_artifact(execution.result_artifact_id)
                    assert result.data == str(EXPECTED).encode(), where
                    done = {
                        c.invocation_id for c in store.load_journal(execution.exec_id) if c.status.is_done
                    }
                    assert len(done) == STEPS + 1, where  # the checkpoints and the wait
            finally:
                store.close()
        # A prune of everything removes what the kill left without harming the store.
        if (home / "kitaru.db").exists():
            pid = _in_child(functools.partial(_prune_all, home), report)
            _, status = os.waitpid(pid, 0)
            assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, (
                f"{where}: prune failed: {report.read_text() if report.exists() else status}"
            )
            assert not [p for p in home.rglob("*.tmp") if p.is_file()], f"{where}: .tmp after prune"
            check_integrity(home)
    # the random delays must actually have interrupted runs, not only watched them finish
    print(f"crash trials: {outcomes}")
    assert outcomes["killed"] >= TRIALS // 3, outcomes
    assert outcomes["partial"] >= TRIALS // 5, outcomes
