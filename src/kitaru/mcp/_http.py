"""The MCP server over streamable HTTP: on its own (``kitaru-mcp --http``), or as the ``/mcp``
route of a Kitaru server, behind the server's API keys.

Both serve it stateless with JSON responses: every request stands alone, so a server with
several worker processes answers any of them from any process.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

__all__ = ["MCP_PATH", "mount_route", "serve_http"]

#: Where the MCP endpoint is, standalone and in a Kitaru server.
MCP_PATH = "/mcp"


def serve_http(server: MCPServer[Any], *, host: str, port: int) -> None:
    """Serve ``server`` at ``http://host:port/mcp`` until interrupted."""
    server.run(
        "streamable-http",
        host=host,
        port=port,
        streamable_http_path=MCP_PATH,
        stateless_http=True,
        json_response=True,
    )


class _StartedOnFirstRequest:
    """The SDK's app, its session manager started by the first request.

    The SDK starts it in its app's lifespan, which a route inside another app never sees (the
    Kitaru server runs without lifespan events); it runs from then on in the server's loop.
    """

    def __init__(self, app: Any, server: MCPServer[Any]) -> None:
        self._app = app
        self._server = server
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if self._task is None or self._task.done():
            await self._start()
        await self._app(scope, receive, send)

    async def _start(self) -> None:
        async with self._lock:
            if self._task is not None and not self._task.done():
                return
            ready = asyncio.Event()

            async def run() -> None:
                async with self._server.session_manager.run():
                    ready.set()
                    await asyncio.Event().wait()  # until the server's loop ends

            self._task = asyncio.get_running_loop().create_task(run())
            waiter = asyncio.ensure_future(ready.wait())
            await asyncio.wait({waiter, self._task}, return_when=asyncio.FIRST_COMPLETED)
            if not ready.is_set():
                waiter.cancel()
                self._task.result()  # raises what stopped it


def mount_route(app: Any, server: MCPServer[Any], *, host: str) -> None:
    """Add ``server`` to the Starlette/FastAPI ``app`` as the route ``/mcp`` (its middleware,
    such as the Kitaru server's API key check, applies to it)."""
    from starlette.routing import Route

    inner = server.streamable_http_app(
        streamable_http_path=MCP_PATH, stateless_http=True, json_response=True, host=host
    )
    # Not a function, so Starlette hands it the request as an ASGI app, whatever the method.
    app.router.routes.append(Route(MCP_PATH, endpoint=_StartedOnFirstRequest(inner, server)))
