"""A runner killed (SIGKILL) around a wait or mid-run: answering, following and waiting
never end in silence.

Every runner is a real process on one embedded store. To die at an exact point, the
runner script wraps a method of its own store class (``KILL_AT``) so that the
process kills itself there; the test kills the others from outside. Then:

- ``kitaru executions input`` either continues the execution (claiming the orphan
  with the compare-and-set a resume uses) or says that its runner is gone and which
  command continues it, with exit code 1;
- ``kitaru executions logs --follow``, ``executions.wait_for`` and
  ``FlowHandle.wait`` end on an orphan, naming its state and ``kitaru executions
  resume``, instead of waiting forever. Each runs in a subprocess with a timeout,
  so a hang fails the test.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
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
from tests._scripts import env_for

import kitaru
from kitaru import KitaruClient
from kitaru.models import Execution

pytestmark = pytest.mark.both_modes

SCRIPT = textwrap.dedent(
    """
    import os
    import signal
    import sys
    import time
    from pathlib import Path

    import kitaru
    from kitaru import KitaruClient, checkpoint, flow
    from kitaru._connect import default_stores
    from kitaru._types import ExecutionStatus

    HERE = Path(__file__).resolve().parent


    def note(name, text):
        with open(HERE / name, "a") as f:
            f.write(f"{text}\\n")


    def die():
        gate = os.environ.get("KILL_GATE")
        while gate and not os.path.exists(gate):
            time.sleep(0.01)
        note("killed.log", os.getpid())
        os.kill(os.getpid(), signal.SIGKILL)


    def kill_around(name, *, before=False, when=lambda *a, **kw: True):
        store_class = type(default_stores().metadata)  # the embedded store, or the REST store
        original = getattr(store_class, name)

        def wrapper(self, *args, **kwargs):
            if before and when(*args, **kwargs):
                die()
            result = original(self, *args, **kwargs)
            if not before and when(*args, **kwargs):
                die()
            return result

        setattr(store_class, name, wrapper)


    def takes_back(exec_id, status, *, expected=None, **kwargs):
        # The runner takes an answered wait back: waiting -> running.
        return status is ExecutionStatus.RUNNING and set(expected or ()) == {ExecutionStatus.WAITING}


    KILL_AT = os.environ.get("KILL_AT", "")
    if KILL_AT == "after-begin-wait":
        kill_around("begin_wait")
    elif KILL_AT == "before-begin-wait":
        kill_around("begin_wait", before=True)
    elif KILL_AT == "at-take-back":
        kill_around("set_execution_status", before=True, when=takes_back)


    @checkpoint
    def prepare(x: int) -> int:
        note("prepare.log", os.getpid())
        return x * 10


    @checkpoint
    def finish(base: int, answer: int) -> int:
        note("finish.log", os.getpid())
        if os.environ.get("DIE_IN_FINISH"):
            die()
        return base + answer


    @flow(cache=False)
    def asks(x: int, wait_timeout: float) -> int:
        base = prepare(x)
        answer = kitaru.wait(schema=int, question="How many more?", timeout=wait_timeout)
        return finish(base, answer)


    @checkpoint
    def step(i: int) -> int:
        print(f"step {i}", file=sys.stderr, flush=True)  # stdout carries the exec id
        return i


    @checkpoint
    def hang() -> None:
        note("hang.log", os.getpid())
        time.sleep(600)


    @flow(cache=False)
    def ticking() -> int:
        total = sum(step(i) for i in range(3))
        hang()
        return total


    if __name__ == "__main__":
        mode = sys.argv[1]
        if mode == "asks":
            handle = asks.run(int(sys.argv[2]), float(sys.argv[3]))
            print(handle.exec_id, flush=True)
            try:
                print(f"result={handle.wait()}", flush=True)
            except kitaru.KitaruError as exc:
                print(f"{type(exc).__name__}: {exc}", flush=True)
                sys.exit(3)
        elif mode == "ticking":
            handle = ticking.run()
            print(handle.exec_id, flush=True)
            handle.wait()
        elif mode == "resume":
            executions = KitaruClient().executions
            executions.resume(sys.argv[2])
            executions.wait_for(sys.argv[2], timeout=120)
        elif mode == "answer":
            executions = KitaruClient().executions
            executions.input(sys.argv[2], value=int(sys.argv[3]))
            executions.wait_for(sys.argv[2], timeout=120)
    """
)

# Waiting for an execution through the client, in its own process: prints what happened as JSON.
WAITER = textwrap.dedent(
    """
    import json
    import sys

    import kitaru
    from kitaru import KitaruClient

    how, exec_id = sys.argv[1:3]
    executions = KitaruClient().executions
    report = {}
    try:
        if how == "wait_for":
            report["status"] = executions.wait_for(exec_id).status.value
        else:
            lines = []
            report["lines"] = lines
            for entry in executions.logs(exec_id, follow=True):
                lines.append(entry.message)
    except kitaru.KitaruError as exc:
        report["error"] = f"{type(exc).__name__}: {exc}"
    print(json.dumps(report))
    """
)

BOUND = 60  # seconds: a command still running after this hangs, and the test fails


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = env_for(home, **extra)
    if "DIE_IN_FINISH" not in extra:
        env.pop("DIE_IN_FINISH", None)
    return env


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "runner.py").write_text(SCRIPT)
    return tmp_path


def _home(work: Path) -> Path:
    return work / "home"


def _runner(work: Path, *args: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "runner.py", *args],
        cwd=work,
        env=_env(_home(work), **env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _exec_id(proc: subprocess.Popen[str], work: Path) -> str:
    """The exec id the runner prints first; the store's only execution when the runner
    killed itself before printing it."""
    assert proc.stdout is not None and proc.stderr is not None
    line = proc.stdout.readline().strip()
    if line:
        return line
    proc.wait(timeout=BOUND)
    with another_home(_home(work)):
        found = KitaruClient().executions.list(limit=1)
    assert found, f"the runner started no execution: {proc.stderr.read()}"
    return found[0].exec_id


def _kitaru(work: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI as users run it, in the workspace; a command that hangs fails the test."""
    return subprocess.run(
        [sys.executable, "-m", "kitaru", *args],
        cwd=work,
        env=_env(_home(work)),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=BOUND,
    )


