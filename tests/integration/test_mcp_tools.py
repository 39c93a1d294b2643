"""The MCP tools one by one, through the SDK's client connected in-process to the server
(the transports are tested in test_mcp.py): the original project's published MCP example
(``examples/mcp/mcp_query_tools.py``) rewritten as a test, memory, values rendered for a
model, and the lifecycle tools (abort a wait, cancel, retry, resume)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from tests._mcp import call, eventually, refused

from kitaru.client import KitaruClient
from kitaru.mcp._server import build_server
from kitaru.mcp._tools import Tools
from kitaru.testing import isolated_home

FLOWS = """
import os

import kitaru


@kitaru.checkpoint
def big(size: int) -> str:
    kitaru.save("shape", {"rows": size, "cols": 2})
    kitaru.save("opaque", object(), type="context")
    return "x" * size


@kitaru.flow
def values(size: int) -> str:
    return big(size)


@kitaru.checkpoint
def fragile(flag: str) -> str:
    if not os.path.exists(flag):
        raise RuntimeError(f"{flag} is missing")
    return "fixed"


@kitaru.flow
def flaky(flag: str) -> str:
    return fragile(flag)


@kitaru.flow
def asks(question: str) -> str:
    try:
        return str(kitaru.wait(schema=str, name="answer", question=question))
    except kitaru.errors.KitaruWaitAbortedError:
        return "aborted"
