"""The composition root: the one place that opens stores from a URL and picks
the execution target.

Everything else receives opened stores and the target. The stores are those of the active
stack (see :mod:`kitaru.config.stacks`); the stack ``default`` lives in the data
directory (``KITARU_HOME``, a ``.kitaru/`` found walking up from the current
directory, or the user data directory): ``kitaru.db`` (SQLite) and
``artifacts/``. ``KITARU_STORE_URL`` points the metadata store elsewhere
(e.g. ``postgresql+psycopg://…``) and ``KITARU_ARTIFACTS_DIR`` the artifacts
(a directory or ``s3://bucket/prefix``), whatever the stack says. The URL
``memory://<name>`` opens an in-memory metadata store and artifact store instead (for tests; see
:func:`kitaru.testing.in_memory`): they live until the stores are reset, in
this process only.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kitaru._types import Record
from kitaru.artifacts.base import ArtifactStore
from kitaru.config import active_stack, mask_url, resolve_settings
from kitaru.config.stacks import stack_location
from kitaru.store.base import MetadataStore

if TYPE_CHECKING:
    from kitaru.runtime.targets.local import LocalTarget
    from kitaru.runtime.targets.worker import WorkerTarget

__all__ = [
    "MEMORY_URL_PREFIX",
    "Stores",
    "configured_target",
    "default_stores",
    "execution_target",
    "local_target",
    "open_artifact_store",
    "open_memory_stores",
    "open_server_connection",
    "open_server_stores",
    "open_stores",
    "reset_default_stores",
    "stack_stores",
    "worker_target",
]

#: Store URLs starting with this open in-memory stores (the artifacts directory is ignored).
MEMORY_URL_PREFIX = "memory://"


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Stores(Record):
    """An opened metadata store and artifact store, where they live, and the
    execution target that runs their executions.

    ``display_url`` is ``url`` with its secrets masked (:func:`kitaru.config.mask_url`):
    the one to show, log or store.
    """

    metadata: MetadataStore
    artifacts: ArtifactStore
    url: str
    display_url: str

    @property
    def target(self) -> Any:
        """The execution target of these stores, as the settings choose it
        (:func:`execution_target`; the engine loads when it is first asked for, so that
        reading and listing never load it)."""
        return configured_target()


def open_stores(url: str, artifacts_dir: str | os.PathLike[str]) -> Stores:
    """Open the metadata store at ``url`` and the artifact store at ``artifacts_dir`` (a directory
    or an ``s3://`` URL)."""
    if url.startswith(MEMORY_URL_PREFIX):
        return open_memory_stores(url)
    from kitaru.store import open_store

    metadata = open_store(url)
    return Stores(metadata, open_artifact_store(artifacts_dir), url, mask_url(url))


def open_artifact_store(location: str | os.PathLike[str]) -> ArtifactStore:
    """Open the artifact store at ``location``: an object storage URL (``s3://bucket/prefix``,
    with the extra ``s3``) or a local directory.

    Raises:
        KitaruUsageError: the ``s3://`` URL or ``KITARU_S3_ENDPOINT_URL`` is malformed.
        KitaruFeatureNotAvailableError: an ``s3://`` URL without the extra ``s3`` installed.
    """
    if isinstance(location, str) and location.startswith("s3://"):
        from kitaru.artifacts.object_store import ObjectArtifactStore

        return ObjectArtifactStore(location)
    from kitaru.artifacts.local import LocalArtifactStore

    return LocalArtifactStore(location)


def open_server_stores(
    store_url: str | None = None, artifacts_dir: str | os.PathLike[str] | None = None
) -> tuple[MetadataStore, ArtifactStore, str]:
    """Open the stores a Kitaru server serves: ``store_url`` (an SQL store) and the artifact
    store ``artifacts_dir`` (a local directory or an ``s3://bucket/prefix`` URL), each the
    active stack's when not given. Returns
    them with the store's URL, secrets masked.

    Raises:
        KitaruUsageError: the URL names no SQL store (a server keeps its data in SQLite or
            PostgreSQL), or no stack is active.
    """
    from kitaru.errors import KitaruUsageError
    from kitaru.store import open_store

    if store_url is None or artifacts_dir is None:
        name, chosen_by = active_stack()
        stack_url, stack_artifacts = stack_location(name, chosen_by=chosen_by)
        store_url = store_url or stack_url
        artifacts_dir = artifacts_dir or stack_artifacts
    if store_url.startswith(MEMORY_URL_PREFIX):
        raise KitaruUsageError(
            f"A server cannot serve the in-memory store {store_url!r}: give --store-url "
            "sqlite:///path/to/kitaru.db or postgresql+psycopg://user@host/database."
        )
    return open_store(store_url), open_artifact_store(artifacts_dir), mask_url(store_url)


def execution_target(name: str, *, chosen_by: str = "execution_target") -> Any:
    """The execution target called ``name``: ``local`` (threads of this process), ``worker``
    (the queue that ``kitaru worker`` processes serve) or ``ray`` (a Ray cluster, with the
    extra ``ray``).

    Raises:
        KitaruUsageError: an unknown target (the message names ``chosen_by``).
        KitaruFeatureNotAvailableError: ``ray`` without Ray's target installed.
    """
    if name == "local":
        return local_target()
    if name == "worker":
        return worker_target()
    if name == "ray":
        try:
            from kitaru.runtime.targets.ray import (  # type: ignore[import-not-found,unused-ignore]
                RayTarget,
            )
        except ImportError as exc:
            from kitaru.errors import KitaruFeatureNotAvailableError

            raise KitaruFeatureNotAvailableError(
                f"The execution target 'ray' (chosen by {chosen_by}) needs Ray: "
                f"pip install 'kitaru[ray]' ({exc})."
            ) from exc
        return RayTarget()
    from kitaru.errors import KitaruUsageError

    raise KitaruUsageError(f"{chosen_by}: unknown execution target {name!r}; use local, worker or ray.")


def configured_target() -> Any:
    """The execution target the settings choose (``execution_target`` of the active stack,
    ``[tool.kitaru]``, ``KITARU_EXECUTION_TARGET``)."""
    settings = resolve_settings()
    name, chosen_by = settings.values["execution_target"], settings.sources["execution_target"]
    return execution_target(name, chosen_by=chosen_by)


def worker_target() -> WorkerTarget:
    """The execution target that queues executions for ``kitaru worker`` processes."""
    from kitaru.runtime.targets.worker import WorkerTarget

    return WorkerTarget()


def local_target() -> LocalTarget:
    """The execution target that runs executions in threads of this process."""
    from kitaru.runtime.targets.local import LocalTarget

    return LocalTarget()


def open_memory_stores(url: str) -> Stores:
    """Open a new in-memory metadata store and artifact store for a ``memory://<name>`` URL."""
    from kitaru.artifacts.memory import MemoryArtifactStore
    from kitaru.store.memory import InMemoryStore

    name = url.removeprefix(MEMORY_URL_PREFIX) or "default"
    return Stores(InMemoryStore(url), MemoryArtifactStore(name), url, url)


_lock = threading.Lock()
_opened: dict[tuple[str | None, ...], Stores] = {}


def _server() -> tuple[str, str | None] | None:
    """The server URL and API key when a server is configured (connect(), KITARU_SERVER_URL)."""
    settings = resolve_settings()
    url = settings.values["server_url"]
    if url is None:
        return None
    key = settings.values["api_key"]
    return str(url), None if key is None else str(key)


def open_server_connection(url: str, api_key: str | None) -> Stores:
    """Open the REST metadata store and artifact store of the Kitaru server at ``url``
    (one keep-alive connection for both); executions run in threads of this process."""
    from kitaru._http import HttpClient
    from kitaru.artifacts.rest import RestArtifactStore
    from kitaru.store.rest import RestStore

    client = HttpClient(url, api_key=api_key)
    metadata, artifacts = RestStore(url, client=client), RestArtifactStore(url, client=client)
    return Stores(metadata, artifacts, url, mask_url(url))


def default_stores() -> Stores:
    """Return the stores of the active stack, opening them once per process."""
    name, chosen_by = active_stack()
    return stack_stores(name, chosen_by=chosen_by)


def stack_stores(name: str, *, chosen_by: str = "run()") -> Stores:
    """Return the stores of stack ``name``, opening them once per process; the Kitaru
    server's when one is configured (``kitaru.connect()``, ``KITARU_SERVER_URL``).

    Raises:
        KitaruUsageError: no such stack (the message says which setting chose it).
    """
    server = _server()
    if server is not None:
        url, api_key = server
        key: tuple[str | None, ...] = ("server", url, api_key)
        opener: Callable[[], Stores] = lambda: open_server_connection(url, api_key)  # noqa: E731
    else:
        store_url, artifacts_dir = stack_location(name, chosen_by=chosen_by)
        key = (store_url, artifacts_dir)
        opener = lambda: open_stores(store_url, artifacts_dir)  # noqa: E731
    stores = _opened.get(key)
    if stores is not None:
        return stores
    with _lock:
        stores = _opened.get(key)
        if stores is None:
            stores = _opened[key] = opener()
        return stores


def reset_default_stores() -> None:
    """Close every store opened by :func:`default_stores` (tests switch data directories)."""
    with _lock:
        for stores in _opened.values():
            stores.metadata.close()
        _opened.clear()
