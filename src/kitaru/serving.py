"""Running a Kitaru server: the stores it serves (from the composition root), its API
keys, and uvicorn in the foreground. ``kitaru server …`` commands call these.

Example:
    >>> from kitaru.serving import is_loopback
    >>> is_loopback("127.0.0.1"), is_loopback("0.0.0.0")
    (True, False)
"""

from __future__ import annotations

import ipaddress
import sys

from kitaru._connect import open_server_stores
from kitaru.errors import KitaruFeatureNotAvailableError, KitaruUsageError
from kitaru.records import ApiKeyRecord

__all__ = ["DEFAULT_PORT", "check_server", "create_key", "is_loopback", "list_keys", "revoke_key", "serve"]

#: The default port of ``kitaru server start``.
DEFAULT_PORT = 8383


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
) -> None:
    """Serve the stores over HTTP with uvicorn until interrupted (migrating the store first).

    Raises:
        KitaruUsageError: ``auth=False`` on an interface other than loopback.
        KitaruFeatureNotAvailableError: the extra ``server`` is not installed.
    """
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
    from kitaru.server import create_app, store_api_keys

    store, blobs, shown = open_server_stores(store_url, artifacts)
    try:
        if auth:
            if not any(key.revoked_at is None for key in store.list_api_keys()):
                print(
                    "No API key yet: every request will be refused. Create one with: "
                    f"kitaru server api-key create NAME --store-url {shown}",
                    file=sys.stderr,
                )
            app = create_app(store, blobs, auth=store_api_keys(store))
        else:
            print(
                f"WARNING: serving {shown} WITHOUT authentication on {host}:{port}: any local "
                "process may read and change every execution.",
                file=sys.stderr,
            )
            app = create_app(store, blobs, auth=None)
        print(
            f"Kitaru server on http://{host}:{port} (store {shown}, artifacts {blobs.uri})", file=sys.stderr
        )
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, lifespan="off")
    finally:
        store.close()


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


def check_server(url: str, *, api_key: str | None) -> None:
    """Check that the Kitaru server at ``url`` answers and accepts ``api_key``.

    Raises:
        KitaruUsageError: the server refused the key (or none was given and it needs one).
        KitaruBackendError: nothing answered at ``url``.
    """
    from kitaru._http import HttpClient

    client = HttpClient(url, api_key=api_key, retries=1)
    try:
        client.request("GET", "/api/v1/executions", params={"limit": 0})
    finally:
        client.close()