def _kitaru_popen(work: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "kitaru", *args],
        cwd=work,
        env=_env(_home(work)),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _execution(work: Path, exec_id: str) -> Execution:
    with another_home(_home(work)):
        return KitaruClient().executions.get(exec_id)


def _lines(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


def _killed(proc: subprocess.Popen[str]) -> None:
    """SIGKILL the process (unless it killed itself) and reap it, so its pid is gone."""
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=BOUND)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read() if proc.stderr else ""


def _pending(work: Path, exec_id: str) -> bool:
    execution = _execution(work, exec_id)
    return execution.status is kitaru.ExecutionStatus.WAITING and bool(execution.pending_waits)


def _answered(work: Path, exec_id: str) -> bool:
    return any(
        c.kind == "wait" and c.status.value == "completed" for c in _execution(work, exec_id).checkpoints
    )


def _assert_completed_with_the_answer(work: Path, exec_id: str, first_pid: int, result: int) -> None:
    done = _execution(work, exec_id)
    assert done.status is kitaru.ExecutionStatus.COMPLETED, done
    with another_home(_home(work)):
        assert kitaru.load(exec_id, "finish") == result
    assert _lines(work / "prepare.log") == [str(first_pid)]  # the completed checkpoint did not run again
    assert len(_lines(work / "finish.log")) == 1


# -- answering a wait whose runner died ------------------------------------------------------


@pytest.mark.parametrize("kill", ["after the wait is recorded", "while the runner holds the wait"])
def test_input_continues_a_wait_whose_runner_was_killed(work: Path, kill: str) -> None:
    if kill == "after the wait is recorded":
        runner = _runner(work, "asks", "4", "600", KILL_AT="after-begin-wait")
        exec_id = _exec_id(runner, work)
        runner.wait(timeout=BOUND)  # it kills itself right after the store recorded the wait
    else:
        runner = _runner(work, "asks", "4", "600")
        exec_id = _exec_id(runner, work)
        wait_until(lambda: _pending(work, exec_id), timeout=BOUND)
    _killed(runner)
    before = _execution(work, exec_id)
    assert before.status is kitaru.ExecutionStatus.WAITING and before.orphaned and before.pending_waits

    answered = _kitaru(work, "executions", "input", exec_id, "--value", "41")

    assert answered.returncode == 0, answered
    assert f"Execution {exec_id} completed" in answered.stdout
    _assert_completed_with_the_answer(work, exec_id, runner.pid, 81)


@pytest.mark.parametrize("given", ["with its id", "without an id"])
def test_input_continues_a_running_execution_whose_runner_died_before_reentering_the_wait(
    work: Path, given: str
) -> None:
    # A runner holds the wait and is killed; a resume re-runs the flow and is killed just
    # before it enters the (still pending) wait again: `running`, a pending wait, no runner.
    first = _runner(work, "asks", "4", "600")
    exec_id = _exec_id(first, work)
    wait_until(lambda: _pending(work, exec_id), timeout=BOUND)
    _killed(first)
    resumer = _runner(work, "resume", exec_id, KILL_AT="before-begin-wait")
    resumer.wait(timeout=BOUND)  # it kills itself just before it would enter the wait again
    _killed(resumer)
    stuck = _execution(work, exec_id)
    assert stuck.status is kitaru.ExecutionStatus.RUNNING and stuck.orphaned
    assert [w.name for w in stuck.pending_waits] == ["wait"]

    which = [exec_id] if given == "with its id" else []  # without: the one pending wait is picked
    answered = _kitaru(work, "executions", "input", *which, "--value", "41")

    assert answered.returncode == 0, answered
    assert f"Execution {exec_id} completed" in answered.stdout
    _assert_completed_with_the_answer(work, exec_id, first.pid, 81)


