"""The MCP server, driven by the official SDK's own client: over stdio (``kitaru-mcp`` as a
subprocess), over streamable HTTP (``kitaru-mcp --http``), and at ``/mcp`` of a Kitaru server
behind its API keys (with a ``kitaru worker`` running what the server queues). Each lists the
tools with their schemas and annotations and drives a whole loop: start a flow that waits,
find the pending wait, answer it (a value that does not fit first: a tool error, nothing
recorded), read the result, logs and artifacts, and replay from a checkpoint."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from tests._helpers import wait_until
from tests._mcp import call, eventually, refused
from tests._scripts import env_for
from tests._server import free_port, running_server

from kitaru.artifacts.local import LocalArtifactStore
from kitaru.mcp import mount, tool_names
from kitaru.server import issue_api_key, store_api_keys
from kitaru.store.sql import SqlStore

T = TypeVar("T")

FLOWS = """
import kitaru


@kitaru.checkpoint
def draft(topic: str) -> str:
    print(f"drafting {topic}")
    return f"draft about {topic}"


@kitaru.checkpoint
def publish(text: str, approved: bool) -> str:
    print(f"publishing {text}")
    return text.upper() if approved else "rejected"


@kitaru.flow
def review(topic: str) -> str:
    text = draft(topic)
    approved = kitaru.wait(schema=bool, name="approve", question=f"Publish the {topic} draft?")
    return publish(text, approved)
"""

KITARU_MCP = str(Path(sys.executable).with_name("kitaru-mcp"))


def _code(tmp_path: Path) -> Path:
    code = tmp_path / "code"
    code.mkdir()
    (code / "review_flows.py").write_text(FLOWS)
    return code


# -- the loop every transport drives ------------------------------------------------------
async def check_tools(client: Client, *, read_only: bool = False) -> None:
    listed = (await client.list_tools()).tools
    assert [t.name for t in listed] == tool_names(read_only=read_only)
    for tool in listed:
        assert tool.input_schema["type"] == "object" and tool.description, tool.name
        hints = tool.annotations
        assert hints is not None, tool.name
        assert None not in (hints.read_only_hint, hints.destructive_hint, hints.idempotent_hint), tool.name
    by_name = {t.name: t for t in listed}
    listing = by_name["kitaru_executions_list"]
    assert set(listing.input_schema["properties"]) == {"status", "flow", "stack", "limit"}
    assert listing.annotations is not None and listing.annotations.read_only_hint is True
    if not read_only:
        answer = by_name["kitaru_executions_input"]
        assert answer.input_schema["required"] == ["exec_id", "value"]
        assert answer.annotations is not None and answer.annotations.read_only_hint is False
        cancel = by_name["kitaru_executions_cancel"].annotations
        assert cancel is not None and cancel.destructive_hint is True


async def full_loop(client: Client, start: Callable[[], Awaitable[str]]) -> None:
    await check_tools(client)
    exec_id = await start()

    async def pending() -> list[dict[str, Any]]:
        waits: list[dict[str, Any]] = await call(client, "kitaru_executions_pending_waits")
        return [w for w in waits if w["exec_id"] == exec_id]

    (wait,) = await eventually(pending)
    assert wait["name"] == "approve" and wait["schema"] == {"type": "boolean"}
    assert wait["question"] == "Publish the durability draft?"

    message = await refused(client, "kitaru_executions_input", exec_id=exec_id, value="maybe")
    assert "KitaruWaitValidationError" in message and "'approve'" in message
    assert [w["wait_id"] for w in await pending()] == [wait["wait_id"]]  # nothing was recorded
    waiting = await call(client, "kitaru_executions_get", exec_id=exec_id)
    assert waiting["status"] == "waiting"
    assert [a["name"] for a in waiting["artifacts"] if a["kind"] == "input"] == ["topic"]

    await call(client, "kitaru_executions_input", exec_id=exec_id, wait="approve", value=True)

    async def ended(which: str) -> dict[str, Any] | None:
        execution: dict[str, Any] = await call(client, "kitaru_executions_get", exec_id=which)
        assert execution["status"] not in ("failed", "cancelled"), execution["failure"]
        return execution if execution["status"] == "completed" else None

    done = await eventually(lambda: ended(exec_id))
    assert done["result"] == {"format": "text", "text": "DRAFT ABOUT DURABILITY", "truncated": False}
    logs = await call(client, "get_execution_logs", exec_id=exec_id)
    assert "[draft] drafting durability" in logs and "[publish] publishing draft about durability" in logs
    assert "publishing" not in await call(client, "get_execution_logs", exec_id=exec_id, checkpoint="draft")
    (drafted,) = await call(client, "kitaru_artifacts_list", exec_id=exec_id, producing_call="draft")
    artifact = await call(client, "kitaru_artifacts_get", artifact_id=drafted["artifact_id"])
    assert artifact["value"]["text"] == "draft about durability"

    replay = await call(client, "kitaru_executions_replay", exec_id=exec_id, from_="publish")
    assert replay["source_exec_id"] == exec_id
    replayed = await eventually(lambda: ended(replay["execution"]["exec_id"]))
    assert replayed["original_exec_id"] == exec_id
    assert replayed["result"]["text"] == "DRAFT ABOUT DURABILITY"
    calls = {c["name"]: c for c in replayed["checkpoints"]}
    assert calls["draft"]["original_call_id"] is not None  # reused from the source
    assert calls["publish"]["original_call_id"] is None  # ran live

    # Bad arguments are tool errors; the server answers the next call.
    assert "exec_id" in await refused(client, "kitaru_executions_get", exec_id=5)
    assert "'no-such-id'" in await refused(client, "kitaru_executions_get", exec_id="no-such-id")
    assert "max_chars" in await refused(client, "kitaru_artifacts_get", artifact_id="x", max_chars="lots")
    latest = await call(client, "kitaru_executions_latest", status="completed")
    assert latest["exec_id"] == replayed["exec_id"]


def _run_here(client: Client, code: Path) -> Callable[[], Awaitable[str]]:
    """Start the flow with the run tool (in the MCP server's process)."""

    async def start() -> str:
        target = f"{code / 'review_flows.py'}:review"
        started = await call(
            client, "kitaru_executions_run", target=target, args={"topic": "durability"}, wait=30
        )
        assert started["status"] == "waiting" and started["flow_name"] == "review"
        return str(started["exec_id"])

    return start


# -- stdio ------------------------------------------------------------------------------------
def _stdio(home: Path, code: Path, *args: str) -> StdioServerParameters:
    return StdioServerParameters(command=KITARU_MCP, args=list(args), env=env_for(home), cwd=str(code))


def test_the_full_loop_over_stdio(tmp_path: Path) -> None:
    code = _code(tmp_path)

    async def drive() -> None:
        async with Client(_stdio(tmp_path / "home", code)) as client:
            await full_loop(client, _run_here(client, code))

    asyncio.run(drive())


def test_read_only_serves_and_allows_only_the_tools_that_change_nothing(tmp_path: Path) -> None:
    code = _code(tmp_path)

    async def drive() -> None:
        async with Client(_stdio(tmp_path / "home", code, "--read-only")) as client:
            await check_tools(client, read_only=True)
            names = {t.name for t in (await client.list_tools()).tools}
            assert "kitaru_executions_run" not in names and "kitaru_memory_set" not in names
            target = f"{code / 'review_flows.py'}:review"
            message = await refused(client, "kitaru_executions_run", target=target, args={"topic": "x"})
            assert "kitaru_executions_run" in message
            assert "kitaru_memory_set" in await refused(
                client, "kitaru_memory_set", key="k", value=1, scope="notes"
            )
            assert await call(client, "kitaru_executions_list") == []
            assert await call(client, "kitaru_memory_scopes") == []

    asyncio.run(drive())


# -- streamable HTTP, standalone ------------------------------------------------------------------
@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    code = _code(tmp_path)
    port = free_port()
    log = tmp_path / "kitaru-mcp.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [KITARU_MCP, "--http", "--port", str(port)],
            cwd=code,
            env=env_for(tmp_path / "home"),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/mcp"

    def answers() -> bool:
        assert process.poll() is None, log.read_text()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            return False
        return True

    try:
        wait_until(answers, timeout=30)
        yield url, code
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def test_the_full_loop_over_streamable_http(http_server: tuple[str, Path]) -> None:
    url, code = http_server

    async def drive() -> None:
        async with Client(url) as client:
            await full_loop(client, _run_here(client, code))

    asyncio.run(drive())


# -- at /mcp of a Kitaru server ---------------------------------------------------------------------
def _client_with_key(url: str, token: str) -> Client:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60)
    return Client(streamable_http_client(url, http_client=http))


