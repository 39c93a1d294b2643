"""Running a Kitaru server: the stores it serves (from the composition root), its API
keys, and uvicorn in the foreground. ``kitaru server …`` commands call these, and commands
that talk to a server (``login``, ``stack create --server``, ``model``, ``secrets``) check
it and reach its model aliases and secrets (:func:`active_registry`) through here.

Example:
    >>> from kitaru.serving import is_loopback
    >>> is_loopback("127.0.0.1"), is_loopback("0.0.0.0")
    (True, False)
"""

from __future__ import annotations

import ipaddress
import json
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kitaru._connect import active_registry, open_server_stores
from kitaru._daemon import DaemonState, daemon_state, start_daemon, stop_daemon
from kitaru.errors import KitaruFeatureNotAvailableError, KitaruUsageError
from kitaru.records import ApiKeyRecord

if TYPE_CHECKING:
    from kitaru.artifacts.base import ArtifactStore
    from kitaru.store.base import MetadataStore

__all__ = [
    "DASHBOARD_PATH",
    "DEFAULT_PORT",
    "DaemonState",
    "active_registry",
    "daemon_state",
    "start_daemon",
    "stop_daemon",
    "check_server",
    "create_key",
    "dashboard_url",
    "is_loopback",
    "list_keys",
    "revoke_key",
    "serve",
    "server_app",
    "worker_app",
    "worker_stores",
]

#: The default port of ``kitaru server start``.
DEFAULT_PORT = 8383
#: Where the server serves the web dashboard (the server mounts its assets there).
DASHBOARD_PATH = "/ui/"
#: Seconds an idle keep-alive connection stays open.
KEEP_ALIVE_TIMEOUT = 5
#: The largest request line plus headers accepted, in bytes.
MAX_HEADER_BYTES = 64 << 10
#: How ``serve`` hands the stores to its worker processes (``--workers N``): a JSON object.
_WORKER_ENV = "KITARU_SERVER_WORKER"


def dashboard_url(server_url: str) -> str:
    """The address of the web dashboard of the server at ``server_url``.

    Example:
        >>> dashboard_url("http://127.0.0.1:8383")
        'http://127.0.0.1:8383/ui/'
    """
    return server_url.rstrip("/") + DASHBOARD_PATH


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine's loopback interface only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(
    *,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    store_url: str | None = None,
    artifacts: str | None = None,
    auth: bool = True,
    workers: int = 1,
    mount: Callable[[Any, MetadataStore, ArtifactStore], None] | None = None,
    worker_factory: str | None = None,
) -> None:
    """Serve the stores over HTTP with uvicorn until interrupted (migrating the store first),
    in ``workers`` processes (they share the store, including the idempotency keys).

    ``mount(app, store, artifacts)`` adds routes to the app (``kitaru server start --mcp``: the
    MCP endpoint); with several workers each process builds its app with ``worker_factory``
    (uvicorn's ``module:function`` app factory; by default :func:`worker_app`), which does the same.

    Raises:
        KitaruUsageError: ``auth=False`` on an interface other than loopback.
        KitaruFeatureNotAvailableError: the extra ``server`` is not installed.
    """
    if workers < 1:
        raise KitaruUsageError(f"--workers {workers} is not valid: give 1 or more worker processes.")
    if not auth and not is_loopback(host):
        raise KitaruUsageError(
            f"--no-auth serves everyone who reaches {host}:{port}; it is allowed on the loopback "
            "interface only (--host 127.0.0.1). Create an API key instead: kitaru server api-key create NAME"
        )
    try:
        import uvicorn
    except ImportError as exc:
        raise KitaruFeatureNotAvailableError(
            "kitaru server start needs uvicorn, which is not installed: pip install 'kitaru[server]'"
        ) from exc
    from kitaru.server._slow_clients import GuardedHttpProtocol

    store, blobs, shown = open_server_stores(store_url, artifacts)
    try:
        if auth and not any(key.revoked_at is None for key in store.list_api_keys()):
            print(
                "No API key yet: every request will be refused. Create one with: "
                f"kitaru server api-key create NAME --store-url {shown}",
                file=sys.stderr,
            )
        if not auth:
            print(
                f"WARNING: serving {shown} WITHOUT authentication on {host}:{port}: any local "
                "process may read and change every execution.",
                file=sys.stderr,
            )
        print(
            f"Kitaru server on http://{host}:{port} (store {shown}, artifacts {blobs.uri}"
            + (f", {workers} workers)" if workers > 1 else ")"),
            file=sys.stderr,
        )
        reachable = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "[::1]"}.get(host, host)
        if ":" in reachable and not reachable.startswith("["):
            reachable = f"[{reachable}]"
        print(
            f"Dashboard: {dashboard_url(f'http://{reachable}:{port}')}"
            + (" (sign in with an API key: kitaru server api-key create NAME)" if auth else ""),
            file=sys.stderr,
        )
        options: dict[str, Any] = {
            "host": host,
            "port": port,
            "log_level": "warning",
            "access_log": False,
            "lifespan": "off",
            "http": GuardedHttpProtocol,
            "timeout_keep_alive": KEEP_ALIVE_TIMEOUT,
            "h11_max_incomplete_event_size": MAX_HEADER_BYTES,
        }
        if workers == 1:
            app = server_app(store, blobs, auth=auth)
            if mount is not None:
                mount(app, store, blobs)
            uvicorn.run(app, **options)
            return
    finally:
        store.close()
    # Each worker process opens the stores itself (the store is migrated already).
    os.environ[_WORKER_ENV] = json.dumps({"store_url": store_url, "artifacts": artifacts, "auth": auth})
    uvicorn.run(worker_factory or "kitaru.serving:worker_app", factory=True, workers=workers, **options)


