"""``kitaru worker`` processes serve the queue of executions run on the worker target.

PostgreSQL behind a real server, worker subprocesses, SIGKILL: every execution completes
with the right result, no completed checkpoint runs twice, and the executions of the killed
worker are taken over by the others without anybody typing ``resume``. Input that arrives
after the runner left continues the execution on a worker, long after the process that
started it exited.
"""

from __future__ import annotations

import collections
import importlib.util
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from tests._helpers import wait_until
from tests._postgres import create_database
from tests._server import ServerProcess

import kitaru
from kitaru._types import ExecutionStatus
from kitaru.config import reset_config
from kitaru.testing import reset_default_stores

STEPS = 20
EXECUTIONS = 30
LEASE = "2"
HEARTBEAT = "0.4"

FLOWS = """
import os
import time

import kitaru


def _note(log: str, line: str) -> None:
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\\n").encode())
    finally:
        os.close(fd)


@kitaru.checkpoint
def step(log: str, i: int) -> int:
    _note(log, f"{kitaru.current_execution_id()} {i} {os.getpid()}")
    time.sleep(0.03)
    return i


@kitaru.flow
def counted(log: str, offset: int) -> int:
    return sum(step(log, offset + i) for i in range(STEPS))


@kitaru.flow
def endless(log: str) -> int:
    i = 0
    while True:
        i += step(log, i)


@kitaru.checkpoint(runtime="isolated")
def apart(log: str) -> int:
    _note(log, f"apart {os.getpid()}")
    return os.getpid()


@kitaru.flow
def split(log: str) -> list[int]:
    return [step(log, 0), apart(log), os.getpid()]


@kitaru.flow
def approve(topic: str) -> str:
    answer = kitaru.wait(schema=str, name="approval", question=f"approve {topic}?", timeout=0.5)
    return f"{topic}: {answer}"
"""


def _flows_module(where: Path, name: str) -> ModuleType:
    where.mkdir(parents=True, exist_ok=True)
    path = where / f"{name}.py"
    path.write_text(f"STEPS = {STEPS}\n" + textwrap.dedent(FLOWS))
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


