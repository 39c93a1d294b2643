"""Many executions at once on one embedded SQLite store: threads and separate processes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests._modes import another_home

from kitaru import KitaruClient, checkpoint, flow

pytestmark = pytest.mark.both_modes


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    with another_home(tmp_path / "home") as h:
        yield h


@checkpoint
def step(i: int, j: int) -> str:
    return f"{i}-{j}"


@flow
def busy(i: int, n: int) -> int:
    return sum(len(step(i, j)) for j in range(n))


def test_many_executions_from_threads(home: Path) -> None:
    handles = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(16)

    def start(i: int) -> None:
        try:
            barrier.wait()
            handles.append(busy.run(i, 25))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    results = [h.wait(timeout=120) for h in handles]
    assert len(results) == 16
    executions = KitaruClient().executions.list(flow="busy", limit=100)
    assert len(executions) == 16
    assert {e.status.value for e in executions} == {"completed"}


SCRIPT = textwrap.dedent(
    """
    import sys, time
    from kitaru import checkpoint, flow

    @checkpoint
    def work(worker: int, i: int) -> int:
        return worker * 1000 + i

    @flow
    def per_process(worker: int, n: int) -> int:
        return sum(work(worker, i) for i in range(n))

    worker = int(sys.argv[1])
    start_at = float(sys.argv[2])
    time.sleep(max(0.0, start_at - time.time()))  # every process starts at the same moment
    handles = [per_process.run(worker, 30) for _ in range(4)]
    for h in handles:
        h.wait(timeout=120)
    print("ok", worker)
    """
)


def test_many_executions_from_processes_on_a_fresh_store(tmp_path: Path) -> None:
    script = tmp_path / "worker_script.py"
    script.write_text(SCRIPT)
    home = tmp_path / "shared-home"  # not created yet: the processes race to create the store
    import os
    import time

    env = {**os.environ, "KITARU_HOME": str(home)}
    start_at = time.time() + 1.5
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(w), str(start_at)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(8)
    ]
    outputs = [p.communicate(timeout=180) for p in procs]
    for p, (out, err) in zip(procs, outputs, strict=True):
        assert "database is locked" not in err
        assert p.returncode == 0, err
        assert out.startswith("ok")
    with another_home(home):
        executions = KitaruClient().executions.list(flow="per_process", limit=1000)
        assert len(executions) == 32
        assert {e.status.value for e in executions} == {"completed"}
        one = KitaruClient().executions.get(executions[0].exec_id)
        assert len(one.checkpoints) == 30
