"""resume / retry / replay / cancel through KitaruClient, with every state check."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from tests._helpers import released, wait_until

import kitaru
from kitaru import KitaruClient, checkpoint, flow
from kitaru.errors import KitaruExecutionError, KitaruStateError, KitaruUsageError, KitaruUserCodeError

pytestmark = pytest.mark.both_modes

ES = kitaru.ExecutionStatus


runs: dict[str, int] = {}


def bump(name: str) -> None:
    runs[name] = runs.get(name, 0) + 1


@pytest.fixture(autouse=True)
def clear_runs() -> None:
    runs.clear()


@checkpoint
def fetch(i: int) -> int:
    bump("fetch")
    return i * 10


@checkpoint
def combine(values: list[int], bonus: int) -> int:
    bump("combine")
    return sum(values) + bonus


@flow
def pipeline(n: int, bonus: int = 0) -> int:
    values = [fetch(i) for i in range(n)]
    return combine(values, bonus)


def test_retry_reruns_a_failed_execution_in_place() -> None:
    broken = {"on": True}

    @checkpoint
    def fragile(x: int) -> int:
        bump("fragile")
        if broken["on"]:
            raise RuntimeError("fragile broke")
        return x

    @flow
    def uses_fragile(n: int) -> int:
        return fragile(fetch(n))

    handle = uses_fragile.run(2)
    with pytest.raises(KitaruUserCodeError):
        handle.wait(timeout=30)
    client = KitaruClient()
    broken["on"] = False
    execution = client.executions.retry(handle.exec_id[:10])  # a unique prefix works
    assert execution.exec_id == handle.exec_id
    # Returned as the run starts: without its calls (the run changes them), but counted.
    assert execution.checkpoints == () and execution.checkpoint_count is not None
    assert execution.checkpoint_count >= 1
    done = client.executions.wait_for(handle.exec_id, timeout=30)
    assert done.status is ES.COMPLETED and runs == {"fetch": 1, "fragile": 2}
    assert [c.invocation_id for c in done.checkpoints] == ["fetch", "fragile"]
    with pytest.raises(KitaruStateError, match="completed; start a new execution from it with replay"):
        client.executions.retry(handle.exec_id)
    with pytest.raises(KitaruStateError, match="cannot be resumed: it completed"):
        client.executions.resume(handle.exec_id)


def test_state_checks_of_running_and_waiting_executions() -> None:
    gate = threading.Event()

    @checkpoint
    def blocked() -> str:
        gate.wait(10)
        return "free"

    @flow
    def running_flow() -> str:
        return blocked()

    handle = running_flow.run()
    client = KitaruClient()
    wait_until(lambda: client.executions.get(handle.exec_id).status is ES.RUNNING)
    with pytest.raises(KitaruStateError, match="nothing to resume"):
        client.executions.resume(handle.exec_id)
    with pytest.raises(KitaruStateError, match="has not failed"):
        client.executions.retry(handle.exec_id)
    with pytest.raises(KitaruStateError, match="replay an execution that ended"):
        client.executions.replay(handle.exec_id, from_="blocked")
    with pytest.raises(KitaruStateError, match="no pending wait"):
        client.executions.input(handle.exec_id, value=1)
    gate.set()
    handle.wait(timeout=30)

    @flow
    def waiting_flow() -> int:
        return kitaru.wait(schema=int, timeout=30)

    handle = waiting_flow.run()
    wait_until(lambda: client.executions.pending_waits(handle.exec_id))
    with pytest.raises(KitaruStateError, match="waits for input at 'wait'"):
        client.executions.resume(handle.exec_id)
    client.executions.input(handle.exec_id, value=3)
    assert handle.wait(timeout=30) == 3
    with pytest.raises(KitaruStateError, match="No execution"):
        client.executions.get("ffffffff")


def test_ambiguous_prefix_is_a_clear_error() -> None:
    client = KitaruClient()
    handles = [pipeline.run(1) for _ in range(3)]
    for h in handles:
        h.wait(timeout=30)
    common = handles[0].exec_id[:4]  # time-ordered ids share their first characters
    with pytest.raises(KitaruStateError, match=r"several|ambiguous|matches"):
        client.executions.get(common)


def test_replay_selectors_overrides_and_new_inputs() -> None:
    source = pipeline.run(3, bonus=1)
    assert source.wait(timeout=30) == 31
    client = KitaruClient()
    calls = client.executions.get(source.exec_id).checkpoints
    runs.clear()

    by_name = client.executions.replay(source.exec_id, from_="combine")
    assert by_name.original_exec_id == source.exec_id and by_name.exec_id != source.exec_id
    assert client.executions.wait_for(by_name.exec_id, timeout=30).status is ES.COMPLETED
    assert runs == {"combine": 1}  # fetch calls before the frontier were reused
    assert kitaru.load(by_name.exec_id, "combine") == 31

    runs.clear()
    by_invocation = client.executions.replay(source.exec_id, from_="fetch_2", bonus=100)
    client.executions.wait_for(by_invocation.exec_id, timeout=30)
    assert runs == {"fetch": 2, "combine": 1}  # fetch_2, fetch_3 and combine ran live
    assert kitaru.load(by_invocation.exec_id, "combine") == 130

    runs.clear()
    by_call_id = client.executions.replay(
        source.exec_id, from_=calls[2].call_id, overrides={"checkpoint.fetch_3": 1000}
    )
    client.executions.wait_for(by_call_id.exec_id, timeout=30)
    assert runs == {"combine": 1}  # fetch_3 was pinned, not run
    assert kitaru.load(by_call_id.exec_id, "combine") == 1011
    pinned = next(
        c for c in client.executions.get(by_call_id.exec_id).checkpoints if c.invocation_id == "fetch_3"
    )
    assert pinned.metadata["kitaru"]["override"] is True

    handle = pipeline.replay(source.exec_id, from_="combine", bonus=5)  # the flow-level form
    assert handle.wait(timeout=30) == 35


def test_replay_selector_and_override_errors() -> None:
    @flow
    def explicit_ids() -> int:
        return fetch(1, id="left") + fetch(2, id="right")

    source = explicit_ids.run()
    source.wait(timeout=30)
    client = KitaruClient()
    with pytest.raises(KitaruStateError, match=r"ambiguous.*'left'.*'right'"):
        client.executions.replay(source.exec_id, from_="fetch")
    with pytest.raises(KitaruStateError, match=r"no call matching 'nope'\. Candidates: 'left'"):
        client.executions.replay(source.exec_id, from_="nope")
    with pytest.raises(KitaruUsageError, match="not of the form 'checkpoint"):
        client.executions.replay(source.exec_id, from_="left", overrides={"left": 3})
    with pytest.raises(KitaruStateError, match="no call matching 'ghost'"):
        client.executions.replay(source.exec_id, from_="left", overrides={"checkpoint.ghost": 3})
    with pytest.raises(KitaruUsageError, match="no parameter"):
        client.executions.replay(source.exec_id, from_="left", speed=3)
    assert (
        client.executions.list(flow="explicit_ids") and len(client.executions.list(flow="explicit_ids")) == 1
    )


def test_replay_reuses_answers_of_waits_before_the_frontier() -> None:
    @flow
    def asks_then_fetches() -> int:
        answer = kitaru.wait(schema=int, timeout=30)
        return fetch(answer)

    source = asks_then_fetches.run()
    client = KitaruClient()
    wait_until(lambda: client.executions.pending_waits(source.exec_id))
    client.executions.input(source.exec_id, value=4)
    assert source.wait(timeout=30) == 40
    replayed = client.executions.replay(source.exec_id, from_="fetch")
    done = client.executions.wait_for(replayed.exec_id, timeout=30)
    assert done.status is ES.COMPLETED and kitaru.load(replayed.exec_id, "fetch") == 40
    # replaying from the wait asks again
    again = client.executions.replay(source.exec_id, from_="wait")
    wait_until(lambda: client.executions.pending_waits(again.exec_id))
    client.executions.input(again.exec_id, value=7)
    assert client.executions.wait_for(again.exec_id, timeout=30).status is ES.COMPLETED
    assert kitaru.load(again.exec_id, "fetch") == 70


def test_cancel_a_waiting_execution_whose_runner_left() -> None:
    @flow
    def parked() -> None:
        kitaru.wait(timeout=0.1)

    handle = parked.run()
    client = KitaruClient()
    wait_until(lambda: released(client, handle.exec_id))
    cancelled = client.executions.cancel(handle.exec_id)
    assert cancelled.status is ES.CANCELLED
    with pytest.raises(KitaruExecutionError):
        handle.wait(timeout=10)
    with pytest.raises(KitaruStateError, match="already ended"):
        client.executions.cancel(handle.exec_id)


def test_cancel_a_waiting_execution_with_a_polling_runner() -> None:
    @flow
    def polling() -> None:
        kitaru.wait(timeout=30)

    handle = polling.run()
    client = KitaruClient()
    wait_until(lambda: client.executions.pending_waits(handle.exec_id))
    client.executions.cancel(handle.exec_id)
    with pytest.raises(KitaruExecutionError, match="was cancelled"):
        handle.wait(timeout=10)
    assert client.executions.get(handle.exec_id).status is ES.CANCELLED


def test_cancel_a_running_sync_execution_stops_at_the_next_boundary() -> None:
    started = threading.Event()
    release = threading.Event()

    @checkpoint
    def slow_step() -> str:
        started.set()
        release.wait(10)
        bump("slow")
        return "slow done"

    @checkpoint
    def after_step() -> str:
        bump("after")
        return "after"

    @flow
    def two() -> str:
        return slow_step() + after_step()

    handle = two.run()
    started.wait(10)
    client = KitaruClient()
    client.executions.cancel(handle.exec_id)
    release.set()
    with pytest.raises(KitaruExecutionError, match="was cancelled"):
        handle.wait(timeout=10)
    assert runs == {"slow": 1}  # the running call finished; the next one never started
    execution = client.executions.get(handle.exec_id)
    assert execution.status is ES.CANCELLED and [c.status.value for c in execution.checkpoints] == [
        "completed"
    ]


def test_cancel_interrupts_a_running_async_checkpoint() -> None:
    started = threading.Event()

    @checkpoint
    async def long_async() -> str:
        started.set()
        await asyncio.sleep(30)
        return "never"

    @flow
    async def async_flow() -> str:
        return await long_async()

    handle = async_flow.run()
    assert started.wait(10)
    t = time.monotonic()
    KitaruClient().executions.cancel(handle.exec_id)
    with pytest.raises(KitaruExecutionError, match="was cancelled"):
        handle.wait(timeout=10)
    assert time.monotonic() - t < 5
    call = KitaruClient().executions.get(handle.exec_id).checkpoints[0]
    assert call.status.value == "failed" and call.failure is not None
    assert call.failure.origin is kitaru.FailureOrigin.CANCELLED


def test_execution_convenience_methods() -> None:
    handle = pipeline.run(2)
    handle.wait(timeout=30)
    execution = KitaruClient().executions.get(handle.exec_id)
    assert execution.refresh().status is ES.COMPLETED
    replayed = execution.replay(from_="combine", bonus=2)
    assert KitaruClient().executions.wait_for(replayed.exec_id, timeout=30).status is ES.COMPLETED
    with pytest.raises(KitaruStateError, match="already ended"):
        execution.cancel()
