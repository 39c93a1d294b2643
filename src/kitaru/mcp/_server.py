"""The MCP server object (the official ``mcp`` SDK, 2.x): the tools of :mod:`kitaru.mcp._tools`
registered with their annotations, Kitaru errors turned into tool errors.

This is the one module that imports the SDK.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from kitaru.errors import KitaruError, KitaruFeatureNotAvailableError
from kitaru.mcp._tools import Tools

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

__all__ = ["TOOL_KINDS", "Kind", "build_server"]


class Kind(NamedTuple):
    """What a tool does to the store, as MCP tool annotations say it."""

    read_only: bool
    destructive: bool
    idempotent: bool
    open_world: bool = False


_READ = Kind(read_only=True, destructive=False, idempotent=True)
_ADD = Kind(read_only=False, destructive=False, idempotent=False)
_REMOVE = Kind(read_only=False, destructive=True, idempotent=True)
_STOP = Kind(read_only=False, destructive=True, idempotent=False)

#: Every tool and what it does; ``--read-only`` serves those with ``read_only``.
TOOL_KINDS: dict[str, Kind] = {
    "kitaru_executions_list": _READ,
    "kitaru_executions_get": _READ,
    "kitaru_executions_latest": _READ,
    "get_execution_logs": _READ,
    "kitaru_executions_pending_waits": _READ,
    # Runs the user's code, which may reach anything.
    "kitaru_executions_run": Kind(read_only=False, destructive=False, idempotent=False, open_world=True),
    "kitaru_executions_input": _ADD,
    "kitaru_executions_abort_wait": _STOP,
    "kitaru_executions_resume": _ADD,
    "kitaru_executions_retry": _ADD,
    "kitaru_executions_replay": _ADD,
    "kitaru_executions_cancel": _STOP,
    "kitaru_artifacts_list": _READ,
    "kitaru_artifacts_get": _READ,
    "kitaru_memory_scopes": _READ,
    "kitaru_memory_list": _READ,
    "kitaru_memory_get": _READ,
    "kitaru_memory_history": _READ,
    "kitaru_memory_compaction_log": _READ,
    "kitaru_memory_set": _ADD,
    "kitaru_memory_delete": _REMOVE,
    "kitaru_memory_purge": _REMOVE,
    "kitaru_memory_purge_scope": _REMOVE,
    # Asks a model for the summary.
    "kitaru_memory_compact": Kind(read_only=False, destructive=False, idempotent=False, open_world=True),
    "kitaru_status": _READ,
    "kitaru_stacks_list": _READ,
}

_INSTRUCTIONS = (
    "Kitaru runs durable Python agent flows. Use these tools to inspect executions (list, get, "
    "logs, artifacts), answer the waits a flow is blocked on (kitaru_executions_pending_waits, then "
    "kitaru_executions_input with a value that fits the wait's schema), act on executions (resume, "
    "retry, replay from a checkpoint, cancel) and read or write durable memory."
)


def _sdk() -> Any:
    try:
        from mcp.server import mcpserver
    except ImportError as exc:
        raise KitaruFeatureNotAvailableError(
            f"The Kitaru MCP server needs the official MCP SDK ({exc.name} is not installed): "
            "pip install 'kitaru[mcp]'"
        ) from exc
    return mcpserver


def _as_tool_error(method: Callable[..., Any], tool_error: type[Exception]) -> Callable[..., Any]:
    """The tool with Kitaru errors raised as tool errors carrying their message (the SDK hides
    the text of other exceptions, as it should for bugs)."""

    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except KitaruError as exc:
            public = next(c for c in type(exc).__mro__ if c.__module__ == "kitaru.errors")
            raise tool_error(f"{public.__name__}: {exc}") from exc
        except TimeoutError as exc:
            raise tool_error(f"TimeoutError: {exc}") from exc

    return call


def build_server(tools: Tools, *, read_only: bool = False) -> MCPServer[Any]:
    """Return the MCP server serving ``tools`` (only those that change nothing with ``read_only``).

    Raises:
        KitaruFeatureNotAvailableError: the extra ``mcp`` is not installed.
    """
    from kitaru import __version__

    sdk = _sdk()
    from mcp.server.mcpserver.exceptions import ToolError
    from mcp.types import ToolAnnotations

    server = sdk.MCPServer(
        "kitaru",
        title="Kitaru",
        instructions=_INSTRUCTIONS + (" This server is read-only." if read_only else ""),
        version=__version__,
        log_level="WARNING",
    )
    for name, kind in TOOL_KINDS.items():
        if read_only and not kind.read_only:
            continue
        method = getattr(tools, name)
        server.add_tool(
            _as_tool_error(method, ToolError),
            name=name,
            annotations=ToolAnnotations(
                title=name.removeprefix("kitaru_").replace("_", " "),
                read_only_hint=kind.read_only,
                destructive_hint=kind.destructive,
                idempotent_hint=kind.idempotent,
                open_world_hint=kind.open_world,
            ),
        )
    server_any: MCPServer[Any] = server
    return server_any
