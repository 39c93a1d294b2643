"""Benchmark cases of the ``kitaru`` command: whole-process wall time of real invocations.

Each takes a fresh temporary directory and returns one number: the median of
several runs of the command in new processes, after one warm-up run.

Two flavours: "installed" lets the processes use compiled bytecode (as an
installed package does: pip compiles it, and Python caches what it compiles;
the cache goes to the temporary directory, filled by the warm-up run), and
"as run here" inherits this environment unchanged, where
``PYTHONDONTWRITEBYTECODE=1`` makes every process compile Kitaru's sources again.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from kitaru._types import ExecutionStatus, new_id
from kitaru.records import ExecutionRecord
from kitaru.store.base import MetadataStore
from kitaru.testing import isolated_home

RUNS = 7
STATUSES = [ExecutionStatus.COMPLETED] * 8 + [ExecutionStatus.FAILED, ExecutionStatus.WAITING]


def kitaru_command() -> list[str]:
    """The installed ``kitaru`` console script beside this interpreter (else ``python -m kitaru``)."""
    script = Path(sys.executable).with_name("kitaru")
    if script.exists():
        return [str(script)]
    found = shutil.which("kitaru")
    return [found] if found else [sys.executable, "-m", "kitaru"]


def fill_store(home: Path, n: int) -> None:
    """Write ``n`` ended executions straight through the store API (no flows run)."""
    from kitaru._connect import default_stores

    with isolated_home(home):
        fill(default_stores().metadata, n)


def fill(store: MetadataStore, n: int) -> None:
    """Write ``n`` ended executions into ``store`` (no flows run)."""
    start = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=n)
    for i in range(n):
        created = start + dt.timedelta(seconds=i)
        status = STATUSES[i % len(STATUSES)]
        store.create_execution(
            ExecutionRecord(
                exec_id=new_id(),
                flow_name=f"flow_{i % 7}",
                status=status,
                created_at=created,
                updated_at=created,
                started_at=created,
                ended_at=None if status is ExecutionStatus.WAITING else created + dt.timedelta(seconds=1),
                spec={"options": {"cache": True, "retries": 0, "stack": "default", "image": None}},
                source={"module": "bench", "qualname": f"flow_{i % 7}", "path": None},
                run_count=1,
            )
        )


def _median_wall_ms(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    times = []
    for i in range(RUNS + 1):
        t = time.perf_counter()
        subprocess.run(argv, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
        if i:  # the first run warms the OS caches
            times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def _env(tmp: Path, *, bytecode: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KITARU_")}
    env["KITARU_HOME"] = str(tmp / "home")
    if bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
    return env


def help_ms(tmp: Path) -> float:
    """``kitaru --help``, installed: median whole-process wall time (ms)."""
    return _median_wall_ms([*kitaru_command(), "--help"], _env(tmp, bytecode=True), tmp)


def help_as_run_here_ms(tmp: Path) -> float:
    """``kitaru --help`` in this environment unchanged (ms)."""
    return _median_wall_ms([*kitaru_command(), "--help"], _env(tmp, bytecode=False), tmp)


def executions_list_10k_ms(tmp: Path) -> float:
    """``kitaru executions list`` (text, piped) on a store of 10,000 executions, installed (ms)."""
    fill_store(tmp / "home", 10_000)
    return _median_wall_ms([*kitaru_command(), "executions", "list"], _env(tmp, bytecode=True), tmp)


def executions_list_10k_json_ms(tmp: Path) -> float:
    """The same with ``-o json`` (ms)."""
    fill_store(tmp / "home", 10_000)
    argv = [*kitaru_command(), "executions", "list", "-o", "json"]
    return _median_wall_ms(argv, _env(tmp, bytecode=True), tmp)


def executions_list_10k_as_run_here_ms(tmp: Path) -> float:
    """``kitaru executions list`` on 10,000 executions in this environment unchanged (ms)."""
    fill_store(tmp / "home", 10_000)
    return _median_wall_ms([*kitaru_command(), "executions", "list"], _env(tmp, bytecode=False), tmp)
