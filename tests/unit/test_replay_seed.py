"""A replay's reused calls are copied inside the store: durable, listed, and run on their copies."""

from __future__ import annotations

from typing import Any

import pytest
from tests._helpers import retry_and_wait

import kitaru
from kitaru import KitaruClient, checkpoint, flow
from kitaru._connect import default_stores
from kitaru._types import copied_call_id
from kitaru.errors import KitaruUserCodeError

pytestmark = pytest.mark.both_modes

ES = kitaru.ExecutionStatus

runs: dict[str, int] = {}
state: dict[str, Any] = {}


@pytest.fixture(autouse=True)
def clear_state() -> None:
    runs.clear()
    state.clear()


@checkpoint
def step(i: int) -> int:
    runs[f"step_{i}"] = runs.get(f"step_{i}", 0) + 1
    if state.get("broken") == i:
        raise RuntimeError(f"step {i} is broken")
    return i * 10


@flow
def steps(n: int, shift: int = 0) -> int:
    return sum(step(i + (shift if i == 2 else 0)) for i in range(n))


def test_the_reused_calls_are_copies_in_the_store_marked_with_their_source() -> None:
    source = steps.run(4)
    assert source.wait(timeout=30) == 60
    runs.clear()

    replay = steps.replay(source.exec_id, from_="step_4")

    assert replay.wait(timeout=30) == 60
    assert runs == {"step_3": 1}
    store = default_stores().metadata
    originals = {c.invocation_id: c for c in store.load_journal(source.exec_id)}
    copies = store.list_calls(replay.exec_id)
    assert [c.invocation_id for c in copies] == ["step", "step_2", "step_3", "step_4"]
    for copy in copies[:3]:
        original = originals[copy.invocation_id]
        assert copy.call_id == copied_call_id(replay.exec_id, original.call_id)
        assert copy.attempts == () and copy.attempt_count == 0
        assert copy.input_fingerprint == original.input_fingerprint
        assert copy.output_artifact_id == original.output_artifact_id
        marker = {"exec_id": source.exec_id, "call_id": original.call_id}
        assert copy.metadata["kitaru"]["replayed_from"] == marker
    assert len(copies[3].attempts) == 1 and "replayed_from" not in copies[3].metadata.get("kitaru", {})
    listed = KitaruClient().executions.get(replay.exec_id).checkpoints
    assert [c.metadata["kitaru"]["replayed_from"]["call_id"] for c in listed[:3]] == [
        originals[c.invocation_id].call_id for c in listed[:3]
    ]


def test_a_retried_replay_reuses_the_copies_it_reads_back_from_the_store() -> None:
    source = steps.run(4)
    assert source.wait(timeout=30) == 60
    state["broken"] = 3
    runs.clear()

    replay = steps.replay(source.exec_id, from_="step_4")
    with pytest.raises(KitaruUserCodeError):
        replay.wait(timeout=30)
    state.clear()

    assert retry_and_wait(replay.exec_id).status is ES.COMPLETED
    assert runs == {"step_3": 2}  # the calls before the frontier never ran again


def test_a_reused_call_whose_arguments_changed_runs_again_on_its_copy() -> None:
    source = steps.run(4)
    assert source.wait(timeout=30) == 60
    runs.clear()

    replay = steps.replay(source.exec_id, from_="step_4", shift=5)

    assert replay.wait(timeout=30) == 0 + 10 + 70 + 30
    assert runs == {"step_7": 1, "step_3": 1}
    store = default_stores().metadata
    original = next(c for c in store.load_journal(source.exec_id) if c.invocation_id == "step_3")
    calls = {c.invocation_id: c for c in store.list_calls(replay.exec_id)}
    rerun = calls["step_3"]
    assert len(calls) == 4
    assert rerun.call_id == copied_call_id(replay.exec_id, original.call_id)
    assert [a.status.value for a in rerun.attempts] == ["completed"]
    assert rerun.metadata["kitaru"]["rerun_reason"] == "arguments changed"
    assert kitaru.load(replay.exec_id, "step_3") == 70
