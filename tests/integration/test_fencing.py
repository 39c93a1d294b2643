"""A runner that stalls past its lease is fenced off: another process takes the execution over,
and when the stalled runner wakes up it stops without running or writing anything more.

The stall is real: the runner is a separate process, stopped with SIGSTOP between two
checkpoints and continued with SIGCONT once another process has resumed the execution and
completed it. Every checkpoint appends a line to a side-effect file, so a checkpoint that
ran twice shows.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from tests._helpers import wait_until
from tests._modes import another_home
from tests._scripts import env_for
from tests.cli.conftest import kitaru_command

import kitaru
from kitaru import KitaruClient
from kitaru.store.sql import SqlStore

pytestmark = [
    pytest.mark.skipif(not hasattr(signal, "SIGSTOP"), reason="needs SIGSTOP"),
    pytest.mark.both_modes,
]

SCRIPT = textwrap.dedent(
    """
    import os
    import time
    from pathlib import Path

    from kitaru import checkpoint, flow

    HERE = Path(__file__).resolve().parent


    def effect(name):
        with open(HERE / "effects.log", "a") as f:
            f.write(f"{name} {os.getpid()}\\n")


    @checkpoint
    def first() -> int:
        effect("first")
        return 1


    @checkpoint
    def second(x: int) -> int:
        effect("second")
        return x + 1


    @checkpoint
    def third(x: int) -> int:
        effect("third")
        return x + 1


    @flow
    def stalls() -> int:
        x = first()
        marker = os.environ.get("STALL_MARKER")
        if marker:  # only the first runner stalls here
            Path(marker).write_text("between first and second")
            time.sleep(float(os.environ["STALL_SECONDS"]))
        return third(second(x))


    if __name__ == "__main__":
        handle = stalls.run()
        print(handle.exec_id, flush=True)
        print("result", handle.wait(), flush=True)
    """
)

LEASE = {"KITARU_HEARTBEAT_SECONDS": "0.1", "KITARU_LEASE_SECONDS": "1"}


def _snapshot(db: Path, exec_id: str) -> tuple[Any, ...]:
    """What the store holds of the execution: its row, every call with its attempts, every artifact."""
    store = SqlStore.open_sqlite(db)
    try:
        return (
            store.get_execution(exec_id),
            store.list_calls(exec_id, artifacts=True),
            store.list_artifacts(exec_id),
        )
    finally:
        store.close()


def _effects(work: Path) -> list[tuple[str, int]]:
    lines = (work / "effects.log").read_text().splitlines()
    return [(name, int(pid)) for name, pid in (line.split() for line in lines)]


def test_a_runner_stopped_past_its_lease_is_fenced_off_after_another_took_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store_mode: str
) -> None:
    work, home, marker = tmp_path / "work", tmp_path / "home", tmp_path / "stalled"
    work.mkdir()
    (work / "stalling.py").write_text(SCRIPT)
    env = env_for(home, **LEASE)
    # Where the runners keep the execution: their data directory, or the test's server.
    db = tmp_path / "server" / "kitaru.db" if store_mode == "server" else home / "kitaru.db"
    for name, value in LEASE.items():
        monkeypatch.setenv(name, value)  # this process judges the lease as the runners do

    stale = subprocess.Popen(
        [sys.executable, "stalling.py"],
        cwd=work,
        env={**env, "STALL_MARKER": str(marker), "STALL_SECONDS": "3"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert stale.stdout is not None
        exec_id = stale.stdout.readline().strip()
        wait_until(marker.exists, timeout=60)
        stale.send_signal(signal.SIGSTOP)  # a laptop lid closed between two checkpoints

        with another_home(home):
            client = KitaruClient()
            wait_until(lambda: client.executions.get(exec_id).orphaned, timeout=30)
            resumed = subprocess.run(
                [*kitaru_command(), "executions", "resume", exec_id, "-o", "json"],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert resumed.returncode == 0, resumed.stderr
            done = client.executions.get(exec_id)
        assert done.status is kitaru.ExecutionStatus.COMPLETED, done.failure
        taken_over = _snapshot(db, exec_id)
        assert taken_over[0].epoch == 2

        stale.send_signal(signal.SIGCONT)  # the lid opens: the stale runner wakes up
        out, err = stale.communicate(timeout=120)
    finally:
        if stale.poll() is None:
            stale.kill()
            stale.wait(timeout=30)

    # It said why it stopped, and followed the execution to its end elsewhere.
    assert f"execution {exec_id} was taken over by another runner (epoch 1 → 2)" in err, err
    assert "this runner stopped" in err, err
    assert stale.returncode == 0, err
    assert out.splitlines()[-1] == "result 3", out
    # Every checkpoint ran exactly once: the first in the stale runner, the rest in the resumer.
    effects = _effects(work)
    assert [name for name, _ in effects] == ["first", "second", "third"], effects
    assert effects[0][1] == stale.pid and {pid for _, pid in effects[1:]} != {stale.pid}
    # The stale runner wrote nothing after the takeover: no attempt, call, artifact or status change.
    assert _snapshot(db, exec_id) == taken_over
    final = taken_over[0]
    assert final.status is kitaru.ExecutionStatus.COMPLETED
    assert sum(len(c.attempts) for c in taken_over[1]) == 3