def test_the_full_loop_at_the_mcp_endpoint_of_a_kitaru_server(tmp_path: Path) -> None:
    code = _code(tmp_path)
    store = SqlStore(f"sqlite:///{tmp_path / 'server.db'}")
    artifacts = LocalArtifactStore(tmp_path / "blobs")
    token, _ = issue_api_key(store, "assistant")

    def with_mcp(app: Any) -> Any:
        mount(app, store, artifacts)
        return app

    with running_server(store, artifacts, auth=store_api_keys(store), wrap=with_mcp) as base:
        env = env_for(
            tmp_path / "client-home",
            KITARU_SERVER_URL=base,
            KITARU_API_KEY=token,
            KITARU_EXECUTION_TARGET="worker",
            PYTHONPATH=os.pathsep.join([str(code), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        )
        worker = subprocess.Popen(
            [sys.executable, "-m", "kitaru", "worker"],
            cwd=code,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            without_key = httpx.post(f"{base}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
            assert without_key.status_code == 401 and "API key" in without_key.text

            async def start() -> str:
                target = f"{code / 'review_flows.py'}:review"
                message = await refused(client, "kitaru_executions_run", target=target, args={"topic": "x"})
                assert "never runs or imports user code" in message and "kitaru run" in message
                # Started where the code is; the server's queue hands it to the worker.
                submit = "import review_flows as f; print(f.review.run('durability').exec_id)"
                started = subprocess.run(
                    [sys.executable, "-c", submit],
                    cwd=code,
                    env=env,
                    capture_output=True,
                    text=True,
                    check=True,
                    timeout=60,
                )
                return started.stdout.strip()

            async def drive() -> None:
                nonlocal client
                async with _client_with_key(f"{base}/mcp", token) as client:
                    await full_loop(client, start)
                    status = await call(client, "kitaru_status")
                    assert status["connection"]["kind"] == "server"
                    assert "kitaru stack list" in await refused(client, "kitaru_stacks_list")

            client: Any = None
            asyncio.run(drive())
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=30)
    store.close()


def test_kitaru_mcp_refuses_a_bad_command_line(tmp_path: Path) -> None:
    ran = subprocess.run(
        [KITARU_MCP, "--port", "9999"], env=env_for(tmp_path), capture_output=True, text=True, timeout=60
    )
    assert ran.returncode == 2 and "--host and --port go with --http" in ran.stderr
