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
    from kitaru.server._auth import Authenticator
    from kitaru.store.base import MetadataStore

__all__ = ["create_app"]


def create_app(
    store: MetadataStore, artifacts: ArtifactStore, *, auth: Authenticator | None, **options: Any
) -> FastAPI:
    """Return the server's ASGI app (FastAPI) over ``store`` and ``artifacts``.

    ``auth`` decides which bearer tokens are valid API keys; ``None`` accepts every
    request (only for a server on the loopback interface). ``options``: ``max_blob_bytes``.

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
