"""Ctrl-C on ``python my_flow.py``: the first cancels, the second exits at once (real SIGINTs)."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest
from tests._helpers import wait_until
from tests._modes import another_home
from tests._scripts import env_for

import kitaru
from kitaru import KitaruClient

pytestmark = pytest.mark.both_modes

SCRIPT = textwrap.dedent(
    """
    import os
    import time
    from pathlib import Path

    from kitaru import checkpoint, flow

    HERE = Path(__file__).resolve().parent


    @checkpoint
    def step(i: int) -> int:
        with open(HERE / "steps.log", "a") as f:
            f.write(f"{i}\\n")
        time.sleep(float(os.environ["STEP_SECONDS"]))
        return i


    @flow
    def loop(n: int) -> int:
        return sum(step(i) for i in range(n))


    if __name__ == "__main__":
        handle = loop.run(1000)
        print(handle.exec_id, flush=True)
        print("result", handle.wait(), flush=True)
    """
)

INTERNAL = ("ExecutionCancelled", "RunnerReleased", "KeyboardInterrupt")


class Script:
    """``python script.py`` in its own directory and data home; stderr collected as it comes."""

    def __init__(self, tmp_path: Path, step_seconds: float) -> None:
        (tmp_path / "script.py").write_text(SCRIPT)
        self.dir = tmp_path
        self.home = tmp_path / "home"
        env = env_for(self.home, STEP_SECONDS=str(step_seconds))
        self.proc = subprocess.Popen(
            [sys.executable, "script.py"],
            cwd=tmp_path,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.err: list[str] = []
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()
        assert self.proc.stdout is not None
        self.exec_id = self.proc.stdout.readline().strip()
        assert self.exec_id, f"the script printed no exec id: {self.stderr()}"

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.err.append(line)

    def stderr(self) -> str:
        return "".join(self.err)

    def steps(self) -> int:
        path = self.dir / "steps.log"
        return len(path.read_text().split()) if path.exists() else 0

    def interrupt(self) -> None:
        self.proc.send_signal(signal.SIGINT)

    def finish(self, timeout: float = 60.0) -> tuple[int, str, str]:
        assert self.proc.stdout is not None
        out = self.proc.stdout.read()
        code = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=timeout)
        return code, out, self.stderr()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=60)

    def execution(self) -> Any:
        with another_home(self.home):
            return KitaruClient().executions.get(self.exec_id)


def test_first_ctrl_c_cancels_the_execution_at_the_next_boundary(tmp_path: Path) -> None:
    script = Script(tmp_path, step_seconds=0.02)
    try:
        wait_until(lambda: script.steps() >= 2, timeout=60)
        script.interrupt()
        code, out, err = script.finish()
    finally:
        script.kill()
    exec_id, pid = script.exec_id, script.proc.pid
    assert code == 1, err  # handle.wait() raised: the execution was cancelled
    assert "result" not in out
    said = [line for line in err.splitlines() if line.startswith("kitaru: Ctrl-C")]
    assert said == [
        f"kitaru: Ctrl-C: cancelling execution {exec_id}; it stops at its next checkpoint or wait and "
        "ends 'cancelled'. Press Ctrl-C again to exit at once."
    ], err
    assert (
        f"kitaru.errors.KitaruExecutionError: Execution {exec_id} of flow 'loop' was cancelled: "
        f"Ctrl-C in process {pid} asked to cancel it; it stopped at its next checkpoint or wait."
    ) in err
    assert not [word for word in INTERNAL if word in err], err
    done = script.execution()
    assert done.status is kitaru.ExecutionStatus.CANCELLED and not done.orphaned
    assert done.failure is not None and done.failure.origin == "cancelled"
    assert not [word for word in INTERNAL if word in str(done.failure)]
    assert script.steps() < 1000 and len(done.checkpoints) == script.steps()


def test_second_ctrl_c_exits_at_once_and_leaves_a_recoverable_orphan(tmp_path: Path) -> None:
    script = Script(tmp_path, step_seconds=600)  # inside a checkpoint that does not end by itself
    try:
        wait_until(lambda: script.steps() >= 1, timeout=60)
        script.interrupt()
        wait_until(lambda: "Press Ctrl-C again to exit at once." in script.stderr(), timeout=60)
        script.interrupt()
        code, _, err = script.finish()
    finally:
        script.kill()
    exec_id = script.exec_id
    assert code == 130, err
    assert (
        f"kitaru: second Ctrl-C: exiting at once. Execution {exec_id} did not stop and is left orphaned "
        f"(status 'running', no runner); end it with: kitaru executions cancel {exec_id}"
    ) in err
    assert not [word for word in INTERNAL if word in err], err
    left = script.execution()
    assert left.status is kitaru.ExecutionStatus.RUNNING and left.orphaned
    with another_home(script.home):
        cancelled = KitaruClient().executions.cancel(exec_id)
    assert cancelled.status is kitaru.ExecutionStatus.CANCELLED