"""


@pytest.fixture
def code(tmp_path: Path) -> Iterator[Path]:
    where = tmp_path / "code"
    where.mkdir()
    (where / "tool_flows.py").write_text(FLOWS)
    with isolated_home(tmp_path / "home"):
        yield where


def _drive(test: Any) -> None:
    async def drive() -> None:
        async with Client(build_server(Tools(KitaruClient))) as client:
            await test(client)

    asyncio.run(drive())


async def _ended(client: Client, exec_id: str) -> dict[str, Any] | None:
    execution: dict[str, Any] = await call(client, "kitaru_executions_get", exec_id=exec_id)
    return execution if execution["status"] in ("completed", "failed", "cancelled") else None


def test_the_original_query_example(code: Path) -> None:
    """status, stacks and the waiting executions (at most 5), as the original example collects them."""

    async def test(client: Client) -> None:
        target = f"{code / 'tool_flows.py'}:asks"
        started = await call(client, "kitaru_executions_run", target=target, args=["ready?"], wait=30)
        snapshot = {
            "status": await call(client, "kitaru_status"),
            "stacks": await call(client, "kitaru_stacks_list"),
            "waiting_executions": await call(client, "kitaru_executions_list", status="waiting", limit=5),
        }
        assert snapshot["status"]["connection"]["kind"] == "local"
        assert snapshot["status"]["stack"]["name"] == "default"
        assert [(s["name"], s["active"]) for s in snapshot["stacks"]] == [("default", True)]
        (waiting,) = snapshot["waiting_executions"]
        assert waiting["exec_id"] == started["exec_id"] and waiting["flow_name"] == "asks"
        assert waiting["pending_waits"][0]["question"] == "ready?"
        await call(client, "kitaru_executions_cancel", exec_id=started["exec_id"])
        assert (await eventually(lambda: _ended(client, started["exec_id"])))["status"] == "cancelled"

    _drive(test)


def test_values_are_rendered_as_text_json_or_repr_and_cut_with_a_note(code: Path) -> None:
    async def test(client: Client) -> None:
        target = f"{code / 'tool_flows.py'}:values"
        started = await call(client, "kitaru_executions_run", target=target, args={"size": 5000}, wait=30)
        done = await call(client, "kitaru_executions_get", exec_id=started["exec_id"], max_chars=100)
        assert done["status"] == "completed"
        assert done["result"]["truncated"] is True and len(done["result"]["text"]) == 100
        assert done["result"]["note"] == (
            "Showing the first 100 of 5000 characters; call again with a larger max_chars to see more."
        )
        whole = await call(client, "kitaru_executions_get", exec_id=started["exec_id"])
        assert whole["result"]["text"] == "x" * 5000 and whole["result"]["truncated"] is False
        listed = await call(client, "kitaru_artifacts_list", exec_id=started["exec_id"])
        by_name = {a["name"]: a["artifact_id"] for a in listed}
        shape = await call(client, "kitaru_artifacts_get", artifact_id=by_name["shape"])
        assert shape["value"]["format"] == "json" and shape["value"]["value"] == {"rows": 5000, "cols": 2}
        opaque = await call(client, "kitaru_artifacts_get", artifact_id=by_name["opaque"])
        assert opaque["value"]["format"] == "repr" and opaque["value"]["text"].startswith("<object object")
        assert "max_chars" in await refused(
            client, "kitaru_artifacts_get", artifact_id=by_name["shape"], max_chars=0
        )

    _drive(test)


def test_abort_a_wait_retry_a_failure_and_resume(code: Path, tmp_path: Path) -> None:
    async def test(client: Client) -> None:
        asks = f"{code / 'tool_flows.py'}:asks"
        started = await call(client, "kitaru_executions_run", target=asks, args=["go?"], wait=30)
        await call(client, "kitaru_executions_abort_wait", exec_id=started["exec_id"])
        aborted = await eventually(lambda: _ended(client, started["exec_id"]))
        assert aborted["status"] == "completed" and aborted["result"]["text"] == "aborted"

        flag = tmp_path / "flag"
        flaky = f"{code / 'tool_flows.py'}:flaky"
        failed = await call(client, "kitaru_executions_run", target=flaky, args=[str(flag)], wait=30)
        assert failed["status"] == "failed" and "is missing" in failed["failure"]["message"]
        message = await refused(client, "kitaru_executions_resume", exec_id=failed["exec_id"])
        assert "KitaruStateError" in message and "retry" in message
        flag.touch()
        await call(client, "kitaru_executions_retry", exec_id=failed["exec_id"])
        retried = await eventually(lambda: _ended(client, failed["exec_id"]))
        assert retried["status"] == "completed" and retried["result"]["text"] == "fixed"
        assert retried["run_count"] == 2

    _drive(test)


def test_memory_tools(code: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("kitaru.providers", reason="compaction calls the provider layer (kitaru.providers)")
    monkeypatch.setenv("KITARU_LLM_MOCK_RESPONSE", "prefers short answers")

    async def test(client: Client) -> None:
        await call(client, "kitaru_memory_set", key="style", value="short", scope="notes")
        second = await call(client, "kitaru_memory_set", key="style", value={"tone": "terse"}, scope="notes")
        assert second["version"] == 2 and second["scope_type"] == "namespace"
        await call(client, "kitaru_memory_set", key="tmp", value=1, scope="notes")
        got = await call(client, "kitaru_memory_get", key="style", scope="notes")
        assert got["found"] is True and got["value"]["value"] == {"tone": "terse"}
        first = await call(client, "kitaru_memory_get", key="style", scope="notes", version=1)
        assert first["value"]["text"] == "short"
        assert [e["key"] for e in await call(client, "kitaru_memory_list", scope="notes")] == ["style", "tmp"]
        await call(client, "kitaru_memory_delete", key="tmp", scope="notes")
        assert (await call(client, "kitaru_memory_get", key="tmp", scope="notes"))["found"] is False
        history = await call(client, "kitaru_memory_history", key="style", scope="notes")
        assert [e["version"] for e in history] == [2, 1]
        compacted = await call(client, "kitaru_memory_compact", scope="notes", key="style")
        assert compacted["entry"]["version"] == 3
        summary = await call(client, "kitaru_memory_get", key="style", scope="notes")
        assert summary["value"]["text"] == "prefers short answers"
        purged = await call(client, "kitaru_memory_purge", key="style", scope="notes", keep=1)
        assert purged["versions_deleted"] == 2
        log = await call(client, "kitaru_memory_compaction_log", scope="notes")
        assert [r["operation"] for r in log] == ["purge", "compact"]
        (scope,) = await call(client, "kitaru_memory_scopes")
        assert (scope["scope"], scope["scope_type"]) == ("notes", "namespace")
        await call(client, "kitaru_memory_purge_scope", scope="notes")
        assert await call(client, "kitaru_memory_scopes") == []
        message = await refused(client, "kitaru_memory_set", key="", value=1, scope="notes")
        assert "KitaruUsageError" in message

    _drive(test)