def test_input_continues_when_the_runner_dies_after_the_answer_before_taking_it_back(work: Path) -> None:
    # The runner sees the answer and is killed before it takes the execution back; the
    # input command saw a live runner polling and must not leave with nothing continuing.
    gate = work / "gate"
    runner = _runner(work, "asks", "4", "600", KILL_AT="at-take-back", KILL_GATE=str(gate))
    exec_id = _exec_id(runner, work)
    wait_until(lambda: _pending(work, exec_id), timeout=BOUND)
    answering = _kitaru_popen(work, "executions", "input", exec_id, "--value", "41")
    try:
        wait_until(lambda: _answered(work, exec_id), timeout=BOUND)
        gate.touch()  # the runner may now die: the answer is recorded, the runner did not take it yet
        runner.wait(timeout=BOUND)  # it kills itself as it is about to take the execution back
        _killed(runner)
        out, err = answering.communicate(timeout=BOUND)
    finally:
        if answering.poll() is None:
            answering.kill()
            answering.wait()
    assert _lines(work / "killed.log") == [str(runner.pid)]
    assert answering.returncode == 0, (out, err)
    assert f"Execution {exec_id} completed" in out
    _assert_completed_with_the_answer(work, exec_id, runner.pid, 81)


def test_input_to_a_stopped_runner_continues_or_says_what_to_do(work: Path) -> None:
    # The runner that polls for the answer is stopped (SIGSTOP) and so never takes it. Within
    # its lease it counts as alive: input waits for it, then either continues the execution
    # (the runner counts as gone) or says that the runner did not take the answer and how to
    # continue it. Never a silent success. Once the runner wakes up, the execution completes
    # exactly once either way.
    runner = _runner(work, "asks", "4", "600")
    try:
        exec_id = _exec_id(runner, work)
        wait_until(lambda: _pending(work, exec_id), timeout=BOUND)
        os.kill(runner.pid, signal.SIGSTOP)
        answered = subprocess.run(
            [sys.executable, "-m", "kitaru", "executions", "input", exec_id, "--value", "41"],
            cwd=work,
            env=_env(_home(work), KITARU_LEASE_SECONDS="1", KITARU_HEARTBEAT_SECONDS="0.2"),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=BOUND,
        )
        os.kill(runner.pid, signal.SIGCONT)
        out, err = runner.communicate(timeout=BOUND)
    finally:
        if runner.poll() is None:
            os.kill(runner.pid, signal.SIGCONT)
            runner.kill()
            runner.wait()
    if answered.returncode == 0:  # continued by the input command
        assert f"Execution {exec_id} completed" in answered.stdout, answered
    else:
        assert answered.returncode == 1, answered
        said = answered.stderr
        assert "was recorded" in said and "has not taken it" in said, said
        assert f"kitaru executions resume {exec_id}" in said, said
    assert runner.returncode == 0, (out, err)
    wait_until(lambda: _execution(work, exec_id).status.is_terminal, timeout=BOUND)
    _assert_completed_with_the_answer(work, exec_id, runner.pid, 81)


def _read_until(fd: int, needle: str, seen: list[str]) -> None:
    deadline = time.monotonic() + BOUND
    while needle not in "".join(seen):
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"never saw {needle!r}; output so far: {''.join(seen)!r}"
        if select.select([fd], [], [], remaining)[0]:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the runner closed the terminal (it died)
                return
            if not chunk:
                return
            seen.append(chunk.decode(errors="replace"))


def test_input_after_an_answer_whose_runner_died_names_the_command_that_continues(work: Path) -> None:
    # Answered at the runner's own terminal prompt; the runner is killed before it takes
    # the execution back: the wait is answered, the execution `waiting`, nobody holds it.
    primary, secondary = pty.openpty()
    runner = subprocess.Popen(
        [sys.executable, "runner.py", "asks", "4", "600"],
        cwd=work,
        env=_env(_home(work), KILL_AT="at-take-back"),
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
    )
    os.close(secondary)
    seen: list[str] = []
    try:
        _read_until(primary, "> ", seen)
        found = re.search(r"execution (\S+) waits for input", "".join(seen))
        assert found is not None, "".join(seen)
        exec_id = found.group(1)
        os.write(primary, b"41\n")
        runner.wait(timeout=BOUND)
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait()
        os.close(primary)
    assert runner.returncode == -signal.SIGKILL, "".join(seen)
    left = _execution(work, exec_id)
    assert left.status is kitaru.ExecutionStatus.WAITING and left.orphaned and not left.pending_waits

    text = _kitaru(work, "executions", "input", exec_id, "--value", "5")
    as_json = _kitaru(work, "executions", "input", exec_id, "--value", "5", "-o", "json")

    for result in (text, as_json):
        assert result.returncode == 1, result
    message = json.loads(as_json.stderr)["error"]["message"]
    for said in (text.stdout + text.stderr, message):
        assert "orphaned" in said and f"kitaru executions resume {exec_id}" in said, said
    resumed = _kitaru(work, "executions", "resume", exec_id)
    assert resumed.returncode == 0, resumed
    _assert_completed_with_the_answer(work, exec_id, runner.pid, 81)


