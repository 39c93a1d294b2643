"""``kitaru server start`` and ``kitaru server api-key create | list | revoke``."""

from __future__ import annotations

from typing import Annotated, Any

from cyclopts import Parameter

from kitaru.cli._humanize import ago
from kitaru.cli._output import Output, OutputOption

__all__ = ["key_create", "key_list", "key_revoke", "login", "logout", "start", "status", "stop"]

StoreUrl = Annotated[
    str | None,
    Parameter(
        help="The server's metadata store (sqlite:///… or postgresql+psycopg://…); "
        "default: the active stack's."
    ),
]
KeyName = Annotated[str, Parameter(help="The key's name (one word, e.g. ci or laptop-ada).")]


def start(
    *,
    host: Annotated[str, Parameter(help="The interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, Parameter(help="The port to listen on.")] = 8383,
    store_url: StoreUrl = None,
    artifacts: Annotated[
        str | None,
        Parameter(
            help="Where the server keeps blobs: a directory or s3://bucket/prefix (S3-compatible; "
            "?endpoint_url= or KITARU_S3_ENDPOINT_URL for a server other than AWS); "
            "default: the active stack's."
        ),
    ] = None,
    no_auth: Annotated[
        bool, Parameter(negative="", help="Accept requests without an API key (loopback only; warned about).")
    ] = False,
    workers: Annotated[
        int, Parameter(help="Worker processes (they share the store; PostgreSQL for more than one).")
    ] = 1,
    detach: Annotated[
        bool,
        Parameter(negative="", help="Run in the background (log and pid in the data directory)."),
    ] = False,
    mcp: Annotated[
        bool,
        Parameter(
            negative="",
            help="Also serve the MCP tools at /mcp, behind the same API keys (needs the extra mcp; "
            "the server runs no user code: runs are refused, resumes and replays go to workers).",
        ),
    ] = False,
    mcp_read_only: Annotated[
        bool,
        Parameter(negative="", help="Serve at /mcp only the MCP tools that change nothing (implies --mcp)."),
    ] = False,
    output: OutputOption = "text",
) -> int:
    """Run the Kitaru server in the foreground (migrates its store first), or detached."""
    from kitaru.serving import serve

    out = Output("server.start", output)
    if detach:
        argv = ["--host", host, "--port", str(port), "--workers", str(workers)]
        argv += [*(["--store-url", store_url] if store_url else []), *(["--no-auth"] if no_auth else [])]
        argv += ["--artifacts", artifacts] if artifacts else []
        argv += ["--mcp-read-only"] if mcp_read_only else ["--mcp"] if mcp else []
        return _start_detached(out, argv, host=host, port=port, store_url=store_url)
    options: dict[str, Any] = {}
    if mcp or mcp_read_only:
        import functools
        import os

        from kitaru.mcp import MCP_ENV
        from kitaru.mcp import mount as mount_mcp

        os.environ[MCP_ENV] = "read-only" if mcp_read_only else "read-write"  # for the worker processes
        options["mount"] = functools.partial(mount_mcp, read_only=mcp_read_only, host=host)
        options["worker_factory"] = "kitaru.mcp:server_worker_app"
    serve(
        host=host,
        port=port,
        store_url=store_url,
        artifacts=artifacts,
        auth=not no_auth,
        workers=workers,
        **options,
    )
    return 0


def key_create(name: KeyName, /, *, store_url: StoreUrl = None, output: OutputOption = "text") -> int:
    """Create an API key and print its token (shown this once; only its digest is stored)."""
    from kitaru.serving import create_key

    out = Output("server.api-key.create", output)
    token, record = create_key(name, store_url=store_url)
    if out.json:
        out.item(
            {"name": record.name, "key_id": record.key_id, "token": token, "created_at": record.created_at}
        )
    else:
        out.line(token)
        out.note(
            f"API key {record.name!r} created; the token above is shown this once. Clients send it as "
            "'Authorization: Bearer <token>' (KITARU_API_KEY)."
        )
    return 0


def key_list(*, store_url: StoreUrl = None, output: OutputOption = "text") -> int:
    """List the server's API keys (names and dates, never tokens)."""
    from kitaru.serving import list_keys

    out = Output("server.api-key.list", output)
    keys = list_keys(store_url=store_url)
    if out.json:
        out.items(
            [
                {"name": k.name, "key_id": k.key_id, "created_at": k.created_at, "revoked_at": k.revoked_at}
                for k in keys
            ]
        )
        return 0
    if not keys:
        out.line("No API keys. Create one with `kitaru server api-key create NAME`.")
        return 0
    rows = [
        (k.name, k.key_id, ago(k.created_at), "revoked " + ago(k.revoked_at) if k.revoked_at else "active")
        for k in keys
    ]
    out.table(["NAME", "ID", "CREATED", "STATE"], rows)
    return 0


def key_revoke(name: KeyName, /, *, store_url: StoreUrl = None, output: OutputOption = "text") -> int:
    """Revoke an API key: requests with its token are refused from now on."""
    from kitaru.serving import revoke_key

    out = Output("server.api-key.revoke", output)
    record = revoke_key(name, store_url=store_url)
    if out.json:
        out.item({"name": record.name, "key_id": record.key_id, "revoked_at": record.revoked_at})
    else:
        out.line(f"Revoked API key {record.name!r} ({record.key_id}).")
    return 0


def login(
    url: Annotated[str, Parameter(help="The server's URL, e.g. https://kitaru.example.com.")],
    /,
    *,
    api_key: Annotated[
        str | None, Parameter(help="An API key of the server (kitaru server api-key create NAME).")
    ] = None,
    output: OutputOption = "text",
) -> int:
    """Talk to a Kitaru server from now on: checks it accepts the key, then remembers both."""
    from kitaru.config.login import login as remember
    from kitaru.serving import check_server, dashboard_url

    out = Output("login", output)
    check_server(url, api_key=api_key)
    remember(url, api_key=api_key)
    if out.json:
        out.item(
            {"server_url": url, "authenticated": api_key is not None, "dashboard_url": dashboard_url(url)}
        )
    else:
        out.line(f"Logged in to {url}: executions started here are stored by that server.")
        out.line(f"Dashboard: {dashboard_url(url)}")
    return 0


def logout(*, output: OutputOption = "text") -> int:
    """Forget the server of `kitaru login`: executions are stored locally again."""
    from kitaru.config.login import logout as forget

    out = Output("logout", output)
    url = forget()
    if out.json:
        out.item({"server_url": url, "logged_out": url is not None})
    elif url is None:
        out.line("Not logged in to a server.")
    else:
        out.line(f"Logged out of {url}: executions are stored locally again.")
    return 0


def _start_detached(out: Output, argv: list[str], *, host: str, port: int, store_url: str | None) -> int:
    from kitaru.config import mask_url
    from kitaru.serving import dashboard_url, start_daemon

    store = mask_url(store_url) if store_url else "the active stack's store"
    state = start_daemon(argv, host=host, port=port, store=store)
    if out.json:
        out.item(
            {
                "pid": state.pid,
                "url": state.url,
                "dashboard_url": dashboard_url(state.url),
                "store": state.store,
                "log": state.log,
            }
        )
    else:
        out.line(f"Kitaru server started in the background: {state.url} (pid {state.pid}).")
        out.line(f"Dashboard: {dashboard_url(state.url)}")
        out.note(f"Log: {state.log}. Stop it with: kitaru server stop")
    return 0


def stop(*, output: OutputOption = "text") -> int:
    """Stop the server started with `kitaru server start --detach` (SIGTERM, then waits)."""
    from kitaru.serving import stop_daemon

    out = Output("server.stop", output)
    state = stop_daemon()
    if out.json:
        out.item({"stopped": state is not None, "pid": None if state is None else state.pid})
    elif state is None:
        out.line("No Kitaru server was started here with `kitaru server start --detach`.")
    elif not state.running:
        out.line(f"The Kitaru server (pid {state.pid}) had ended already; see {state.log}.")
    else:
        out.line(f"Stopped the Kitaru server at {state.url} (pid {state.pid}).")
    return 0


def status(*, output: OutputOption = "text") -> int:
    """Show whether the server of `kitaru server start --detach` runs: URL, pid, store, health."""
    from kitaru.serving import daemon_state, dashboard_url

    out = Output("server.status", output)
    state = daemon_state()
    running = state is not None and state.running
    if out.json:
        out.item(
            {"running": False}
            if state is None
            else {
                "running": state.running,
                "healthy": state.healthy,
                "url": state.url,
                "dashboard_url": dashboard_url(state.url),
                "pid": state.pid,
                "store": state.store,
                "log": state.log,
                "started_at": state.started_at,
            }
        )
    elif state is None:
        out.line("No Kitaru server runs here. Start one with: kitaru server start --detach")
    elif not state.running:
        out.line(f"The Kitaru server (pid {state.pid}) has ended; see {state.log}.")
        out.note("Start it again with: kitaru server start --detach")
    else:
        health = "answers" if state.healthy else "does NOT answer its health check"
        out.table(
            ["URL", "PID", "STORE", "HEALTH", "STARTED", "LOG"],
            [(state.url, str(state.pid), state.store, health, state.started_at, state.log)],
        )
        out.line(f"Dashboard: {dashboard_url(state.url)}")
    return 0 if running else 1
