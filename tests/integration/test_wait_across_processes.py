"""wait() and recovery across real processes, on one embedded store.

A script (``python script.py``, not a TTY) runs a flow that waits; another
process answers it or resumes it. Every process is a real one: the flow's code
reaches the other process only through the execution's source reference.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from tests._helpers import wait_until
from tests._modes import another_home

import kitaru
from kitaru import KitaruClient
from kitaru.models import Execution

pytestmark = pytest.mark.both_modes

SCRIPT = textwrap.dedent(
    """
    import os
    import sys
    import time
    from pathlib import Path

    import kitaru
    from kitaru import checkpoint, flow

    HERE = Path(__file__).resolve().parent


    def note(name, text):
        with open(HERE / name, "a") as f:
            f.write(f"{text}\\n")


    @checkpoint
    def prepare(x: int) -> int:
        note("prepare.log", os.getpid())
        return x * 10


    @checkpoint
    def finish(base: int, answer: int) -> int:
        note("finish.log", os.getpid())
        return base + answer


    @checkpoint
    def slow(base: int) -> int:
        note("slow.log", os.getpid())
        time.sleep(float(os.environ.get("SLOW_SECONDS", "0")))
        return base + 1


    @flow(cache=False)
    def asks(x: int, wait_timeout: float) -> int:
        base = prepare(x)
        answer = kitaru.wait(schema=int, question="How many more?", timeout=wait_timeout)
        return finish(base, answer)


    @flow(cache=False)
    def crashes(x: int) -> int:
        return slow(prepare(x))


    if __name__ == "__main__":
        note("main.log", os.getpid())
        mode = sys.argv[1]
        if mode == "crash":
            handle = crashes.run(int(sys.argv[2]))
        else:
            handle = asks.run(int(sys.argv[2]), float(sys.argv[3]))
        print(handle.exec_id, flush=True)
        if mode == "result":
            print(f"result={handle.wait(timeout=120)}", flush=True)
        elif mode == "timeout":
            try:
                handle.wait(timeout=1.0)
            except TimeoutError:
                print("TimeoutError", flush=True)
        elif mode == "crash":
            handle.wait()
        # mode "return": the script just ends; the process exits once the runner releases
    """
)

# The second process: answers the wait (or resumes), waits for the end, reports as JSON.
CLIENT = textwrap.dedent(
    """
    import json
    import sys

    import kitaru
    from kitaru import KitaruClient

    action, exec_id, last = sys.argv[1:4]
    executions = KitaruClient().executions
    before = executions.get(exec_id)
    report = {"orphaned_before": before.orphaned, "status_before": before.status.value}
    try:
        if action == "input":
            executions.input(exec_id, value=int(sys.argv[4]))
        else:
            executions.resume(exec_id)
    except kitaru.KitaruError as exc:
        report["error"] = f"{type(exc).__name__}: {exc}"
    else:
        done = executions.wait_for(exec_id, timeout=60)
        report.update(
            status=done.status.value,
            result=kitaru.load(exec_id, last),
            runner=done.runner_id,
            run_count=done.run_count,
        )
    print(json.dumps(report))
    """
)


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("KITARU_STORE_URL", "KITARU_ARTIFACTS_DIR")}
    env.pop("SLOW_SECONDS", None)
    env["KITARU_HOME"] = str(home)
    return {**env, **extra}


def _start_script(work: Path, home: Path, *args: str, **extra_env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "script.py", *args],
        cwd=work,
        env=_env(home, **extra_env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _first_line(proc: subprocess.Popen[str]) -> str:
    """The first line the process prints (the exec id); its stderr when it died first."""
    assert proc.stdout is not None and proc.stderr is not None
    line = proc.stdout.readline().strip()
    if not line:
        proc.wait(timeout=60)
        raise AssertionError(f"the script printed nothing: {proc.stderr.read()}")
    return line


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=60)


def _rest(proc: subprocess.Popen[str]) -> tuple[str, str]:
    """The rest of an ended process's output (after lines already read from it)."""
    assert proc.stdout is not None and proc.stderr is not None
    return proc.stdout.read(), proc.stderr.read()


def _second_process(elsewhere: Path, home: Path, *args: str) -> tuple[dict[str, Any], int]:
    """Run the client in a new process (cwd unrelated to the script, whose directory it is told
    to trust); return its report and pid."""
    proc = subprocess.Popen(
        [sys.executable, "-c", CLIENT, *args],
        cwd=elsewhere,
        env=_env(home, KITARU_TRUSTED_PATHS=str(elsewhere.parent)),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1]), proc.pid


def _execution(home: Path, exec_id: str) -> Execution:
    with another_home(home):
        return KitaruClient().executions.get(exec_id)


def _lines(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


def _pid_of(runner_id: str | None) -> int:
    assert runner_id is not None
    return int(runner_id.split(":")[1])


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "script.py").write_text(SCRIPT)
    (tmp_path / "elsewhere").mkdir()
    return tmp_path