class Workers:
    """``kitaru worker`` subprocesses in ``code`` (the directory of the flows' module)."""

    def __init__(self, code: Path, env: dict[str, str]) -> None:
        self.code, self.env = code, env
        self.processes: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(self, *args: str) -> tuple[subprocess.Popen[bytes], Path]:
        log = self.code / f"worker-{len(self.processes)}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "kitaru", "worker", *args],
                cwd=self.code,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.processes.append((process, log))
        return process, log

    def stop(self) -> None:
        for process, _ in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process, _ in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _worker_env(tmp: Path, code: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KITARU_")}
    env.update(
        KITARU_HOME=str(tmp / "worker-home"),
        KITARU_LEASE_SECONDS=LEASE,
        KITARU_HEARTBEAT_SECONDS=HEARTBEAT,
        PYTHONPATH=os.pathsep.join([str(code), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
    )
    env.update(extra)
    return env


@pytest.fixture
def server(tmp_path: Path, postgres_url: str) -> Iterator[ServerProcess]:
    url = create_database(postgres_url, f"queue_{tmp_path.name[-12:].lower().replace('-', '_')}")
    served = ServerProcess(tmp_path, store_url=url)
    served.start()
    yield served
    served.stop()
    reset_default_stores()
    reset_config()


def _claimed(log: Path) -> list[str]:
    lines = log.read_text(errors="replace").splitlines()
    return [line.split()[4] for line in lines if line.startswith("kitaru worker: claimed execution")]


def _running_on(process: subprocess.Popen[bytes], log: Path, steps_log: Path) -> str | None:
    """An execution whose checkpoints ``process`` ran and that it has not ended (per its log)."""
    text = log.read_text(errors="replace")
    pid = str(process.pid)
    for line in reversed(steps_log.read_text().splitlines()):
        exec_id, _, by = line.split()
        if by == pid and f"execution {exec_id} completed" not in text:
            return exec_id
    return None


@pytest.mark.postgres
def test_workers_finish_every_execution_and_take_over_a_killed_one(
    server: ServerProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = tmp_path / "code"
    flows: Any = _flows_module(code, "queue_flows_pg")
    steps_log = tmp_path / "steps.log"
    steps_log.touch()
    workers = Workers(code, _worker_env(tmp_path, code, KITARU_SERVER_URL=server.url))
    victim, victim_log = workers.start("--concurrency", "2")
    for _ in range(2):
        workers.start("--concurrency", "2")
    try:
        monkeypatch.setenv("KITARU_EXECUTION_TARGET", "worker")
        kitaru.connect(server.url)
        handles = [flows.counted.run(str(steps_log), offset) for offset in range(0, EXECUTIONS * 100, 100)]
        # Kill one worker in the middle of an execution it runs.
        wait_until(lambda: _running_on(victim, victim_log, steps_log) is not None, timeout=120)
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        interrupted = _running_on(victim, victim_log, steps_log)
        held = set(_claimed(victim_log))
        results = [handle.wait(timeout=240) for handle in handles]
    finally:
        workers.stop()
    assert results == [sum(range(offset, offset + STEPS)) for offset in range(0, EXECUTIONS * 100, 100)]
    runs: collections.Counter[tuple[str, str]] = collections.Counter()
    pids: dict[str, set[str]] = collections.defaultdict(set)
    for line in steps_log.read_text().splitlines():
        exec_id, step, pid = line.split()
        runs[(exec_id, step)] += 1
        pids[exec_id].add(pid)
    ids = {handle.exec_id for handle in handles}
    assert {exec_id for exec_id, _ in runs} == ids
    assert len({step for _, step in runs}) == EXECUTIONS * STEPS
    # A checkpoint runs again only when the killed worker was in the middle of it: at most one
    # per execution it held, and never one whose completion was recorded.
    again = [key for key, count in runs.items() if count > 1]
    assert all(runs[key] == 2 for key in again)
    assert {exec_id for exec_id, _ in again} <= held
    assert len(again) <= 2  # the killed worker ran two executions at a time
    client = kitaru.KitaruClient()
    for exec_id in ids:
        execution = client.executions.get(exec_id)
        assert execution.status is ExecutionStatus.COMPLETED
        assert [c.invocation_id for c in execution.checkpoints] == [
            "step",
            *(f"step_{i}" for i in range(2, STEPS + 1)),
        ]
    # The execution the killed worker was running was finished by another worker.
    assert interrupted is not None
    store = kitaru.KitaruClient()._store
    assert store.get_execution(interrupted).run_count > 1
    assert str(victim.pid) in pids[interrupted] and len(pids[interrupted]) > 1


def test_input_after_the_runner_left_continues_on_a_worker(
    tmp_path: Path, kitaru_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = tmp_path / "code"
    _flows_module(code, "queue_flows_wait")
    env = _worker_env(tmp_path, code, KITARU_HOME=str(kitaru_home), KITARU_EXECUTION_TARGET="worker")
    # The submitting process queues the execution and exits at once.
    submit = "import queue_flows_wait as f; print(f.approve.run('release').exec_id)"
    started = subprocess.run(
        [sys.executable, "-c", submit],
        cwd=code,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    exec_id = started.stdout.strip()
    workers = Workers(code, env)
    _, worker_log = workers.start()
    try:
        store = kitaru.KitaruClient()._store
        # The worker runs it to the wait, then leaves (the wait's timeout is short).
        wait_until(
            lambda: (
                (r := store.get_execution(exec_id)).status is ExecutionStatus.WAITING and r.runner_id is None
            ),
            timeout=60,
        )
        monkeypatch.setenv("KITARU_EXECUTION_TARGET", "worker")
        client = kitaru.KitaruClient()
        client.executions.input(exec_id, wait="approval", value="yes")
        wait_until(lambda: client.executions.get(exec_id).status.is_terminal, timeout=60)
    finally:
        workers.stop()
    assert client.executions.get(exec_id).status is ExecutionStatus.COMPLETED
    assert store.get_execution(exec_id).run_count == 2
    assert _claimed(worker_log) == [exec_id, exec_id]  # the first run and the continuation


def test_code_a_worker_cannot_import_stays_queued_for_one_that_can(
    tmp_path: Path, kitaru_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = tmp_path / "code"
    flows: Any = _flows_module(code, "queue_flows_elsewhere")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.setenv("KITARU_EXECUTION_TARGET", "worker")
    steps_log = tmp_path / "steps.log"
    handle = flows.counted.run(str(steps_log), 0)
    env = _worker_env(tmp_path, code, KITARU_HOME=str(kitaru_home))
    blind = Workers(elsewhere, {**env, "PYTHONPATH": ""})
    _, blind_log = blind.start()
    try:
        wait_until(lambda: "cannot run in this process" in blind_log.read_text(errors="replace"), timeout=60)
    finally:
        blind.stop()
    record = kitaru.KitaruClient()._store.get_execution(handle.exec_id)
    assert (
        record.status is ExecutionStatus.PENDING and record.queued_at is not None and record.runner_id is None
    )
    assert "start `kitaru worker` where the flow's code is" in blind_log.read_text(errors="replace")
    able = Workers(code, env)
    able.start()
    try:
        assert handle.wait(timeout=60) == sum(range(STEPS))
    finally:
        able.stop()


def test_a_bad_execution_target_names_its_source(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    flows: Any = _flows_module(tmp_path / "code", "queue_flows_bad")
    monkeypatch.setenv("KITARU_EXECUTION_TARGET", "cluster")
    with pytest.raises(kitaru.KitaruUsageError, match="environment variable KITARU_EXECUTION_TARGET"):
        flows.counted.run(str(tmp_path / "steps.log"), 0)


def test_cancel_reaches_the_worker_that_runs_the_execution(
    tmp_path: Path, kitaru_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = tmp_path / "code"
    flows: Any = _flows_module(code, "queue_flows_cancel")
    monkeypatch.setenv("KITARU_EXECUTION_TARGET", "worker")
    steps_log = tmp_path / "steps.log"
    steps_log.touch()
    handle = flows.endless.run(str(steps_log))
    workers = Workers(code, _worker_env(tmp_path, code, KITARU_HOME=str(kitaru_home)))
    _, worker_log = workers.start()
    try:
        wait_until(lambda: len(steps_log.read_text().splitlines()) >= 3, timeout=60)
        kitaru.KitaruClient().executions.cancel(handle.exec_id)
        with pytest.raises(kitaru.KitaruExecutionError):
            handle.wait(timeout=60)
        wait_until(lambda: f"execution {handle.exec_id} cancelled" in worker_log.read_text(), timeout=30)
    finally:
        workers.stop()
    assert handle.status is ExecutionStatus.CANCELLED


def test_a_stopped_worker_gives_back_what_still_runs_after_its_grace(
    tmp_path: Path, kitaru_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = tmp_path / "code"
    flows: Any = _flows_module(code, "queue_flows_grace")
    monkeypatch.setenv("KITARU_EXECUTION_TARGET", "worker")
    steps_log = tmp_path / "steps.log"
    steps_log.touch()
    handle = flows.endless.run(str(steps_log))
    env = _worker_env(tmp_path, code, KITARU_HOME=str(kitaru_home))
    first = Workers(code, env)
    process, log = first.start("--grace", "0.5")
    wait_until(lambda: len(steps_log.read_text().splitlines()) >= 3, timeout=60)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0
    assert f"gave execution {handle.exec_id} back to the queue" in log.read_text()
    store = kitaru.KitaruClient()._store
    record = store.get_execution(handle.exec_id)
    assert (record.status, record.runner_id) == (
        ExecutionStatus.PENDING,
        None,
    ) and record.queued_at is not None
    done = len(steps_log.read_text().splitlines())
    second = Workers(code, env)
    second.start()
    try:
        wait_until(lambda: len(steps_log.read_text().splitlines()) >= done + 3, timeout=60)
        kitaru.KitaruClient().executions.cancel(handle.exec_id)
        with pytest.raises(kitaru.KitaruExecutionError):
            handle.wait(timeout=60)
    finally:
        second.stop()
    assert store.get_execution(handle.exec_id).run_count == 2


def test_a_replay_on_the_worker_target_runs_on_a_worker(
    tmp_path: Path, kitaru_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = tmp_path / "code"
    flows: Any = _flows_module(code, "queue_flows_replay")
    monkeypatch.setenv("KITARU_EXECUTION_TARGET", "worker")
    steps_log = tmp_path / "steps.log"
    steps_log.touch()
    workers = Workers(code, _worker_env(tmp_path, code, KITARU_HOME=str(kitaru_home)))
    _, worker_log = workers.start()
    try:
        first = flows.counted.run(str(steps_log), 0)
        assert first.wait(timeout=60) == sum(range(STEPS))
        replayed = flows.counted.replay(first.exec_id, from_="step_15")
        assert replayed.wait(timeout=60) == sum(range(STEPS))
    finally:
        workers.stop()
    assert _claimed(worker_log) == [first.exec_id, replayed.exec_id]
    # The replay ran live only from its frontier on.
    lines = [line.split() for line in steps_log.read_text().splitlines()]
    assert [int(step) for exec_id, step, _ in lines if exec_id == replayed.exec_id] == list(range(14, STEPS))


def test_an_isolated_checkpoint_runs_in_a_process_of_its_own_on_a_worker(
    tmp_path: Path, kitaru_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = tmp_path / "code"
    flows: Any = _flows_module(code, "queue_flows_isolated")
    monkeypatch.setenv("KITARU_EXECUTION_TARGET", "worker")
    steps_log = tmp_path / "steps.log"
    steps_log.touch()
    workers = Workers(code, _worker_env(tmp_path, code, KITARU_HOME=str(kitaru_home)))
    worker, worker_log = workers.start()
    try:
        handle = flows.split.run(str(steps_log))
        first, isolated_pid, body_pid = handle.wait(timeout=60)
    finally:
        workers.stop()
    assert first == 0
    assert _claimed(worker_log) == [handle.exec_id]
    assert body_pid == worker.pid  # the body ran in the worker
    assert isolated_pid not in (worker.pid, os.getpid())  # the isolated checkpoint in a process of its own
    assert f"apart {isolated_pid}" in steps_log.read_text().splitlines()
