"""The benchmark cases. Each takes a fresh temporary directory and returns one number."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kitaru import checkpoint, flow
from kitaru.testing import isolated_home

MIB = 1024 * 1024
_BLOBS: list[bytes] = []


@checkpoint
def trivial(i: int) -> int:
    return i + 1


@checkpoint
def one_mib(i: int) -> bytes:
    return _BLOBS[i]


@flow
def empty() -> None:
    return None


@flow
def sequential(n: int) -> int:
    total = 0
    for i in range(n):
        total += trivial(i)
    return total


@flow
def big_values(n: int) -> int:
    return sum(len(one_mib(i)) for i in range(n))


@flow
def fan_out(n: int) -> int:
    return sum(f.result() for f in [trivial.submit(i) for i in range(n)])


def import_time_ms(_: Path) -> float:
    code = "import time; t = time.perf_counter(); import kitaru; print((time.perf_counter() - t) * 1000)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


FIRST_FLOW_SCRIPT = """
import time
t = time.perf_counter()
from kitaru import flow

@flow
def empty() -> None:
    return None

empty.run().wait()
print((time.perf_counter() - t) * 1000)
"""


def first_flow_fresh_process_ms(tmp: Path, *, bytecode: bool = True) -> float:
    """Import + first empty execution in a fresh process on an existing store (in-process ms).

    The store is created by an earlier process (creating it may load SQLAlchemy
    and Alembic); the median of 7 fresh processes is returned. ``bytecode``: as
    installed (compiled modules cached), else in this environment unchanged.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("KITARU_")}
    env["KITARU_HOME"] = str(tmp / "home")
    if bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
    run = [sys.executable, "-c", FIRST_FLOW_SCRIPT]
    subprocess.run(run, env=env, capture_output=True, text=True, check=True)
    times = [
        float(subprocess.run(run, env=env, capture_output=True, text=True, check=True).stdout.strip())
        for _ in range(7)
    ]
    times.sort()
    return times[len(times) // 2]


def first_flow_fresh_process_as_run_here_ms(tmp: Path) -> float:
    """:func:`first_flow_fresh_process_ms` in this environment unchanged (``PYTHONDONTWRITEBYTECODE``)."""
    return first_flow_fresh_process_ms(tmp, bytecode=False)


def sqlite_commit_us(tmp: Path, n: int = 1000) -> float:
    """The store's floor: one small insert + commit, WAL and synchronous=NORMAL."""
    conn = sqlite3.connect(tmp / "floor.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)")
    start = time.perf_counter()
    for i in range(n):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t (v) VALUES (?)", (str(i).encode(),))
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed / n * 1e6


def _timed_flow(tmp: Path, start: Callable[[], object]) -> float:
    with isolated_home(tmp / "home"):
        empty.run().wait()  # open the store and warm up outside the timing
        t = time.perf_counter()
        start()
        return time.perf_counter() - t


def empty_flow_ms(tmp: Path) -> float:
    with isolated_home(tmp / "home"):
        empty.run().wait()
        times = []
        for _ in range(20):
            t = time.perf_counter()
            empty.run().wait()
            times.append(time.perf_counter() - t)
        times.sort()
        return times[len(times) // 2] * 1000


def per_checkpoint_ms(n: int) -> Callable[[Path], float]:
    def case(tmp: Path) -> float:
        with isolated_home(tmp / "home"):
            empty.run().wait()
            t = time.perf_counter()
            empty.run().wait()
            base = time.perf_counter() - t
            t = time.perf_counter()
            sequential.run(n).wait()
            total = time.perf_counter() - t
        return (total - base) / n * 1000

    return case


def one_mib_ms(tmp: Path, n: int = 20) -> float:
    if not _BLOBS:
        _BLOBS.extend(os.urandom(MIB) for _ in range(n))
    with isolated_home(tmp / "home"):
        empty.run().wait()
        t = time.perf_counter()
        empty.run().wait()
        base = time.perf_counter() - t
        t = time.perf_counter()
        big_values.run(n).wait()
        total = time.perf_counter() - t
    return (total - base) / n * 1000


_FAIL_AT_END = {"on": True}


@flow
def big_values_fail_at_end(n: int) -> int:
    total = sum(len(one_mib(i)) for i in range(n))
    if _FAIL_AT_END["on"]:
        raise RuntimeError("failing after the last checkpoint, to be retried")
    return total


def one_mib_reused_ms(tmp: Path, n: int = 20) -> float:
    """Per reused checkpoint returning 1 MiB: retry an execution whose 1 MiB outputs are all
    reused, so each one is read back from its blob and checked against its sha256."""

    if not _BLOBS:
        _BLOBS.extend(os.urandom(MIB) for _ in range(n))
    with isolated_home(tmp / "home"):
        return _timed_retry(big_values_fail_at_end, n, expected=n * MIB) / n * 1000


@flow
def fails_at_end(n: int) -> int:
    total = sequential_body(n)
    if _FAIL_AT_END["on"]:
        raise RuntimeError("failing after the last checkpoint, to be retried")
    return total


def sequential_body(n: int) -> int:
    total = 0
    for i in range(n):
        total += trivial(i)
    return total


def rerun_1000_s(tmp: Path) -> float:
    """Re-run 1,000 completed checkpoints: retry an execution that failed after its last one."""

    with isolated_home(tmp / "home"):
        return _timed_retry(fails_at_end, 1000, expected=sum(range(1, 1001)))


def _timed_retry(failing: Any, n: int, *, expected: int) -> float:
    """Run ``failing(n)`` (it fails after its last checkpoint), then time a retry that reuses
    every checkpoint and check the result."""
    from kitaru import KitaruClient

    _FAIL_AT_END["on"] = True
    handle = failing.run(n)
    with contextlib.suppress(Exception):
        handle.wait()
    _FAIL_AT_END["on"] = False
    t = time.perf_counter()
    KitaruClient().executions.retry(handle.exec_id)
    while not handle.status.is_terminal:
        time.sleep(0.001)
    elapsed = time.perf_counter() - t
    (result,) = KitaruClient().artifacts.list(handle.exec_id, kind="result")
    assert result.load() == expected
    return elapsed


def submit_100_s(tmp: Path) -> float:
    with isolated_home(tmp / "home"):
        empty.run().wait()
        t = time.perf_counter()
        fan_out.run(100).wait()
        return time.perf_counter() - t