def test_input_from_another_process_continues_after_the_runner_left(work: Path) -> None:
    home = work / "home"
    started = time.monotonic()
    first = _start_script(work, home, "return", "3", "0.5")
    out, err = first.communicate(timeout=60)
    elapsed = time.monotonic() - started
    assert first.returncode == 0, err
    assert elapsed < 30, f"the script took {elapsed:.1f} s to exit after its runner released"
    exec_id = out.split()[0]

    left = _execution(home, exec_id)
    assert left.status is kitaru.ExecutionStatus.WAITING
    assert left.runner_id is None and not left.orphaned
    assert left.pending_wait is not None and left.pending_wait.question == "How many more?"

    report, second_pid = _second_process(work / "elsewhere", home, "input", exec_id, "finish", "41")
    assert report == {
        "orphaned_before": False,
        "status_before": "waiting",
        "status": "completed",
        "result": 71,
        "runner": report["runner"],
        "run_count": 2,
    }
    assert _pid_of(report["runner"]) == second_pid  # continued by the process that gave the input
    assert _lines(work / "prepare.log") == [str(first.pid)]  # the first checkpoint ran once in all
    assert _lines(work / "finish.log") == [str(second_pid)]
    assert _lines(work / "main.log") == [str(first.pid)]  # the script's main block did not run again
    done = _execution(home, exec_id)
    assert [c.invocation_id for c in done.checkpoints] == ["prepare", "wait", "finish"]
    assert done.status is kitaru.ExecutionStatus.COMPLETED


def test_input_from_another_process_while_the_runner_polls(work: Path) -> None:
    home = work / "home"
    with _start_script(work, home, "result", "4", "60") as first:
        try:
            exec_id = _first_line(first)
            wait_until(lambda: _execution(home, exec_id).pending_wait, timeout=60)
            report, _ = _second_process(work / "elsewhere", home, "input", exec_id, "finish", "41")
            first.wait(timeout=60)  # the output is small: no pipe fills up
        finally:
            _stop(first)
        out, err = _rest(first)
    assert first.returncode == 0, err
    assert out.split() == ["result=81"]  # the first process's own handle has the result
    assert report["status_before"] == "waiting" and report["status"] == "completed"
    assert report["result"] == 81 and report["run_count"] == 1
    assert _pid_of(report["runner"]) == first.pid  # the polling runner continued it
    assert _lines(work / "prepare.log") == [str(first.pid)]
    assert _lines(work / "finish.log") == [str(first.pid)]


def test_input_when_the_script_no_longer_exists(work: Path) -> None:
    home = work / "home"
    first = _start_script(work, home, "timeout", "5", "0.5")
    out, err = first.communicate(timeout=60)
    assert first.returncode == 0, err
    exec_id, said = out.split()
    assert said == "TimeoutError"
    assert _execution(home, exec_id).runner_id is None

    script = work / "script.py"
    script.unlink()
    report, _ = _second_process(work / "elsewhere", home, "input", exec_id, "finish", "41")
    assert report["status_before"] == "waiting"
    assert report["error"].startswith("KitaruStateError: The answer to wait 'wait' was recorded")
    assert f"Cannot load flow 'asks': its script {script} no longer exists." in report["error"]
    assert "continue it with executions.resume()" in report["error"]
    # The answer is recorded, as the error says: the wait is no longer pending.
    left = _execution(home, exec_id)
    assert left.status is kitaru.ExecutionStatus.WAITING
    assert left.runner_id is None and left.pending_waits == ()
    assert [(c.invocation_id, c.status.value) for c in left.checkpoints] == [
        ("prepare", "completed"),
        ("wait", "completed"),
    ]
    with another_home(home):
        assert kitaru.load(exec_id, "wait") == 41
        with pytest.raises(kitaru.KitaruStateError, match="has no pending wait"):
            KitaruClient().executions.input(exec_id, value=41)

    # With the script back, resume() continues it with the recorded answer.
    script.write_text(SCRIPT)
    report, second_pid = _second_process(work / "elsewhere", home, "resume", exec_id, "finish")
    assert report["status"] == "completed" and report["result"] == 91
    assert _lines(work / "prepare.log") == [str(first.pid)]
    assert _lines(work / "finish.log") == [str(second_pid)]
    assert _lines(work / "main.log") == [str(first.pid)]


def test_sigkilled_runner_leaves_an_orphan_that_resume_completes(work: Path) -> None:
    home = work / "home"
    with _start_script(work, home, "crash", "6", SLOW_SECONDS="600") as first:
        try:
            exec_id = _first_line(first)
            wait_until(lambda: _lines(work / "slow.log"), timeout=60)  # inside the second checkpoint
        finally:
            first.kill()  # SIGKILL
            first.wait(timeout=60)  # reaped: its pid is gone
    assert first.returncode == -signal.SIGKILL

    report, second_pid = _second_process(work / "elsewhere", home, "resume", exec_id, "slow")
    assert report["orphaned_before"] is True and report["status_before"] == "running"
    assert report["status"] == "completed" and report["result"] == 61
    assert _pid_of(report["runner"]) == second_pid
    assert _lines(work / "prepare.log") == [str(first.pid)]  # the completed checkpoint was not re-run
    assert _lines(work / "slow.log") == [str(first.pid), str(second_pid)]
    assert _lines(work / "main.log") == [str(first.pid)]
    done = _execution(home, exec_id)
    assert done.status is kitaru.ExecutionStatus.COMPLETED and not done.orphaned
    assert [c.invocation_id for c in done.checkpoints] == ["prepare", "slow"]
