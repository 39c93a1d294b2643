"""The Kitaru MCP server: executions, waits, artifacts and memory as tools for coding assistants.

``kitaru-mcp`` serves the tools over stdio (what an assistant starts), ``kitaru-mcp --http``
over streamable HTTP at ``http://HOST:PORT/mcp``; ``kitaru server start --mcp`` adds the same
endpoint to a Kitaru server, behind its API keys. ``--read-only`` serves only the tools that
change nothing. The tools are built on :class:`kitaru.client.KitaruClient`, so they act on the
active stack: its local store, or the server it points at. Needs the extra ``mcp``
(``pip install 'kitaru[mcp]'``).

Example:
    >>> from kitaru.mcp import tool_names
    >>> "kitaru_executions_input" in tool_names() and "kitaru_executions_input" not in tool_names(
    ...     read_only=True
    ... )
    True
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from kitaru.errors import KitaruError, KitaruUsageError

__all__ = ["MCP_ENV", "entry_point", "main", "mount", "server_worker_app", "tool_names"]

#: Set by ``kitaru server start --mcp`` for the server's worker processes: ``read-write`` or
#: ``read-only`` (the tools each of them serves at ``/mcp``).
MCP_ENV = "KITARU_SERVER_MCP"
_MODES = ("read-write", "read-only")
#: The port of ``kitaru-mcp --http`` unless ``--port`` says otherwise.
DEFAULT_PORT = 8384


def tool_names(*, read_only: bool = False) -> list[str]:
    """Return the names of the tools served (with ``read_only``: those that change nothing)."""
    from kitaru.mcp._server import TOOL_KINDS

    return [name for name, kind in TOOL_KINDS.items() if kind.read_only or not read_only]


def mount(app: Any, store: Any, artifacts: Any, *, read_only: bool = False, host: str = "127.0.0.1") -> None:
    """Add the MCP endpoint ``/mcp`` to a Kitaru server's ``app`` over its ``store`` and
    ``artifacts``; the server's API key check applies to it.

    Nothing runs user code in the server: ``kitaru_executions_run`` refuses (it would import
    the flow's code), and resumes, retries, replays and answered waits are queued for
    ``kitaru worker`` processes.

    Example:
        >>> from kitaru.server import create_app  # doctest: +SKIP
        >>> app = create_app(store, artifacts, auth=None)  # doctest: +SKIP
        >>> mount(app, store, artifacts, read_only=True)  # doctest: +SKIP
    """
    from kitaru._connect import worker_target
    from kitaru.client import KitaruClient
    from kitaru.mcp._http import mount_route
    from kitaru.mcp._server import build_server
    from kitaru.mcp._tools import Tools

    target = worker_target()
    tools = Tools(lambda: KitaruClient(store=store, artifacts=artifacts, target=target), in_server=True)
    mount_route(app, build_server(tools, read_only=read_only), host=host)


def server_worker_app() -> Any:
    """Return the app of one worker process of ``kitaru server start --mcp --workers N``
    (uvicorn's app factory): the server's API with ``/mcp`` mounted as :data:`MCP_ENV` says."""
    from kitaru.serving import server_app, worker_stores

    raw = os.environ.get(MCP_ENV, "read-write")
    if raw not in _MODES:
        raise KitaruUsageError(
            f"Environment variable {MCP_ENV}={raw!r} is not one of {', '.join(_MODES)}; start the "
            "server with: kitaru server start --mcp [--mcp-read-only]"
        )
    store, blobs, auth = worker_stores()
    app = server_app(store, blobs, auth=auth)
    mount(app, store, blobs, read_only=raw == "read-only")
    return app


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kitaru-mcp",
        description="Serve Kitaru's executions, waits, artifacts and memory as MCP tools "
        "(over stdio unless --http), acting on the active stack.",
    )
    parser.add_argument("--http", action="store_true", help="Serve streamable HTTP at /mcp instead of stdio.")
    parser.add_argument("--host", help="With --http: the interface (default 127.0.0.1).")
    parser.add_argument("--port", type=int, help=f"With --http: the port (default {DEFAULT_PORT}).")
    parser.add_argument("--read-only", action="store_true", help="Serve only the tools that change nothing.")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``kitaru-mcp`` (the console script) with ``argv``; return its exit code."""
    args = _parser().parse_args(argv)
    try:
        from kitaru.client import KitaruClient
        from kitaru.mcp._server import build_server
        from kitaru.mcp._tools import Tools

        if (args.host is not None or args.port is not None) and not args.http:
            raise KitaruUsageError("--host and --port go with --http (stdio needs neither).")
        host, port = args.host or "127.0.0.1", DEFAULT_PORT if args.port is None else args.port
        if not 0 < port < 65536:
            raise KitaruUsageError(f"--port {port} is not a TCP port (1-65535).")
        server = build_server(Tools(KitaruClient), read_only=args.read_only)
        if args.http:
            from kitaru.mcp._http import serve_http
            from kitaru.serving import is_loopback

            if not is_loopback(host):
                print(
                    f"WARNING: kitaru-mcp on {host} has no authentication: whoever reaches "
                    f"{host}:{port} acts on your executions. Prefer the /mcp endpoint of "
                    "`kitaru server start --mcp`, which checks API keys.",
                    file=sys.stderr,
                )
            print(f"Kitaru MCP server on http://{host}:{port}/mcp", file=sys.stderr)
            serve_http(server, host=host, port=port)
        else:
            server.run("stdio")
    except KitaruError as exc:
        print(f"kitaru-mcp: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, KitaruUsageError) else 1
    except KeyboardInterrupt:
        return 130
    return 0


def entry_point() -> None:
    """The ``kitaru-mcp`` console script."""
    sys.exit(main())
