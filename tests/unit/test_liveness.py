"""Liveness comes from the lease first; the PID says "dead" only when that is certain.

A runner whose heartbeat is older than the lease is gone even when a process
with its PID exists (a stopped process, a reused PID); a runner with a fresh
heartbeat is alive unless its process is certainly dead (same host, boot and
PID namespace, and no process with its PID and start time).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from tests._helpers import wait_until

import kitaru
from kitaru import KitaruClient, checkpoint, flow
from kitaru._leases import RunnerIdentity, is_orphaned, new_runner_id, runner_gone
from kitaru._types import ExecutionStatus, new_id, utcnow
from kitaru.errors import KitaruStateError
from kitaru.records import ExecutionRecord
from kitaru.runtime.engine import create_execution, source_reference

pytestmark = pytest.mark.both_modes

ES = kitaru.ExecutionStatus


@checkpoint
def double(x: int) -> int:
    return 2 * x


@flow
def doubling(x: int) -> int:
    return double(x)


def _held(
    client: KitaruClient, runner_id: str, *, beat_age: float, status: ExecutionStatus = ES.RUNNING
) -> str:
    """Record an execution of ``doubling`` held by ``runner_id``, its last heartbeat ``beat_age`` s ago."""
    now = utcnow()
    beat = now - dt.timedelta(seconds=beat_age)
    record = ExecutionRecord(
        exec_id=new_id(),
        flow_name="doubling",
        status=status,
        created_at=beat,
        updated_at=beat,
        started_at=beat,
        source=source_reference(doubling.func),
        runner_id=runner_id,
        heartbeat_at=beat,
        run_count=1,
    )
    client._store.create_execution(record)
    return record.exec_id


def _this_runner(**changes: object) -> str:
    identity = RunnerIdentity.parse(new_runner_id())
    assert identity is not None and identity.certain
    return str(dataclasses.replace(identity, **changes))  # type: ignore[arg-type]


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_live_pid_with_a_heartbeat_older_than_the_lease_is_orphaned() -> None:
    client = KitaruClient()
    exec_id = _held(client, _this_runner(), beat_age=3600)  # this very process, alive
    assert client.executions.get(exec_id).orphaned
    cancelled = client.executions.cancel(exec_id)
    assert cancelled.status is ES.CANCELLED


def test_resume_takes_over_a_live_pid_whose_lease_expired(monkeypatch: pytest.MonkeyPatch) -> None:
    client = KitaruClient()
    # The inputs are needed to continue: store them as a run would.
    exec_id = create_execution(
        client._store,
        client._artifacts,
        flow_name="doubling",
        args=(21,),
        kwargs={},
        spec={},
        source=source_reference(doubling.func),
        runner_id=_this_runner(),
    )
    client._store.start_execution(exec_id, runner_id=_this_runner())
    with pytest.raises(KitaruStateError, match="alive"):
        client.executions.resume(exec_id)  # a fresh heartbeat: its runner holds it
    monkeypatch.setenv("KITARU_HEARTBEAT_SECONDS", "0.05")
    monkeypatch.setenv("KITARU_LEASE_SECONDS", "0.2")
    wait_until(lambda: client.executions.get(exec_id).orphaned, timeout=10)  # nobody renews it
    client.executions.resume(exec_id)
    done = client.executions.wait_for(exec_id, timeout=30)
    assert done.status is ES.COMPLETED and kitaru.load(exec_id, "double") == 42


@pytest.mark.parametrize(
    "elsewhere",
    [{"pid_ns": "4026500001"}, {"boot": "0000000000000000"}, {"host": "another-box"}],
    ids=["another-pid-namespace", "another-boot", "another-host"],
)
def test_a_fresh_runner_whose_pid_means_nothing_here_is_alive(elsewhere: dict[str, str]) -> None:
    client = KitaruClient()
    # No process here has this PID, but the runner's PID is not one of this host's, boot's or
    # namespace's: only its heartbeat speaks for it, and that is fresh.
    exec_id = _held(client, _this_runner(pid=_dead_pid(), **elsewhere), beat_age=0)
    execution = client.executions.get(exec_id)
    assert not execution.orphaned
    with pytest.raises(KitaruStateError, match="alive"):
        client.executions.resume(exec_id)
    client.executions.cancel(exec_id)  # a live runner stops itself at its next boundary
    assert client.executions.get(exec_id).status is ES.RUNNING


def test_a_reused_pid_does_not_keep_a_dead_runner_alive() -> None:
    client = KitaruClient()
    # This process's PID, but another start time: the runner's process ended and the PID was reused.
    reused = _this_runner(start="1")
    fresh = _held(client, reused, beat_age=0)
    stale = _held(client, reused, beat_age=3600)
    assert client.executions.get(fresh).orphaned  # certain at once, without waiting for the lease
    assert client.executions.get(stale).orphaned
    assert client.executions.cancel(fresh).status is ES.CANCELLED
    assert client.executions.cancel(stale).status is ES.CANCELLED


def test_a_dead_runner_on_this_host_is_orphaned_at_once() -> None:
    client = KitaruClient()
    exec_id = _held(client, _this_runner(pid=_dead_pid()), beat_age=0)
    assert client.executions.get(exec_id).orphaned


def test_runner_ids_of_the_older_form_count_by_their_lease_only() -> None:
    client = KitaruClient()
    old_form = f"{os.uname().nodename}:{_dead_pid()}:0123456789ab"
    fresh = _held(client, old_form, beat_age=0)
    stale = _held(client, old_form, beat_age=3600)
    assert not client.executions.get(fresh).orphaned
    assert client.executions.get(stale).orphaned
    assert not runner_gone(old_form)


def test_waiting_and_ended_executions() -> None:
    now = utcnow()
    base = ExecutionRecord(
        exec_id=new_id(), flow_name="f", status=ES.COMPLETED, created_at=now, updated_at=now
    )
    assert not is_orphaned(dataclasses.replace(base, runner_id=_this_runner(start="1")))
    released = dataclasses.replace(base, status=ES.WAITING, runner_id=None, heartbeat_at=now)
    assert not is_orphaned(released, now=now + dt.timedelta(days=1))
    held = dataclasses.replace(released, runner_id=_this_runner())
    assert not is_orphaned(held, now=now)
    assert is_orphaned(held, now=now + dt.timedelta(days=1))


_STOPPABLE = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from kitaru import checkpoint, flow

    @checkpoint
    def first() -> int:
        return 1

    @flow
    def sleepy() -> int:
        value = first()
        Path(sys.argv[1]).write_text("after first")
        time.sleep(120)
        return value

    handle = sleepy.run()
    print(handle.exec_id, flush=True)
    handle.wait()
    """
)


def test_a_stopped_runner_is_orphaned_once_its_lease_expires(tmp_path: Path) -> None:
    script, marker = tmp_path / "stoppable.py", tmp_path / "marker"
    script.write_text(_STOPPABLE)
    lease = {"KITARU_HEARTBEAT_SECONDS": "0.1", "KITARU_LEASE_SECONDS": "3"}
    runner = subprocess.Popen(
        [sys.executable, str(script), str(marker)],
        env={**os.environ, **lease},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert runner.stdout is not None
        exec_id = runner.stdout.readline().strip()
        wait_until(marker.exists, timeout=30)
        client = KitaruClient()
        os.environ.update(lease)
        try:
            assert not client.executions.get(exec_id).orphaned  # it beats
            runner.send_signal(signal.SIGSTOP)  # alive, its PID taken, but it holds nothing now
            wait_until(lambda: client.executions.get(exec_id).orphaned, timeout=30)
            assert client.executions.cancel(exec_id).status is ES.CANCELLED
        finally:
            for name in lease:
                del os.environ[name]
    finally:
        runner.kill()
        runner.wait(timeout=30)
