"""kitaru.wait(): polling, release, continuation on input, validation, abort, names."""

from __future__ import annotations

import pytest
from pydantic import BaseModel
from tests._helpers import released, wait_until

import kitaru
from kitaru import KitaruClient, checkpoint, flow
from kitaru.errors import (
    KitaruContextError,
    KitaruExecutionError,
    KitaruStateError,
    KitaruUserCodeError,
    KitaruWaitAbortedError,
    KitaruWaitValidationError,
)

pytestmark = pytest.mark.both_modes


class Review(BaseModel):
    approved: bool
    note: str = ""


@checkpoint
def draft(topic: str) -> str:
    return f"draft about {topic}"


@checkpoint
def publish(text: str, review: dict[str, object]) -> str:
    return f"published {text} ({review['note']})"


def test_input_while_the_runner_polls_continues_in_the_same_runner() -> None:
    @flow
    def reviewed(topic: str) -> str:
        text = draft(topic)
        review = kitaru.wait(schema=Review, question="Publish?", metadata={"words": 3}, timeout=30)
        assert isinstance(review, Review)
        return publish(text, review.model_dump())

    handle = reviewed.run("agents")
    client = KitaruClient()
    execution = wait_until(lambda: (e := client.executions.get(handle.exec_id)).pending_wait and e)
    assert execution.status is kitaru.ExecutionStatus.WAITING
    pending = execution.pending_wait
    assert pending.name == "wait" and pending.question == "Publish?" and pending.metadata == {"words": 3}
    assert pending.schema["properties"]["approved"]["type"] == "boolean"
    assert client.executions.pending_waits(handle.exec_id)[0].wait_id == pending.wait_id
    client.executions.input(handle.exec_id, value={"approved": True, "note": "ok"})
    assert handle.wait(timeout=30) == "published draft about agents (ok)"
    done = client.executions.get(handle.exec_id)
    assert done.status is kitaru.ExecutionStatus.COMPLETED and done.run_count == 1
    assert [c.kind for c in done.checkpoints] == ["checkpoint", "wait", "checkpoint"]


def test_runner_releases_after_timeout_and_input_continues_the_execution() -> None:
    runs = {"draft": 0}

    @checkpoint
    def counted_draft(topic: str) -> str:
        runs["draft"] += 1
        return f"draft about {topic}"

    @flow
    def gated(topic: str) -> str:
        text = counted_draft(topic)
        approved = kitaru.wait(schema=bool, name="approve", timeout=0.2)
        return f"{text}: {'yes' if approved else 'no'}"

    handle = gated.run("durability")
    client = KitaruClient()
    # the runner leaves after the timeout; the execution stays waiting without a runner
    wait_until(lambda: released(client, handle.exec_id))
    execution = client.executions.get(handle.exec_id)
    assert execution.status is kitaru.ExecutionStatus.WAITING and not execution.orphaned
    client.executions.input(handle.exec_id, value=True)
    assert handle.wait(timeout=30) == "draft about durability: yes"  # the original handle sees the result
    assert runs["draft"] == 1  # the completed checkpoint was not run again
    assert client.executions.get(handle.exec_id).run_count == 2


def test_invalid_input_is_rejected_and_nothing_is_recorded() -> None:
    @flow
    def needs_int() -> int:
        return kitaru.wait(schema=int, timeout=30) * 2

    handle = needs_int.run()
    client = KitaruClient()
    wait_until(lambda: client.executions.pending_waits(handle.exec_id))
    with pytest.raises(KitaruWaitValidationError, match="does not match its schema"):
        client.executions.input(handle.exec_id, value="not a number")
    assert len(client.executions.pending_waits(handle.exec_id)) == 1
    client.executions.input(handle.exec_id, value=21)
    assert handle.wait(timeout=30) == 42
    with pytest.raises(KitaruStateError, match="no pending wait"):
        client.executions.input(handle.exec_id, value=1)


def test_input_to_a_cancelled_execution_is_refused_with_nothing_recorded() -> None:
    @flow
    def left_waiting() -> int:
        return kitaru.wait(schema=int, timeout=0.05) * 2

    handle = left_waiting.run()
    client = KitaruClient()
    wait_until(lambda: released(client, handle.exec_id))
    client.executions.cancel(handle.exec_id)
    with pytest.raises(KitaruStateError, match=r"already ended \(cancelled\): it has no pending wait"):
        client.executions.input(handle.exec_id, value=21)
    (wait_call,) = client.executions.get(handle.exec_id).checkpoints
    assert wait_call.status.value == "running"  # no answer was recorded