def server_app(store: MetadataStore, blobs: ArtifactStore, *, auth: bool) -> Any:
    """Return the server's API over the opened stores, checking the API keys of ``store``
    when ``auth`` (what ``serve`` runs, in each of its processes)."""
    from kitaru.config import resolve_home
    from kitaru.server import create_app, store_api_keys

    # Resumable uploads keep their bytes so far in the data directory, shared by the workers.
    uploads = resolve_home() / "uploads"
    return create_app(store, blobs, auth=store_api_keys(store) if auth else None, uploads_dir=uploads)


def worker_app() -> Any:
    """Return the API of one worker process of ``serve(workers=N)`` (uvicorn's app factory),
    over the stores named by ``serve`` in the environment."""
    store, blobs, auth = worker_stores()
    return server_app(store, blobs, auth=auth)


def worker_stores() -> tuple[MetadataStore, ArtifactStore, bool]:
    """Open the stores that ``serve(workers=N)`` named in the environment for its worker
    processes; return them and whether API keys are checked."""
    raw = os.environ.get(_WORKER_ENV, "")
    try:
        given = json.loads(raw)
        store_url, artifacts, auth = given["store_url"], given["artifacts"], bool(given["auth"])
    except (ValueError, KeyError, TypeError) as exc:
        raise KitaruUsageError(
            f"Environment variable {_WORKER_ENV}={raw!r:.200} is not what kitaru server start sets "
            "for its workers; start the server with: kitaru server start --workers N"
        ) from exc
    store, blobs, _ = open_server_stores(store_url, artifacts)
    return store, blobs, auth


def create_key(name: str, *, store_url: str | None = None) -> tuple[str, ApiKeyRecord]:
    """Create an API key in the server's store; return its token (shown once) and record."""
    from kitaru.server import issue_api_key

    _check_key_name(name)
    store, _, _ = open_server_stores(store_url)
    try:
        return issue_api_key(store, name)
    finally:
        store.close()


def list_keys(*, store_url: str | None = None) -> list[ApiKeyRecord]:
    """Return the API keys of the server's store, revoked ones too."""
    store, _, _ = open_server_stores(store_url)
    try:
        return store.list_api_keys()
    finally:
        store.close()


def revoke_key(name: str, *, store_url: str | None = None) -> ApiKeyRecord:
    """Revoke the API key called ``name`` in the server's store."""
    store, _, _ = open_server_stores(store_url)
    try:
        return store.revoke_api_key(name)
    finally:
        store.close()


def _check_key_name(name: str) -> None:
    if not name.strip() or any(char.isspace() for char in name):
        raise KitaruUsageError(
            f"API key name {name!r} is not valid: use one word, e.g. 'ci' or 'laptop-ada'."
        )


def check_server(url: str, *, api_key: str | None, on_unauthorized: str | None = None) -> None:
    """Check that the Kitaru server at ``url`` answers and accepts ``api_key``
    (``on_unauthorized``: what the error says to do when it refuses the key).

    Raises:
        KitaruUsageError: the server refused the key (or none was given and it needs one).
        KitaruBackendError: nothing answered at ``url``.
    """
    from kitaru._http import HttpClient

    client = HttpClient(url, api_key=api_key, retries=1, on_unauthorized=on_unauthorized)
    try:
        client.request("GET", "/api/v1/executions", params={"limit": 0})
    finally:
        client.close()
