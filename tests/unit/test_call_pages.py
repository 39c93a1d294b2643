"""Reading long executions: every artifact matched to its call, and calls read a page at a time."""

from __future__ import annotations

import pytest

import kitaru
from kitaru import KitaruClient, checkpoint, flow
from kitaru.errors import KitaruUsageError

pytestmark = pytest.mark.both_modes

N = 240


@checkpoint
def step(i: int) -> int:
    if i % 3 == 0:
        kitaru.save(f"note_{i}", {"i": i}, type="context")
    if i % 5 == 0:
        kitaru.save(f"extra_{i}", [i], type="blob")
    return i * 10


@flow
def many(n: int) -> int:
    return sum(step(i) for i in range(n))


def _expected_names(i: int, invocation_id: str) -> list[str]:
    names = [invocation_id]  # the output first, then what the call saved, in order
    if i % 3 == 0:
        names.append(f"note_{i}")
    if i % 5 == 0:
        names.append(f"extra_{i}")
    return names


def test_get_matches_every_artifact_to_the_call_that_produced_it() -> None:
    handle = many.run(N)
    handle.wait(timeout=120)
    execution = KitaruClient().executions.get(handle.exec_id)
    assert execution.checkpoint_count == N and len(execution.checkpoints) == N
    for i, call in enumerate(execution.checkpoints):
        assert call.seq == i + 1
        assert [a.name for a in call.artifacts] == _expected_names(i, call.invocation_id)
        assert all(a.producing_call_id == call.call_id for a in call.artifacts)
    assert [c.artifacts[0].load() for c in execution.checkpoints[::37]] == [i * 10 for i in range(0, N, 37)]
    assert execution.checkpoints[30].artifacts[1].load() == {"i": 30}
    kinds = [a.kind for a in execution.artifacts]
    assert kinds.count("output") == N and kinds.count("input") == 1 and kinds.count("result") == 1


def test_get_of_a_replay_finds_the_outputs_it_reuses_from_the_source() -> None:
    source = many.run(N)
    source.wait(timeout=120)
    client = KitaruClient()
    replay = client.executions.replay(source.exec_id, from_=f"step_{N}")
    replay = client.executions.wait_for(replay.exec_id, timeout=120)
    calls = replay.checkpoints
    assert len(calls) == N and replay.checkpoint_count == N
    for call in calls[:-1]:
        output = call.artifacts[0]
        assert output.exec_id == source.exec_id and output.name == call.invocation_id
        assert output.producing_call_id != call.call_id  # the source's call produced it
    assert [c.artifacts[0].load() for c in calls[:-1:41]] == [i * 10 for i in range(0, N - 1, 41)]
    live = calls[-1]
    assert live.artifacts[0].exec_id == replay.exec_id and live.artifacts[0].load() == (N - 1) * 10
    # A page of the replay is the same as the matching slice of the whole.
    assert client.executions.list_checkpoints(replay.exec_id, offset=100, limit=20) == list(calls[100:120])


def test_list_checkpoints_pages_through_the_calls() -> None:
    handle = many.run(N)
    handle.wait(timeout=120)
    client = KitaruClient()
    whole = client.executions.get(handle.exec_id)
    pages = []
    offset = 0
    while page := client.executions.list_checkpoints(handle.exec_id[:13], offset=offset, limit=50):
        assert len(page) <= 50
        pages.extend(page)
        offset += 50
    assert pages == list(whole.checkpoints)  # same calls, attempts and artifacts, in order
    assert whole.list_checkpoints(offset=N - 3) == list(whole.checkpoints[-3:])
    assert client.executions.list_checkpoints(handle.exec_id, limit=None) == list(whole.checkpoints)
    assert client.executions.list_checkpoints(handle.exec_id, offset=N) == []
    with pytest.raises(KitaruUsageError, match="offset"):
        client.executions.list_checkpoints(handle.exec_id, offset=-1)
    with pytest.raises(KitaruUsageError, match="limit"):
        client.executions.list_checkpoints(handle.exec_id, limit=-5)


def test_get_without_checkpoints_counts_them() -> None:
    handle = many.run(7)
    handle.wait(timeout=60)
    summary = KitaruClient().executions.get(handle.exec_id, checkpoints=False)
    assert summary.checkpoints == () and summary.checkpoint_count == 7
    assert sorted(a.kind for a in summary.artifacts) == ["input", "result"]
    assert summary.status.value == "completed" and summary.has_result
    assert [c.invocation_id for c in summary.list_checkpoints(limit=2)] == ["step", "step_2"]
    listed = KitaruClient().executions.list(limit=1)[0]
    every = KitaruClient().executions.get(handle.exec_id)
    assert (listed.checkpoint_count, listed.artifact_count) == (7, len(every.artifacts))