def test_abort_raises_in_the_flow_body_and_uncaught_cancels() -> None:
    @flow
    def aborted_flow() -> str:
        kitaru.wait(timeout=30)
        return "not reached"

    handle = aborted_flow.run()
    client = KitaruClient()
    wait_until(lambda: client.executions.pending_waits(handle.exec_id))
    client.executions.abort_wait(handle.exec_id)
    with pytest.raises(KitaruWaitAbortedError) as info:
        handle.wait(timeout=30)
    assert info.value.status is kitaru.ExecutionStatus.CANCELLED
    assert client.executions.get(handle.exec_id).status is kitaru.ExecutionStatus.CANCELLED

    @flow
    def catches_abort() -> str:
        try:
            kitaru.wait(name="gate", timeout=30)
        except KitaruWaitAbortedError:
            return "handled"
        return "continued"

    handle = catches_abort.run()
    wait_until(lambda: client.executions.pending_waits(handle.exec_id))
    client.executions.abort_wait(handle.exec_id, wait="gate")
    assert handle.wait(timeout=30) == "handled"


def test_gate_names_and_several_waits() -> None:
    @flow
    def two_gates() -> list[object]:
        first = kitaru.wait(timeout=30)
        second = kitaru.wait(timeout=30)
        third = kitaru.wait(name="final", schema=str, timeout=30)
        return [first, second, third]

    handle = two_gates.run()
    client = KitaruClient()
    for name, value in [("wait", None), ("wait_2", "ignored"), ("final", "done")]:
        pending = wait_until(lambda: client.executions.pending_waits(handle.exec_id))
        assert [p.name for p in pending] == [name]
        client.executions.input(handle.exec_id, wait=name, value=value)
    assert handle.wait(timeout=30) == [None, None, "done"]


def test_wait_only_in_the_flow_body() -> None:
    with pytest.raises(KitaruContextError, match="outside a running flow"):
        kitaru.wait()

    @checkpoint
    def waits_inside() -> None:
        kitaru.wait()

    @flow
    def f() -> None:
        waits_inside()

    with pytest.raises(KitaruUserCodeError, match="cannot be nested"):
        f.run().wait(timeout=30)


def test_divergence_when_code_changed_before_input() -> None:
    order = {"ab": True}

    @checkpoint
    def alpha() -> str:
        return "a"

    @checkpoint
    def beta() -> str:
        return "b"

    @flow
    def reorderable() -> str:
        first, second = (alpha, beta) if order["ab"] else (beta, alpha)
        out = first() + second()
        kitaru.wait(timeout=0.1)
        return out

    handle = reorderable.run()
    client = KitaruClient()
    wait_until(lambda: released(client, handle.exec_id))
    order["ab"] = False  # the code changed its checkpoint order meanwhile
    client.executions.input(handle.exec_id)
    with pytest.raises(KitaruExecutionError, match="diverged") as info:
        handle.wait(timeout=30)
    assert info.value.failure_origin == "divergence"


def test_logs_are_captured_per_call_in_order() -> None:
    import logging
    import sys

    @checkpoint
    def chatty(i: int) -> int:
        print(f"checkpoint {i} says hi")
        logging.getLogger("kitaru.test").warning("warning from %d", i)
        print(f"checkpoint {i} to stderr", file=sys.stderr)
        return i

    @flow
    def talks() -> int:
        print("flow body starts")
        total = chatty(1) + chatty(2)
        print("flow body ends")
        return total

    handle = talks.run()
    assert handle.wait(timeout=30) == 3
    client = KitaruClient()
    lines = [(e.invocation_id, e.source, e.message) for e in client.executions.logs(handle.exec_id)]
    assert lines == [
        (None, "stdout", "flow body starts"),
        ("chatty", "stdout", "checkpoint 1 says hi"),
        ("chatty", "logging", "warning from 1"),
        ("chatty", "stderr", "checkpoint 1 to stderr"),
        ("chatty_2", "stdout", "checkpoint 2 says hi"),
        ("chatty_2", "logging", "warning from 2"),
        ("chatty_2", "stderr", "checkpoint 2 to stderr"),
        (None, "stdout", "flow body ends"),
    ]
    only_second = client.executions.logs(handle.exec_id, checkpoint="chatty_2")
    assert [e.message for e in only_second] == [
        "checkpoint 2 says hi",
        "warning from 2",
        "checkpoint 2 to stderr",
    ]
    followed = list(client.executions.logs(handle.exec_id, follow=True))
    assert len(followed) == 8
