"""The store fails while a runner records its work: it retries, and when it gives up, it lets go.

Real failures of a real PostgreSQL server: the server stopped (as by a crash or a restart)
and started again, or a table locked by another session past the store's lock timeout.
The runner is a separate process; each checkpoint appends to a side-effect file.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import make_url
from tests._helpers import wait_until
from tests._postgres import Cluster, create_database, postgres_cluster
from tests.cli.conftest import kitaru_command

import kitaru
from kitaru.store.sql import SqlStore

pytestmark = pytest.mark.postgres

SCRIPT = textwrap.dedent(
    """
    import os
    import sys
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
        gate = os.environ.get("GATE")
        if gate:  # the first runner waits here until the test broke the store
            while not Path(gate).exists():
                time.sleep(0.01)
        return x + 1


    @checkpoint
    def third(x: int) -> int:
        effect("third")
        return x + 1


    @flow
    def outage() -> int:
        return third(second(first()))


    if __name__ == "__main__":
        handle = outage.run()
        print(handle.exec_id, flush=True)
        try:
            print("result", handle.wait(), flush=True)
        except Exception as exc:
            print("failed", type(exc).__name__, flush=True)
            print(f"failure: {exc}", file=sys.stderr, flush=True)
        if os.environ.get("LINGER"):  # a long-lived program that goes on with other work
            Path(os.environ["LINGER"]).write_text("still here")
            time.sleep(600)
    """
)


class Runner:
    """The runner process, its side effects and its stderr (a file, read while it runs)."""

    def __init__(self, work: Path, url: str, lease: dict[str, str], **extra: str) -> None:
        self.work = work
        work.mkdir(parents=True, exist_ok=True)
        (work / "outage.py").write_text(SCRIPT)
        self.gate = work / "gate"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("KITARU_")}
        self.env.update(lease, KITARU_HOME=str(work / "home"), KITARU_STORE_URL=url)
        self.stderr_path = work / "stderr.log"
        self._stderr = self.stderr_path.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "outage.py"],
            cwd=work,
            env={**self.env, "GATE": str(self.gate), **extra},
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )
        assert self.process.stdout is not None
        self.exec_id = self.process.stdout.readline().strip()

    def effects(self) -> list[str]:
        log = self.work / "effects.log"
        return [line.split()[0] for line in log.read_text().splitlines()] if log.exists() else []

    def stderr(self) -> str:
        return self.stderr_path.read_text()

    def finish(self) -> str:
        out, _ = self.process.communicate(timeout=120)
        return out

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)
        self._stderr.close()

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*kitaru_command(), *args],
            cwd=self.work,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )


def _execution(url: str, exec_id: str) -> Any:
    store = SqlStore(url)
    try:
        return store.get_execution(exec_id)
    finally:
        store.close()


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """A cluster of this module's own: the tests stop and start it."""
    with postgres_cluster() as started:
        yield started


@pytest.fixture
def runner_of(tmp_path: Path) -> Iterator[Any]:
    runners: list[Runner] = []

    def start(url: str, lease: dict[str, str], **extra: str) -> Runner:
        runners.append(Runner(tmp_path / f"work{len(runners)}", url, lease, **extra))
        return runners[-1]

    yield start
    for runner in runners:
        runner.close()


def test_a_store_restart_during_a_run_is_ridden_out(cluster: Cluster, runner_of: Any) -> None:
    runner = runner_of(cluster.url, {"KITARU_HEARTBEAT_SECONDS": "0.2", "KITARU_LEASE_SECONDS": "60"})
    wait_until(lambda: runner.effects() == ["first", "second"], timeout=60)
    cluster.stop()
    try:
        runner.gate.write_text("go")  # second returns: recording it fails, the runner retries
        wait_until(lambda: "retrying for up to 60 s" in runner.stderr(), timeout=60)
    finally:
        cluster.start()
    out = runner.finish()
    assert out.splitlines()[-1] == "result 3", (out, runner.stderr())
    assert "the store works again" in runner.stderr()
    assert runner.effects() == ["first", "second", "third"]  # nothing ran twice
    done = _execution(cluster.url, runner.exec_id)
    assert done.status is kitaru.ExecutionStatus.COMPLETED


def test_a_runner_that_gives_up_leaves_the_execution_to_another_process(
    cluster: Cluster, runner_of: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lease = {"KITARU_HEARTBEAT_SECONDS": "0.2", "KITARU_LEASE_SECONDS": "2"}
    for name, value in lease.items():
        monkeypatch.setenv(name, value)
    runner = runner_of(cluster.url, lease, LINGER=str(tmp_path / "lingers"))
    wait_until(lambda: runner.effects() == ["first", "second"], timeout=60)
    cluster.stop()
    try:
        runner.gate.write_text("go")
        # It retries for the lease, gives up, cannot record that either, and goes on with other work.
        wait_until(lambda: (tmp_path / "lingers").exists(), timeout=60)
        assert "could not be marked failed either" in runner.stderr(), runner.stderr()
    finally:
        cluster.start()
    # The process lives on, but its execution is not held: the lease it stopped renewing ran out.
    assert runner.process.poll() is None
    stuck = _execution(cluster.url, runner.exec_id)
    assert stuck.status is kitaru.ExecutionStatus.RUNNING
    resumed = runner.cli("executions", "resume", runner.exec_id, "-o", "json")
    assert resumed.returncode == 0, resumed.stderr
    done = _execution(cluster.url, runner.exec_id)
    assert done.status is kitaru.ExecutionStatus.COMPLETED and done.epoch == 2
    # second's end was never recorded, so it ran again; what had completed did not.
    assert runner.effects() == ["first", "second", "second", "third"]


def test_a_runner_that_gives_up_ends_the_execution_failed_when_the_store_takes_that(
    postgres_url: str, runner_of: Any
) -> None:
    url = create_database(postgres_url, "outage_lock_timeout")
    parsed = make_url(url)
    conninfo = f"host={parsed.host} port={parsed.port} user={parsed.username} dbname={parsed.database}"
    with psycopg.connect(conninfo, autocommit=True) as admin:
        admin.execute("ALTER DATABASE outage_lock_timeout SET lock_timeout = '200ms'")
    runner = runner_of(url, {"KITARU_HEARTBEAT_SECONDS": "0.2", "KITARU_LEASE_SECONDS": "2"})
    wait_until(lambda: runner.effects() == ["first", "second"], timeout=60)
    with psycopg.connect(conninfo) as locker:  # another session holds the calls table
        locker.execute("LOCK TABLE calls IN ACCESS EXCLUSIVE MODE")
        runner.gate.write_text("go")
        out = runner.finish()
        locker.rollback()
    assert out.splitlines()[-1] == "failed KitaruExecutionError", (out, runner.stderr())
    failed = _execution(url, runner.exec_id)
    assert failed.status is kitaru.ExecutionStatus.FAILED
    assert failed.failure["origin"] == "backend"
    assert "lock timeout" in failed.failure["message"]
    assert f"kitaru executions retry {runner.exec_id}" in failed.failure["message"]
    retried = runner.cli("executions", "retry", runner.exec_id, "-o", "json")
    assert retried.returncode == 0, retried.stderr
    assert _execution(url, runner.exec_id).status is kitaru.ExecutionStatus.COMPLETED
    assert runner.effects() == ["first", "second", "second", "third"]
