"""Replay and re-run rules: the replay frontier, same-work reuse, one path per operation."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from tests._helpers import retry_and_wait, wait_until

import kitaru
from kitaru import KitaruClient, checkpoint, flow
from kitaru.client import CallStatus, CheckpointCall
from kitaru.errors import KitaruStateError, KitaruUserCodeError

pytestmark = pytest.mark.both_modes

ES = kitaru.ExecutionStatus

runs: dict[str, int] = {}
state: dict[str, Any] = {}


def bump(name: str) -> None:
    runs[name] = runs.get(name, 0) + 1


@pytest.fixture(autouse=True)
def clear_state() -> None:
    runs.clear()
    state.clear()


@checkpoint
def a(x: str) -> str:
    bump("a")
    return f"a({x})"


@checkpoint
def b(x: str) -> str:
    bump("b")
    return f"b({x})"


@checkpoint
def c(x: str) -> str:
    bump("c")
    return f"c({x})"


@flow
def abc(x: str) -> str:
    return c(b(a(x)))


class Opaque:
    """A value the fingerprint does not support (a plain object)."""

    def __init__(self, value: str) -> None:
        self.value = value


@checkpoint
def opaque_len(box: Opaque) -> int:
    bump("opaque_len")
    return len(box.value)


@flow
def with_opaque(x: str) -> str:
    return c(f"{opaque_len(Opaque(x))}:{a(x)}")


def _checkpoints(exec_id: str) -> dict[str, CheckpointCall]:
    return {call.invocation_id: call for call in KitaruClient().executions.get(exec_id).checkpoints}


def _run(handle: Any) -> str:
    return str(handle.wait(timeout=30))


# -- 1. the replay frontier ---------------------------------------------------


def test_override_of_an_earlier_call_moves_the_frontier() -> None:
    source = abc.run("x")
    assert _run(source) == "c(b(a(x)))"
    runs.clear()

    replay = abc.replay(source.exec_id, from_="c", overrides={"checkpoint.a": "NEW"})

    assert _run(replay) == "c(b(NEW))"
    assert runs == {"b": 1, "c": 1}  # a was pinned (not run); b and c ran live from the new value
    calls = _checkpoints(replay.exec_id)
    assert calls["a"].metadata["kitaru"]["override"] is True
    assert "replayed_from" not in calls["b"].metadata.get("kitaru", {})
    spec = KitaruClient().executions.get(replay.exec_id).spec["replay"]
    assert spec["from"] == "a" and spec["requested_from"] == "c"


def test_override_after_the_from_call_keeps_the_from_call_as_frontier() -> None:
    source = abc.run("x")
    _run(source)
    runs.clear()

    replay = KitaruClient().executions.replay(source.exec_id, from_="b", overrides={"checkpoint.c": "PIN"})

    assert KitaruClient().executions.wait_for(replay.exec_id, timeout=30).status is ES.COMPLETED
    assert runs == {"b": 1}  # a reused, b live, c pinned
    assert kitaru.load(replay.exec_id, "c") == "PIN"


# -- 2. journal reuse is for the same work only --------------------------------


def test_replay_with_new_input_runs_calls_whose_arguments_changed() -> None:
    source = abc.run("x")
    _run(source)
    runs.clear()

    replay = abc.replay(source.exec_id, from_="c", x="y")

    assert _run(replay) == "c(b(a(y)))"
    assert runs == {"a": 1, "b": 1, "c": 1}
    calls = _checkpoints(replay.exec_id)
    for name in ("a", "b"):
        info = calls[name].metadata["kitaru"]
        assert info["rerun_reason"] == "arguments changed"
        assert len(info["recorded_fingerprint"]) == len(info["fingerprint"]) == 64
        assert info["recorded_fingerprint"] != info["fingerprint"]
        assert calls[name].status is CallStatus.COMPLETED
        assert [attempt.status.value for attempt in calls[name].attempts] == ["completed"]
    assert kitaru.load(replay.exec_id, "a") == "a(y)"


def test_replay_with_unchanged_input_reuses_the_calls_before_the_frontier() -> None:
    source = abc.run("x")
    _run(source)
    runs.clear()

    replay = abc.replay(source.exec_id, from_="c", x="x")

    assert _run(replay) == "c(b(a(x)))"
    assert runs == {"c": 1}  # a and b were reused: the same work
    calls = _checkpoints(replay.exec_id)
    assert "rerun_reason" not in calls["a"].metadata.get("kitaru", {})
    assert calls["a"].metadata["kitaru"]["replayed_from"]["exec_id"] == source.exec_id


def test_calls_whose_arguments_cannot_be_fingerprinted_are_reused_by_invocation_id() -> None:
    source = with_opaque.run("four")
    assert _run(source) == "c(4:a(four))"
    runs.clear()

    replay = with_opaque.replay(source.exec_id, from_="c", x="seven!")

    # opaque_len's argument has no fingerprint: it is reused by its invocation id (4, not 6);
    # a's argument changed: it runs live.
    assert _run(replay) == "c(4:a(seven!))"
    assert runs == {"a": 1, "c": 1}


@flow
def fanned(xs: list[str]) -> str:
    return c("+".join(f.result() for f in a.map(xs)))


def test_submitted_calls_follow_the_same_work_rule() -> None:
    source = fanned.run(["p", "q", "r"])
    assert _run(source) == "c(a(p)+a(q)+a(r))"
    runs.clear()

    replay = fanned.replay(source.exec_id, from_="c", xs=["p", "Q", "r"])

    assert _run(replay) == "c(a(p)+a(Q)+a(r))"
    assert runs == {"a": 1, "c": 1}  # only a_2, whose argument changed, ran again
    calls = _checkpoints(replay.exec_id)
    assert calls["a_2"].metadata["kitaru"]["rerun_reason"] == "arguments changed"
    assert "rerun_reason" not in calls["a"].metadata["kitaru"]


@checkpoint
def prompt_step(prompt: str) -> str:
    bump("prompt_step")
    return prompt.upper()


@checkpoint
def gate(text: str) -> str:
    bump("gate")
    if state.get("broken", True):
        raise RuntimeError("gate is broken")
    return f"[{text}]"


@flow
def prompted() -> str:
    return gate(prompt_step(state.get("prompt", "first")))


@pytest.mark.parametrize("cache", [True, False])
def test_retry_runs_a_completed_call_whose_arguments_changed(cache: bool) -> None:
    handle = prompted.run(cache=cache)  # the fingerprint is recorded with or without the cache
    with pytest.raises(KitaruUserCodeError, match="gate is broken"):
        handle.wait(timeout=30)
    assert runs == {"prompt_step": 1, "gate": 1}
    state.update(broken=False, prompt="second")

    client = KitaruClient()
    client.executions.retry(handle.exec_id)
    done = client.executions.wait_for(handle.exec_id, timeout=30)

    assert done.status is ES.COMPLETED
    assert runs == {"prompt_step": 2, "gate": 2}
    assert kitaru.load(handle.exec_id, "gate") == "[SECOND]"
    step = _checkpoints(handle.exec_id)["prompt_step"]
    assert step.metadata["kitaru"]["rerun_reason"] == "arguments changed"
    assert [attempt.status.value for attempt in step.attempts] == ["completed", "completed"]
    logs = [entry.message for entry in client.executions.logs(handle.exec_id)]
    assert any("prompt_step" in line and "arguments changed" in line for line in logs), logs


def test_retry_with_unchanged_arguments_reuses_the_completed_call() -> None:
    handle = prompted.run()
    with pytest.raises(KitaruUserCodeError):
        handle.wait(timeout=30)
    state["broken"] = False

    client = KitaruClient()
    client.executions.retry(handle.exec_id)

    assert client.executions.wait_for(handle.exec_id, timeout=30).status is ES.COMPLETED
    assert runs == {"prompt_step": 1, "gate": 2}
    assert "rerun_reason" not in _checkpoints(handle.exec_id)["prompt_step"].metadata.get("kitaru", {})


# -- 3. one path per lifecycle operation -----------------------------------------


@flow
def other_flow(x: str) -> str:
    return a(x)


def test_replay_of_another_flows_execution_is_refused() -> None:
    source = other_flow.run("x")
    _run(source)
    runs.clear()

    with pytest.raises(KitaruStateError, match=r"'other_flow'.*'abc'|'abc'.*'other_flow'"):
        abc.replay(source.exec_id, from_="a")

    assert runs == {}
    assert len(KitaruClient().executions.list()) == 1  # no execution was started


def test_flow_replay_checks_the_state_like_the_client() -> None:
    release = threading.Event()

    @checkpoint
    def held() -> str:
        release.wait(10)
        return "done"

    @flow
    def holding() -> str:
        return held()

    handle = holding.run()
    client = KitaruClient()
    try:
        wait_until(lambda: client.executions.get(handle.exec_id).status is ES.RUNNING)
        with pytest.raises(KitaruStateError, match="replay an execution that ended"):
            holding.replay(handle.exec_id, from_="held")
        with pytest.raises(KitaruStateError, match="replay an execution that ended"):
            client.executions.get(handle.exec_id).replay(from_="held")
    finally:
        release.set()
    assert handle.wait(timeout=30) == "done"
    assert len(client.executions.list(flow="holding")) == 1


def test_execution_replay_goes_through_the_client_operation() -> None:
    source = abc.run("x")
    _run(source)
    runs.clear()

    replay = KitaruClient().executions.get(source.exec_id).replay(from_="c", overrides={"checkpoint.a": "Z"})

    assert KitaruClient().executions.wait_for(replay.exec_id, timeout=30).status is ES.COMPLETED
    assert kitaru.load(replay.exec_id, "c") == "c(b(Z))"


def test_a_pinned_output_stays_pinned_when_the_replay_is_retried() -> None:
    state["broken"] = False
    source = prompted.run()
    assert _run(source) == "[FIRST]"
    state.update(broken=True, prompt="changed")
    runs.clear()

    replay = prompted.replay(source.exec_id, from_="gate", overrides={"checkpoint.prompt_step": "PIN"})
    with pytest.raises(KitaruUserCodeError):
        replay.wait(timeout=30)
    state["broken"] = False

    assert retry_and_wait(replay.exec_id).status is ES.COMPLETED
    assert runs == {"gate": 2}  # prompt_step never ran: its pinned output was reused
    assert kitaru.load(replay.exec_id, "gate") == "[PIN]"
