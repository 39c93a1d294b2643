"""A user's-eye program, checked with mypy (strict) by ``tests/unit/test_typing.py``.

Never run: only type-checked. Each ``assert_type`` states what a type checker must
infer; each ``type: ignore[...]`` marks a call it must reject (with
``warn_unused_ignores`` on, a call it accepted fails the check).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, assert_type

import kitaru
from kitaru import CheckpointFuture, FlowHandle, checkpoint, flow
from kitaru.client import Execution

__all__: list[str] = []


@checkpoint
def fetch(url: str) -> bytes:
    """A bare checkpoint."""
    return url.encode()


@checkpoint(retries=2, type="llm_call", cache=True, cache_ttl=3600)
def summarize(text: str, *, words: int = 50) -> str:
    """A checkpoint with options."""
    return text[:words]


@checkpoint
async def fetch_async(url: str) -> int:
    """An async checkpoint."""
    return len(url)


@flow
def research(topic: str) -> dict[str, int]:
    """A flow: the checked calls inside it."""
    page = fetch("https://example.org")
    assert_type(page, bytes)
    assert_type(summarize("text", words=10), str)
    assert_type(fetch("https://example.org", id="home"), bytes)
    future = fetch.submit("https://example.org")
    assert_type(future, CheckpointFuture[bytes])
    assert_type(future.result(), bytes)
    assert_type(fetch.submit("u", after=future), CheckpointFuture[bytes])
    assert_type(fetch.map(["a", "b"]), list[CheckpointFuture[bytes]])
    fetch(123)  # type: ignore[call-overload]
    fetch(123, "extra")  # type: ignore[call-overload]
    summarize("text", words="many")  # type: ignore[call-overload]
    assert_type(kitaru.llm("Outline agents", model="fast", max_tokens=200), str)
    assert_type(kitaru.llm([{"role": "user", "content": "hi"}], schema=Verdict), Verdict)
    return {topic: len(page)}


class Verdict:
    """A structured result type for llm(schema=...)."""

    ok: bool


@flow(retries=1, cache=True)
async def research_async(topic: str) -> list[int]:
    """An async flow awaiting an async checkpoint."""
    size = await fetch_async(topic)
    assert_type(size, int)
    assert_type(fetch_async.submit(topic), CheckpointFuture[int])
    assert_type(await fetch_async.submit(topic), int)
    return [size]


def start() -> None:
    """Starting flows outside a flow body."""
    handle = research.run("agents")
    assert_type(handle, FlowHandle[dict[str, int]])
    assert_type(handle.wait(timeout=60), dict[str, int])
    assert_type(handle.get(), dict[str, int])
    assert_type(research.run("agents", cache=True).wait(), dict[str, int])
    assert_type(research.with_options(cache=True, retries=2).run("agents"), FlowHandle[dict[str, int]])
    assert_type(research_async.run("agents").wait(), list[int])
    research.run(42)  # type: ignore[call-overload]
    research.run("agents", "extra")  # type: ignore[call-overload]
    kitaru.configure(cache=True)
    kitaru.configure(cache=None, image=kitaru.ImageSettings(base_image="python:3.12", apt_packages=["git"]))
    assert_type(
        research.replay("0199c0de", from_="fetch", retries=2, image="python:3.12"), FlowHandle[dict[str, int]]
    )
    assert_type(
        research.with_options(cache=True).replay("0199c0de", from_="fetch"), FlowHandle[dict[str, int]]
    )
    stack = kitaru.create_stack("scratch", activate=False)
    assert_type(stack.is_active, bool)
    assert_type(stack.id, str)


def inspect_like_the_original() -> None:
    """The original API's names of the client models."""
    client = kitaru.KitaruClient()
    execution = client.executions.latest()
    assert_type(execution, Execution)
    assert_type(execution.status.is_finished, bool)
    assert_type(execution.status.is_successful, bool)
    assert_type(execution.flow_id, str | None)
    assert_type(execution.stack_name, str | None)
    assert_type(execution.status_reason, str | None)
    assert_type(execution.frozen_execution_spec, dict[str, Any])
    assert_type(execution.retry(), Execution)
    assert_type(execution.resume(), Execution)
    call = execution.list_checkpoints()[0]
    assert_type(call.checkpoint_type, str | None)
    assert_type(call.parent_call_ids, tuple[str, ...])
    assert_type(call.original_call_id, str | None)
    assert_type(call.attempts[0].metadata, dict[str, Any])
    artifact = execution.list_artifacts()[0]
    assert_type(artifact.producing_call, str | None)
    assert_type(artifact.save_type, str)
    if execution.pending_wait is not None:
        assert_type(execution.pending_wait.entered_waiting_at, datetime)
    execution.result()
    kitaru.load(execution.exec_id, "result")
    try:
        latest = client.executions.latest(flow="research")
    except LookupError:  # none yet: the original's error type
        latest = None
    assert_type(latest, Execution | None)


def remember_things() -> None:
    """kitaru.memory and client.memories, typed."""
    from kitaru import memory
    from kitaru.memory import CompactResult, MemoryEntry, MemoryScopeInfo, PurgeResult

    memory.configure(scope="team")
    assert_type(memory.set("notes", {"a": 1}), MemoryEntry)
    assert_type(memory.get("notes"), Any)
    assert_type(memory.list(prefix="n"), list[MemoryEntry])
    assert_type(memory.history("notes")[0].is_deleted, bool)
    assert_type(memory.delete("notes").version, int)
    memories = kitaru.KitaruClient().memories
    assert_type(memories.scopes(), list[MemoryScopeInfo])
    assert_type(memories.get("notes", scope="team"), MemoryEntry | None)
    assert_type(memories.purge("notes", scope="team", keep=1), PurgeResult)
    assert_type(memories.compact("notes", scope="team"), CompactResult)
    assert_type(memories.compaction_log(scope="team")[0].operation, str)