# -- following and waiting for an orphaned execution --------------------------------------


def _logged(work: Path, exec_id: str) -> list[str]:
    with another_home(_home(work)):
        return [e.message for e in KitaruClient().executions.logs(exec_id)]


def _ticking_killed_mid_run(work: Path, *, follow: bool = False) -> tuple[str, Any]:
    """Start ``ticking`` (and a follower), kill the runner inside its last checkpoint once
    its log lines are stored."""
    runner = _runner(work, "ticking")
    exec_id = _exec_id(runner, work)
    follower = _kitaru_popen(work, "executions", "logs", exec_id, "--follow") if follow else None
    try:
        wait_until(lambda: _lines(work / "hang.log"), timeout=BOUND)
        wait_until(lambda: len(_logged(work, exec_id)) == 3, timeout=BOUND)
    finally:
        _killed(runner)
    assert follower is None or follower.poll() is None  # it followed the execution while it ran
    return exec_id, follower


def _orphan_message_named(said: str, exec_id: str) -> None:
    assert "orphaned" in said and "running" in said, said
    assert f"kitaru executions resume {exec_id}" in said, said


def test_follow_ends_when_the_runner_dies(work: Path) -> None:
    exec_id, follower = _ticking_killed_mid_run(work, follow=True)
    try:
        out, err = follower.communicate(timeout=BOUND)
    finally:
        if follower.poll() is None:
            follower.kill()
            follower.wait()
    assert follower.returncode == 1, (out, err)
    assert [line.split()[-1] for line in out.splitlines() if "step " in line] == ["0", "1", "2"]
    _orphan_message_named(out + err, exec_id)

    # Started after the runner died, as JSON events: the last one says it is orphaned.
    as_json = _kitaru(work, "executions", "logs", exec_id, "-f", "-o", "json")
    assert as_json.returncode == 1, as_json
    events = [json.loads(line) for line in as_json.stdout.splitlines() if line.strip()]
    assert [e["item"]["message"] for e in events if e["event"] == "log"] == ["step 0", "step 1", "step 2"]
    last = events[-1]
    assert last["event"] == "orphaned" and last["command"] == "executions.logs"
    assert last["item"]["exec_id"] == exec_id and last["item"]["status"] == "running"
    _orphan_message_named(last["item"]["message"], exec_id)


@pytest.mark.parametrize("how", ["wait_for", "follow"])
def test_client_wait_for_and_follow_raise_on_an_orphan(work: Path, how: str) -> None:
    exec_id, _ = _ticking_killed_mid_run(work)
    done = subprocess.run(
        [sys.executable, "-c", WAITER, how, exec_id],
        cwd=work,
        env=_env(_home(work)),
        capture_output=True,
        text=True,
        timeout=BOUND,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.splitlines()[-1])
    assert report["error"].startswith("KitaruStateError: "), report
    _orphan_message_named(report["error"], exec_id)
    if how == "follow":
        assert report["lines"] == ["step 0", "step 1", "step 2"]  # every line first, then the error


def test_flow_handle_wait_ends_when_the_process_that_continued_it_dies(work: Path) -> None:
    # The first process's runner leaves at the wait (timeout); its handle waits on the store.
    # Another process answers, continues the execution and is killed in the next checkpoint.
    first = _runner(work, "asks", "4", "0.2")
    try:
        exec_id = _exec_id(first, work)
        wait_until(lambda: _pending(work, exec_id) and _execution(work, exec_id).runner_id is None, BOUND)
        answering = _runner(work, "answer", exec_id, "41", DIE_IN_FINISH="1")
        answering.wait(timeout=BOUND)  # it kills itself in the checkpoint after the wait
        _killed(answering)
        out, err = first.communicate(timeout=BOUND)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert _lines(work / "killed.log") == [str(answering.pid)]
    assert first.returncode == 3, (out, err)
    assert out.startswith("KitaruStateError: "), out
    _orphan_message_named(out, exec_id)
