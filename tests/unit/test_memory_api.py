"""kitaru.memory: the module API, its scopes and errors, and the resume and replay rules."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from tests._helpers import result_of, retry_and_wait

import kitaru
from kitaru import KitaruClient, checkpoint, flow, memory
from kitaru.errors import KitaruUsageError

pytestmark = pytest.mark.both_modes

ES = kitaru.ExecutionStatus
state: dict[str, Any] = {}


@pytest.fixture(autouse=True)
def fresh() -> Iterator[None]:
    state.clear()
    memory.configure()  # no scope configured outside flows
    yield
    memory.configure()


@checkpoint
def plus_one(n: int) -> int:
    return n + 1


@checkpoint
def flaky(n: int) -> int:
    if state.pop("fail", False):
        raise RuntimeError("flaky failed")
    return n


@checkpoint
def touch_memory() -> None:
    memory.get("anything")


@flow
def counter(step: int) -> dict[str, Any]:
    before = memory.get("count") or 0
    after = plus_one(before)
    written = memory.set("count", after)
    flaky(step)
    return {"before": before, "version": written.version, "keys": [e.key for e in memory.list()]}


def test_outside_a_flow_a_scope_must_be_configured() -> None:
    with pytest.raises(KitaruUsageError, match=r"memory.configure\(scope="):
        memory.set("k", 1)
    with pytest.raises(KitaruUsageError, match="needs a scope name outside a flow"):
        memory.configure(scope_type="flow")
    memory.configure(scope="team")  # a namespace
    assert memory.set("k", 1).scope_type == "namespace"
    assert memory.get("k") == 1


def test_the_module_api_versions_every_write() -> None:
    memory.configure(scope="repo", scope_type="namespace")
    assert memory.get("notes") is None
    first = memory.set("notes", {"tests": "targeted first"})
    second = memory.set("notes", ["a", "b"])
    memory.set("other/one", 1)
    assert (first.version, second.version, second.is_deleted) == (1, 2, False)
    assert memory.get("notes") == ["a", "b"]
    assert memory.get("notes", version=1) == {"tests": "targeted first"}
    assert [e.key for e in memory.list()] == ["notes", "other/one"]
    assert [e.key for e in memory.list(prefix="other/")] == ["other/one"]
    tomb = memory.delete("notes")
    assert tomb.is_deleted and tomb.version == 3
    assert memory.get("notes") is None
    assert memory.get("notes", version=2) == ["a", "b"]
    assert [e.key for e in memory.list()] == ["other/one"]
    assert [(e.version, e.is_deleted) for e in memory.history("notes")] == [(3, True), (2, False), (1, False)]


@pytest.mark.parametrize(
    ("key", "message"),
    [("has space", "not valid"), ("", "not valid"), ("_compaction/x", "reserved"), ("ümlaut", "not valid")],
)
def test_keys_are_checked(key: str, message: str) -> None:
    memory.configure(scope="repo")
    with pytest.raises(KitaruUsageError, match=message):
        memory.set(key, 1)


def test_scopes_are_checked() -> None:
    with pytest.raises(KitaruUsageError, match="not valid"):
        memory.configure(scope="a b")
    with pytest.raises(KitaruUsageError, match="not one of namespace, flow, execution"):
        memory.configure(scope="x", scope_type="session")
    memory.configure(scope="x")
    with pytest.raises(KitaruUsageError, match="version number"):
        memory.get("k", version=0)


def test_large_values_go_to_the_artifact_store_and_outlive_their_execution() -> None:
    big = "x" * 200_000

    @flow
    def remember() -> None:
        memory.set("big", big)

    exec_id = remember.run().exec_id
    KitaruClient().executions.wait_for(exec_id, timeout=30)
    client = KitaruClient()
    [entry] = client.memories.list(scope="remember")
    assert entry.size > 64 * 1024 and entry.execution_id == exec_id
    assert client.executions.delete(exec_id).exec_ids == (exec_id,)
    memory.configure(scope="remember", scope_type="flow")
    assert memory.get("big") == big
    assert client.artifacts.get(entry.artifact_id).load() == big


def test_in_a_flow_the_default_scope_is_the_flow_and_memory_is_no_checkpoint() -> None:
    exec_id = counter.run(1).exec_id
    assert KitaruClient().executions.wait_for(exec_id, timeout=30).status is ES.COMPLETED
    client = KitaruClient()
    assert [(s.scope_type, s.scope) for s in client.memories.scopes()] == [("flow", "counter")]
    assert client.memories.get("count", scope="counter").version == 1  # type: ignore[union-attr]
    assert [c.name for c in client.executions.get(exec_id).checkpoints] == ["plus_one", "flaky"]


def test_inside_a_checkpoint_memory_is_refused() -> None:
    @flow
    def misuse() -> None:
        touch_memory()

    exec_id = misuse.run().exec_id
    execution = KitaruClient().executions.wait_for(exec_id, timeout=30)
    assert execution.status is ES.FAILED
    assert execution.failure is not None
    assert "KitaruContextError" in execution.failure.exception_type
    assert "a replay may skip a checkpoint" in execution.failure.message


def test_configure_in_a_flow_changes_the_scope_for_that_body_only() -> None:
    @flow
    def scoped(team: str) -> list[str]:
        memory.set("a", 1)  # the flow's scope
        memory.configure(scope=team)
        memory.set("b", 2)
        memory.configure(scope_type="execution")
        memory.set("c", 3)
        memory.configure()
        memory.set("d", 4)
        return [e.key for e in memory.list()]

    exec_id = scoped.run("team-x").exec_id
    assert KitaruClient().executions.wait_for(exec_id, timeout=30).status is ES.COMPLETED
    client = KitaruClient()
    assert [e.key for e in client.memories.list(scope="scoped")] == ["a", "d"]
    assert [e.key for e in client.memories.list(scope="team-x")] == ["b"]
    assert [e.key for e in client.memories.list(scope=exec_id, scope_type="execution")] == ["c"]


def test_a_resumed_execution_does_not_write_again() -> None:
    state["fail"] = True
    exec_id = counter.run(1).exec_id
    failed = KitaruClient().executions.wait_for(exec_id, timeout=30)
    assert failed.status is ES.FAILED
    client = KitaruClient()
    client.memories.set("count", 100, scope="counter", scope_type="flow")  # another writer meanwhile
    assert retry_and_wait(exec_id).status is ES.COMPLETED
    # The retry read what the first run read (nothing), and its write stayed version 1.
    assert [e.version for e in client.memories.history("count", scope="counter")] == [2, 1]
    assert client.memories.value("count", scope="counter", version=1) == 1
    assert result_of(exec_id) == {"before": 0, "version": 1, "keys": ["count"]}


def test_a_replay_reuses_memory_before_its_frontier_and_acts_after_it() -> None:
    first = counter.run(1).exec_id
    KitaruClient().executions.wait_for(first, timeout=30)
    client = KitaruClient()
    client.memories.set("count", 10, scope="counter")  # changes the memory after the source ran

    # From `flaky`: the read and the write came before it, so the replay returns what the
    # source read (nothing: 0) and wrote (version 1), and writes nothing new.
    same = client.executions.replay(first, from_="flaky").exec_id
    client.executions.wait_for(same, timeout=30)
    assert result_of(same) == {"before": 0, "version": 1, "keys": ["count"]}
    assert [e.version for e in client.memories.history("count", scope="counter")] == [2, 1]

    # From `plus_one`: the read came before it (reused), the write after it (made for real).
    later = client.executions.replay(first, from_="plus_one").exec_id
    client.executions.wait_for(later, timeout=30)
    assert result_of(later) == {"before": 0, "version": 3, "keys": ["count"]}
    assert client.memories.value("count", scope="counter") == 1
    assert [e.version for e in client.memories.history("count", scope="counter")] == [3, 2, 1]
