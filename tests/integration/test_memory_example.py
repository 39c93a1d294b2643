"""The original project's published memory example (``examples/memory/flow_with_memory.py``),
rewritten as a test that makes the same calls: seeding a namespace outside a flow, reading,
listing, writing and deleting inside a flow while switching scopes, inspecting every scope
through ``KitaruClient().memories``, and maintenance (compact, purge, the audit log)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import pytest
from tests._helpers import wait_until
from tests._modes import another_home

from kitaru import KitaruClient, checkpoint, flow, memory
from kitaru.memory import MemoryEntry, MemoryScopeInfo

pytestmark = pytest.mark.both_modes

NAMESPACE = "repo_memory_demo"


@pytest.fixture(autouse=True)
def home(tmp_path: Path) -> Iterator[None]:
    with another_home(tmp_path / "home"):
        yield
    memory.configure()


@runtime_checkable
class EntryLike(Protocol):
    key: str
    version: int

    def model_dump(self, *, mode: str = "python") -> dict[str, Any]: ...


def keys_of(entries: list[Any]) -> list[str]:
    return [e.key for e in entries]


def versions_of(entries: list[Any]) -> list[int]:
    return [e.version for e in entries]


@checkpoint
def read_summary(
    topic: str, runner: Any, python: Any, count: Any, entries: list[Any], history: list[Any]
) -> dict[str, Any]:
    assert isinstance(runner, dict) and isinstance(python, dict) and isinstance(count, int)
    assert all(isinstance(e, EntryLike) for e in entries)
    return {
        "topic": topic,
        "command": runner["command"],
        "python_runner": python["runner"],
        "count_before": count,
        "keys_before": keys_of(entries),
        "count_versions_before": versions_of(history),
    }


@checkpoint
def plan(topic: str, runner: Any, python: Any, count: Any) -> str:
    return (
        f"Prepared {topic!r} using {runner['command']} with {python['runner']} and {count} previous topics."
    )


@checkpoint
def next_count(count: Any) -> int:
    return int(count) + 1


@checkpoint
def flow_reads(entries: list[Any], history: list[Any]) -> dict[str, Any]:
    return {"flow_keys_before": keys_of(entries), "flow_versions_before": versions_of(history)}


def seed(namespace: str) -> dict[str, Any]:
    memory.configure(scope=namespace, scope_type="namespace")
    memory.set("conventions/test_runner", {"command": "just test", "notes": "targeted first"})
    memory.set("conventions/test_runner", {"command": "just test", "notes": "then the full suite"})
    memory.set("conventions/python", {"style": "typed functions", "runner": "uv run", "version": "3.12"})
    memory.set("sessions/topic_count", 2)
    memory.set("scratch/outdated", {"status": "old snapshot"})
    memory.delete("scratch/outdated")
    memory.set("scratch/obsolete", {"status": "delete inside flow"})
    listed = memory.list()
    outdated = memory.history("scratch/outdated")
    return {
        "active_keys": keys_of(listed),
        "entries": [e.model_dump(mode="json") for e in listed],
        "topic_count": memory.get("sessions/topic_count"),
        "count_versions": versions_of(memory.history("sessions/topic_count")),
        "outdated_hidden": memory.get("scratch/outdated") is None,
        "outdated_versions": versions_of(outdated),
        "outdated_tombstone": any(e.is_deleted for e in outdated),
    }


@flow
def memory_showcase(namespace_scope: str, topic: str) -> None:
    memory.configure(scope=namespace_scope, scope_type="namespace")
    runner = memory.get("conventions/test_runner")
    python = memory.get("conventions/python")
    count = memory.get("sessions/topic_count")
    entries = memory.list()
    history = memory.history("sessions/topic_count")
    read_summary(topic, runner=runner, python=python, count=count, entries=entries, history=history)
    summary = plan(topic, runner, python, count)
    memory.set("sessions/topic_count", next_count(count))
    memory.set("sessions/last_topic", topic)
    memory.delete("scratch/obsolete")

    memory.configure(scope_type="flow")
    flow_reads(memory.list(), memory.history("summaries/latest"))
    memory.set("summaries/latest", summary)
    return None


def run_showcase(topic: str = "memory") -> tuple[str, dict[str, Any]]:
    seeded = seed(NAMESPACE)
    handle = memory_showcase.run(NAMESPACE, topic)
    status = wait_until(lambda: handle.status if handle.status.is_finished else None, timeout=30)
    assert status.is_successful, KitaruClient().executions.get(handle.exec_id).failure
    return handle.exec_id, seeded


def test_the_published_memory_example() -> None:
    exec_id, seeded = run_showcase()
    assert seeded["active_keys"] == [
        "conventions/python",
        "conventions/test_runner",
        "scratch/obsolete",
        "sessions/topic_count",
    ]
    assert seeded["topic_count"] == 2 and seeded["count_versions"] == [1]
    assert (
        seeded["outdated_hidden"] and seeded["outdated_versions"] == [2, 1] and seeded["outdated_tombstone"]
    )
    assert {e["key"]: e["version"] for e in seeded["entries"]}["conventions/test_runner"] == 2

    client = KitaruClient()
    client.memories.set("execution/notes", {"stage": "draft"}, scope=exec_id, scope_type="execution")
    client.memories.set("execution/notes", {"stage": "final"}, scope=exec_id, scope_type="execution")
    client.memories.set("execution/transient", {"status": "temporary"}, scope=exec_id, scope_type="execution")
    client.memories.delete("execution/transient", scope=exec_id)

    assert keys_of(client.memories.list(scope=NAMESPACE)) == [
        "conventions/python",
        "conventions/test_runner",
        "sessions/last_topic",
        "sessions/topic_count",
    ]
    assert keys_of(client.memories.list(scope="memory_showcase")) == ["summaries/latest"]
    assert keys_of(client.memories.list(scope=exec_id)) == ["execution/notes"]
    assert versions_of(client.memories.history("execution/notes", scope=exec_id)) == [2, 1]
    count = client.memories.get("sessions/topic_count", scope=NAMESPACE)
    assert count is not None and isinstance(count, MemoryEntry) and count.execution_id == exec_id
    assert client.artifacts.get(count.artifact_id).load() == 3
    last = client.memories.get("sessions/last_topic", scope=NAMESPACE)
    assert last is not None and client.artifacts.get(last.artifact_id).load() == "memory"
    assert client.memories.get("scratch/obsolete", scope=NAMESPACE) is None
    obsolete = client.memories.history("scratch/obsolete", scope=NAMESPACE)
    assert versions_of(obsolete) == [2, 1] and obsolete[0].model_dump(mode="json")["is_deleted"] is True
    summary = client.memories.get("summaries/latest", scope="memory_showcase")
    assert summary is not None
    assert client.artifacts.get(summary.artifact_id).load() == (
        "Prepared 'memory' using just test with uv run and 2 previous topics."
    )
    assert client.memories.get("execution/transient", scope=exec_id) is None

    scopes = client.memories.scopes()
    assert all(isinstance(s, MemoryScopeInfo) for s in scopes)
    assert sorted((s.model_dump(mode="json")["scope_type"], s.scope, s.entry_count) for s in scopes) == [
        ("execution", exec_id, 1),
        ("flow", "memory_showcase", 1),
        ("namespace", NAMESPACE, 4),
    ]
    reads = {c.name: c for c in client.executions.get(exec_id).checkpoints}
    assert set(reads) == {"read_summary", "plan", "next_count", "flow_reads"}  # memory is no checkpoint
    assert client.artifacts.get(reads["read_summary"].artifacts[0].artifact_id).load()["keys_before"] == [
        "conventions/python",
        "conventions/test_runner",
        "scratch/obsolete",
        "sessions/topic_count",
    ]
    assert client.artifacts.get(reads["flow_reads"].artifacts[0].artifact_id).load() == {
        "flow_keys_before": [],
        "flow_versions_before": [],
    }


def test_the_published_memory_example_maintenance(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("kitaru.providers", reason="compaction calls the provider layer (kitaru.providers)")
    monkeypatch.setenv("KITARU_LLM_MOCK_RESPONSE", "- just test, targeted first\n- uv run, Python 3.12")
    run_showcase()
    client = KitaruClient()
    compacted = client.memories.compact(
        scope=NAMESPACE,
        keys=["conventions/test_runner", "conventions/python"],
        target_key="summaries/conventions",
        instruction="Summarize these repo conventions in 2-3 concise bullets.",
        model="default",
    )
    assert (
        client.artifacts.get(compacted.entry.artifact_id).load()
        == "- just test, targeted first\n- uv run, Python 3.12"
    )
    dumped = compacted.model_dump(mode="json")
    assert dumped["sources_read"] == 2 and dumped["entry"]["key"] == "summaries/conventions"
    purged = client.memories.purge("conventions/test_runner", scope=NAMESPACE, keep=1)
    assert purged.model_dump(mode="json") == {
        "versions_deleted": 1,
        "keys_affected": 1,
        "scope": NAMESPACE,
        "scope_type": "namespace",
    }
    assert versions_of(client.memories.history("conventions/test_runner", scope=NAMESPACE)) == [2]
    log = [r.model_dump(mode="json") for r in client.memories.compaction_log(scope=NAMESPACE)]
    assert [r["operation"] for r in log] == ["purge", "compact"]
    assert log[1]["source_keys"] == ["conventions/test_runner", "conventions/python"]
    assert log[1]["target_key"] == "summaries/conventions" and log[1]["model"] == "default"
