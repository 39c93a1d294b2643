"""Benchmark cases of the lifecycle: input, continuation after the runner left, recovery.

Each takes a fresh temporary directory and returns one number.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kitaru
from kitaru import KitaruClient, checkpoint, flow
from kitaru.testing import isolated_home

# perf_counter() when a checkpoint after a wait starts running (same process as the bench).
_LIVE_STARTED: list[float] = []


@checkpoint
def before_wait(i: int) -> int:
    return i + 1


@checkpoint
def after_wait(i: int, answer: int) -> int:
    _LIVE_STARTED.append(time.perf_counter())
    return i + answer


@flow(cache=False)
def gated(i: int) -> int:
    base = before_wait(i)
    answer = kitaru.wait(schema=int, question="Go on?", timeout=60)
    return after_wait(base, answer)


@flow(cache=False)
def long_then_gated(n: int) -> int:
    total = 0
    for i in range(n):
        total += before_wait(i)
    answer = kitaru.wait(schema=int, question="Go on?", timeout=0.05)
    return after_wait(total, answer)


def _poll(predicate: Callable[[], Any], timeout: float = 120.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.005)
    raise TimeoutError(f"condition not reached within {timeout} s")


def _live_started_after(t0: float) -> float:
    _poll(lambda: _LIVE_STARTED and _LIVE_STARTED[-1] >= t0, timeout=60)
    return _LIVE_STARTED[-1]


def input_to_next_checkpoint_ms(tmp: Path, n: int = 10) -> float:
    """Input given while the runner polls: time until the next checkpoint's body starts (median of n)."""
    times = []
    with isolated_home(tmp / "home"):
        client = KitaruClient()
        for i in range(n):
            handle = gated.run(i)
            _poll(lambda h=handle: client.executions.pending_waits(h.exec_id))
            t0 = time.perf_counter()
            client.executions.input(handle.exec_id, value=1)
            started = _live_started_after(t0)
            handle.wait(timeout=60)
            times.append(started - t0)
    times.sort()
    return times[len(times) // 2] * 1000


def resume_1000_first_live_ms(tmp: Path, n: int = 1000) -> float:
    """1,000 completed checkpoints, a wait whose runner left: from calling input() to the
    first live checkpoint after the wait starting (continued in this process)."""
    with isolated_home(tmp / "home"):
        client = KitaruClient()
        handle = long_then_gated.run(n)

        def released() -> bool:
            record = client.executions.list(flow="long_then_gated", limit=1)[0]
            return record.status is kitaru.ExecutionStatus.WAITING and record.runner_id is None

        _poll(released)
        t0 = time.perf_counter()
        client.executions.input(handle.exec_id, value=1)
        started = _live_started_after(t0)
        handle.wait(timeout=120)
        return (started - t0) * 1000


RECOVERY_SCRIPT = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    from kitaru import checkpoint, flow

    MARKER = Path(__file__).resolve().parent / "failed_once"


    @checkpoint
    def step(i: int) -> int:
        if i == 40 and not MARKER.exists():
            MARKER.touch()
            raise RuntimeError("checkpoint 40 fails the first time")
        return i


    @flow
    def fifty() -> int:
        return sum(step(i) for i in range(1, 51))


    if __name__ == "__main__":
        handle = fifty.run()
        print(handle.exec_id, flush=True)
        try:
            handle.wait(timeout=300)
        except Exception as exc:
            print(type(exc).__name__, flush=True)
    """
)

RECOVER = (
    "import sys\n"
    "from kitaru import KitaruClient\n"
    "executions = KitaruClient().executions\n"
    "executions.retry(sys.argv[1])\n"
    "print(executions.wait_for(sys.argv[1], timeout=300).status.value)\n"
)


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("KITARU_STORE_URL", "KITARU_ARTIFACTS_DIR")}
    env["KITARU_HOME"] = str(home)
    return env


def recovery_50_at_40_s(tmp: Path) -> float:
    """A 50-checkpoint execution failed at checkpoint 40: wall time of a new process that
    retries it to ``completed`` (interpreter start and imports included)."""
    script = tmp / "fifty.py"
    script.write_text(RECOVERY_SCRIPT)
    env = _env(tmp / "home")
    first = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    exec_id, outcome = first.stdout.split()
    if outcome != "KitaruUserCodeError":
        raise RuntimeError(f"the first run should fail at checkpoint 40, got {outcome}: {first.stderr}")
    t = time.perf_counter()
    second = subprocess.run(
        [sys.executable, "-c", RECOVER, exec_id],
        cwd=tmp,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )
    elapsed = time.perf_counter() - t
    if second.returncode != 0 or second.stdout.strip() != "completed":
        raise RuntimeError(f"recovery did not complete: {second.stdout} {second.stderr}")
    return elapsed


def process_import_kitaru_s(tmp: Path) -> float:
    """Wall time of a bare ``python -c "import kitaru"`` process: the floor of any recovery process."""
    t = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", "import kitaru"], cwd=tmp, env=_env(tmp / "home"), check=True, timeout=120
    )
    return time.perf_counter() - t
