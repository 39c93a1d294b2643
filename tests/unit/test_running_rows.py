"""One commit per short checkpoint: the running row is deferred, and still written when it matters."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

import kitaru
from kitaru import KitaruClient, checkpoint, flow
from kitaru._types import CallStatus
from kitaru.runtime.pending import RUNNING_ROW_DELAY_S
from kitaru.store.sql import SqlStore

pytestmark = pytest.mark.both_modes

_started = threading.Event()
_release = threading.Event()


@checkpoint
def slow() -> str:
    _started.set()
    _release.wait(30)
    return "slow done"


@checkpoint
def quick(i: int) -> int:
    return i + 1


@checkpoint
def quick_logging(i: int) -> int:
    kitaru.log(seen=i)
    return i


@flow
def slow_flow() -> str:
    return slow()


@flow
def quick_flow(n: int) -> int:
    return sum(quick(i) for i in range(n)) + quick_logging(7)


def test_a_call_running_longer_than_the_delay_shows_its_running_attempt() -> None:
    _started.clear()
    _release.clear()
    handle = slow_flow.run()
    try:
        assert _started.wait(30)
        client = KitaruClient()
        deadline = time.monotonic() + 30
        calls = []
        while time.monotonic() < deadline:
            calls = client.executions.get(handle.exec_id).checkpoints
            if calls:
                break
            time.sleep(RUNNING_ROW_DELAY_S / 2)
        assert [(c.name, c.status) for c in calls] == [("slow", CallStatus.RUNNING)]
        assert [a.status for a in calls[0].attempts] == [CallStatus.RUNNING]
    finally:
        _release.set()
    assert handle.wait(timeout=30) == "slow done"
    done = KitaruClient().executions.get(handle.exec_id).checkpoints
    assert [(c.status, [a.status for a in c.attempts]) for c in done] == [
        (CallStatus.COMPLETED, [CallStatus.COMPLETED])
    ]


def test_short_calls_end_with_one_completed_attempt_each_and_keep_log_metadata() -> None:
    handle = quick_flow.run(20)
    assert handle.wait(timeout=60) == sum(range(1, 21)) + 7
    calls = KitaruClient().executions.get(handle.exec_id).checkpoints
    assert len(calls) == 21
    for c in calls:
        assert c.status is CallStatus.COMPLETED
        assert [(a.number, a.status) for a in c.attempts] == [(1, CallStatus.COMPLETED)]
    assert calls[-1].metadata == {"seen": 7}


_KILLED = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from kitaru import checkpoint, flow

    @checkpoint
    def hang() -> int:
        Path(sys.argv[1]).write_text("started")
        time.sleep(60)
        return 1

    @flow
    def hanging() -> int:
        return hang()

    hanging.run().wait()
    """
)


def test_an_attempt_killed_after_the_delay_stays_recorded(tmp_path: Path) -> None:
    home, marker = tmp_path / "home", tmp_path / "started"
    env = {"KITARU_HOME": str(home), "PATH": "/usr/bin:/bin"}
    child = subprocess.Popen([sys.executable, "-c", _KILLED, str(marker)], env=env)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert time.monotonic() < deadline and child.poll() is None
            time.sleep(0.01)
        time.sleep(RUNNING_ROW_DELAY_S * 2 + 0.3)
    finally:
        child.kill()
        child.wait(30)
    store = SqlStore.open_sqlite(home / "kitaru.db")
    try:
        (execution,) = store.list_executions()
        (call,) = store.list_calls(execution.exec_id)
        assert call.status is CallStatus.RUNNING and call.attempt_count == 1
        assert [a.status for a in call.attempts] == [CallStatus.RUNNING]
    finally:
        store.close()
