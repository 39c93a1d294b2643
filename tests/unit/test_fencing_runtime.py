"""A runner whose execution another runner claimed stops at its next boundary and writes nothing.

Here the "other runner" is this test claiming the execution in the store while the flow
runs in a thread of this process, as a resuming process would.
"""

from __future__ import annotations

import threading

import pytest
from tests._helpers import wait_until

import kitaru
from kitaru import KitaruClient, checkpoint, flow
from kitaru._types import ExecutionStatus

pytestmark = pytest.mark.both_modes

ES = kitaru.ExecutionStatus

gate = threading.Event()
inside = threading.Event()
swallowed: list[str] = []


@pytest.fixture(autouse=True)
def _reset() -> None:
    gate.clear()
    inside.clear()
    swallowed.clear()


@checkpoint
def stubborn() -> int:
    inside.set()
    assert gate.wait(30)
    try:
        kitaru.save("notes", {"late": True})  # refused: another runner holds the execution
    except Exception as exc:  # user code that swallows everything cannot swallow the fence
        swallowed.append(type(exc).__name__)
    return 1


@checkpoint
def after() -> int:
    swallowed.append("after ran")
    return 2


@flow
def taken_over() -> int:
    try:
        value = stubborn()
    except Exception as exc:
        swallowed.append(type(exc).__name__)
        value = 0
    return value + after()


def _take_over(client: KitaruClient, exec_id: str, *, status: ExecutionStatus = ES.RUNNING) -> int:
    """Claim the execution as a resuming process does; return the new epoch."""
    store = client._store
    record = store.get_execution(exec_id)
    claimed = store.claim_execution(
        exec_id, runner_id="elsewhere:1:0123456789ab", expected=[status], expected_runner=record.runner_id
    )
    assert claimed is not None
    return claimed.epoch


def test_user_code_cannot_swallow_the_fence(capfd: pytest.CaptureFixture[str]) -> None:
    client = KitaruClient()
    handle = taken_over.run()
    assert inside.wait(30)
    epoch = _take_over(client, handle.exec_id)
    before = client.executions.get(handle.exec_id)
    gate.set()
    with pytest.raises(TimeoutError):  # the handle follows the execution, now someone else's
        handle.wait(timeout=0.5)
    assert swallowed == []  # neither the checkpoint nor the flow body saw an exception
    after_stop = client.executions.get(handle.exec_id)
    assert after_stop.status is ES.RUNNING and after_stop.runner_id == "elsewhere:1:0123456789ab"
    assert after_stop.checkpoints == before.checkpoints  # no attempt, output or saved artifact
    assert client.artifacts.list(handle.exec_id, kind="context") == []
    err = capfd.readouterr().err
    assert f"execution {handle.exec_id} was taken over by another runner (epoch {epoch - 1} → {epoch})" in err
    # The runner that took over ends it; the first handle then sees that end.
    client._store.finish_execution(handle.exec_id, ES.COMPLETED, epoch=epoch)
    assert handle.wait(timeout=10) is None


@flow
def asks() -> int:
    answer = kitaru.wait(schema=int, question="How many?", timeout=600)
    return int(answer) + after()


def test_a_waiting_runner_that_was_taken_over_stops_polling(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KITARU_HEARTBEAT_SECONDS", "0.05")
    monkeypatch.setenv("KITARU_LEASE_SECONDS", "5")
    client = KitaruClient()
    handle = asks.run()
    wait_until(lambda: client.executions.get(handle.exec_id).pending_waits, timeout=30)
    epoch = _take_over(client, handle.exec_id, status=ES.WAITING)
    # Its heartbeat finds out; the poll stops without waiting for the wait's timeout.
    wait_until(lambda: f"(epoch {epoch - 1} → {epoch})" in capfd.readouterr().err, timeout=30)
    client.executions.input(handle.exec_id, value=1)  # answered now: the stale runner must not go on
    assert swallowed == []
    execution = client.executions.get(handle.exec_id)
    assert execution.runner_id == "elsewhere:1:0123456789ab"
    assert [c.invocation_id for c in execution.checkpoints] == ["wait"]


def test_a_runner_does_not_take_back_an_execution_taken_over_before_it_started(
    capfd: pytest.CaptureFixture[str],
) -> None:
    from kitaru.runtime.engine import RunSettings, create_execution, run_in_place, source_reference

    client = KitaruClient()
    store, artifacts = client._store, client._artifacts
    runner = "here:1:0123456789ab"
    exec_id = create_execution(
        store,
        artifacts,
        flow_name="taken_over",
        args=(),
        kwargs={},
        spec={},
        source=source_reference(taken_over.func),
        runner_id=runner,
    )
    # Its creator stalled before the run began; another process recovered the orphan meanwhile.
    assert store.claim_execution(
        exec_id, runner_id="elsewhere:2:0123456789ab", expected=[ES.PENDING], expected_runner=runner
    )
    gate.set()
    outcome = run_in_place(
        exec_id,
        taken_over._entry,
        (),
        {},
        store=store,
        artifacts=artifacts,
        settings=RunSettings(runner_id=runner),
    )
    assert outcome.status is ES.WAITING  # it left: the execution is the other runner's
    assert not inside.is_set() and swallowed == []
    record = store.get_execution(exec_id)
    assert record.runner_id == "elsewhere:2:0123456789ab" and record.epoch == 1 and record.run_count == 1
    assert f"execution {exec_id} was taken over by another runner (epoch 0 → 1)" in capfd.readouterr().err
