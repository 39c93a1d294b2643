"""The Kitaru server: storage and API over HTTP, never user code.

:func:`create_app` builds the API (FastAPI) over an opened metadata store and
artifact store; ``kitaru server start`` runs it with uvicorn. Needs the extra
``server`` (``pip install 'kitaru[server]'``).

Example:
    >>> from kitaru.server import create_app
    >>> callable(create_app)
    True
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kitaru.errors import KitaruFeatureNotAvailableError

if TYPE_CHECKING:
    from fastapi import FastAPI

    from kitaru.artifacts.base import ArtifactStore
    from kitaru.records import ApiKeyRecord
    from kitaru.server._auth import Authenticator
    from kitaru.store.base import MetadataStore

__all__ = ["create_app", "issue_api_key", "store_api_keys"]


def create_app(
    store: MetadataStore, artifacts: ArtifactStore, *, auth: Authenticator | None, **options: Any
) -> FastAPI:
    """Return the server's ASGI app (FastAPI) over ``store`` and ``artifacts``.

    ``auth`` decides which bearer tokens are valid API keys; ``None`` accepts every
    request (only for a server on the loopback interface). ``options``: ``max_blob_bytes``,
    ``max_json_bytes`` (request size limits; larger bodies are refused with 413),
    ``max_follow_wait`` (the longest, in seconds, a log follow request waits for new lines),
    ``uploads_dir`` (where resumable uploads keep their bytes so far; by default a new
    temporary directory: give every worker of one server the same directory).

    Raises:
        KitaruFeatureNotAvailableError: the extra ``server`` is not installed.
    """
    try:
        import fastapi  # noqa: F401
    except ImportError as exc:
        raise KitaruFeatureNotAvailableError(
            f"The Kitaru server needs FastAPI ({exc.name} is not installed): pip install 'kitaru[server]'"
        ) from exc
    from kitaru.server._app import build_app

    return build_app(store, artifacts, auth=auth, **options)


def store_api_keys(store: MetadataStore) -> Authenticator:
    """Return the authenticator that accepts the API keys kept in ``store`` (not revoked)."""
    from kitaru.server._auth import StoreApiKeys

    return StoreApiKeys(store)


def issue_api_key(store: MetadataStore, name: str) -> tuple[str, ApiKeyRecord]:
    """Create an API key called ``name`` in ``store``; return its token (shown once) and its record.

    Raises:
        KitaruStateError: a key called ``name`` exists and is not revoked.
    """
    from kitaru.server._auth import issue_api_key as issue

    return issue(store, name)
