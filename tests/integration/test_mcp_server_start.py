"""``kitaru server start --mcp``: the MCP endpoint at ``/mcp`` of a server started from the
command line, in one process and in each of several worker processes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from mcp import Client
from tests._postgres import create_database
from tests._server import ServerProcess

from kitaru.mcp import tool_names


@pytest.fixture
def stop() -> Iterator[list[ServerProcess]]:
    started: list[ServerProcess] = []
    yield started
    for server in started:
        server.stop()


async def _listed(url: str, times: int) -> list[list[str]]:
    names = []
    for _ in range(times):  # each a new connection: several workers take turns
        async with Client(url) as client:
            names.append([t.name for t in (await client.list_tools()).tools])
            listed = await client.call_tool("kitaru_executions_list", {})
            assert not listed.is_error and listed.structured_content == {"result": []}
    return names


def test_server_start_with_mcp_read_only_serves_the_read_tools(
    tmp_path: Path, stop: list[ServerProcess]
) -> None:
    server = ServerProcess(tmp_path, args=("--mcp-read-only",))
    server.start()
    stop.append(server)
    assert asyncio.run(_listed(f"{server.url}/mcp", 1)) == [tool_names(read_only=True)]


def test_server_start_without_mcp_has_no_endpoint(tmp_path: Path, stop: list[ServerProcess]) -> None:
    server = ServerProcess(tmp_path)
    server.start()
    stop.append(server)
    assert httpx.post(f"{server.url}/mcp", json={}).status_code == 404


@pytest.mark.postgres
def test_server_start_with_mcp_and_two_workers(
    tmp_path: Path, postgres_url: str, stop: list[ServerProcess]
) -> None:
    url = create_database(postgres_url, f"mcp_{tmp_path.name[-12:].lower().replace('-', '_')}")
    server = ServerProcess(tmp_path, store_url=url, args=("--mcp", "--workers", "2"))
    server.start()
    stop.append(server)
    assert asyncio.run(_listed(f"{server.url}/mcp", 4)) == [tool_names()] * 4
