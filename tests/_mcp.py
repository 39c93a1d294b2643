"""Calling MCP tools with the SDK's client in tests: results unwrapped, errors expected, polling."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from mcp import Client

T = TypeVar("T")


async def call(client: Client, name: str, **arguments: Any) -> Any:
    """Call a tool that must succeed; its structured result (a list or text unwrapped)."""
    result = await client.call_tool(name, arguments)
    assert not result.is_error, f"{name}: {result.content}"
    value = result.structured_content
    return value["result"] if isinstance(value, dict) and list(value) == ["result"] else value


async def refused(client: Client, name: str, **arguments: Any) -> str:
    """Call a tool that must fail with a tool error; its message."""
    result = await client.call_tool(name, arguments)
    assert result.is_error, f"{name} did not fail: {result.structured_content}"
    text: str = result.content[0].text  # type: ignore[union-attr]
    return text


async def eventually(check: Callable[[], Awaitable[T]], timeout: float = 30) -> T:
    """Poll ``check`` until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not reached within {timeout} s")
        await asyncio.sleep(0.05)
