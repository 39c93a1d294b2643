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

A Kitaru server, when one is configured (:func:`server_setting`: a stack of kind ``server``,
``kitaru login``, ``KITARU_SERVER_URL`` / ``KITARU_API_KEY``, ``kitaru.connect()``, in that
order of precedence), replaces the stack's store and artifacts with the REST stores of that
server. This is also where model aliases and secrets are chosen: the stores of a server carry
its registry (:class:`~kitaru.config.registry.ServerRegistry`), every other store the data
directory's; :func:`registry_for` finds the one of a running execution's store.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kitaru._types import Record
from kitaru.artifacts.base import ArtifactStore
from kitaru.config import ResolvedSettings, active_stack, mask_url, resolve_settings
from kitaru.config.registry import LocalRegistry, Registry, ServerRegistry
from kitaru.config.stacks import stack_location
from kitaru.store.base import MetadataStore

if TYPE_CHECKING:
    from kitaru.runtime.targets.local import LocalTarget
    from kitaru.runtime.targets.ray import RayTarget
    from kitaru.runtime.targets.worker import WorkerTarget

__all__ = [
    "MEMORY_URL_PREFIX",
    "ServerSetting",
    "Stores",
    "active_registry",
    "configured_target",
    "default_stores",
    "describe_stores",
    "execution_target",
    "local_target",
    "open_artifact_store",
    "open_described",
    "open_memory_stores",
    "open_server_connection",
    "open_server_stores",
    "open_stores",
    "ray_target",
    "registry_for",
    "reset_default_stores",
    "server_setting",
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
    the one to show, log or store. ``registry`` keeps the model aliases and secrets that
    go with these stores: the server's when they are a server's, else the data directory's.
    """

    metadata: MetadataStore
    artifacts: ArtifactStore
    url: str
    display_url: str
    registry: Registry = field(default_factory=LocalRegistry)

    @property
    def target(self) -> Any:
        """The execution target of these stores, as the settings choose it
        (:func:`execution_target`; the engine loads when it is first asked for, so that
        reading and listing never load it)."""
        return configured_target(self)


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


def execution_target(
    name: str,
    *,
    chosen_by: str = "execution_target",
    stores: Stores | None = None,
    settings: ResolvedSettings | None = None,
) -> Any:
    """The execution target called ``name``: ``local`` (threads of this process), ``worker``
    (the queue that ``kitaru worker`` processes serve) or ``ray`` (a Ray cluster, with the
    extra ``ray``, at the ``ray_address`` of ``settings``; its runners open ``stores``, by
    default those of the active stack).

    Raises:
        KitaruUsageError: an unknown target (the message names ``chosen_by``), or ``ray``
            without a ``ray_address``.
    """
    if name == "local":
        return local_target()
    if name == "worker":
        return worker_target()
    if name == "ray":
        settings = settings or resolve_settings()
        return ray_target(
            stores or default_stores(),
            settings.values["ray_address"],
            chosen_by=settings.sources["ray_address"],
        )
    from kitaru.errors import KitaruUsageError

    raise KitaruUsageError(f"{chosen_by}: unknown execution target {name!r}; use local, worker or ray.")


def configured_target(stores: Stores | None = None) -> Any:
    """The execution target the settings choose (``execution_target`` of the active stack,
    ``[tool.kitaru]``, ``KITARU_EXECUTION_TARGET``) for ``stores`` (default: the active stack's)."""
    settings = resolve_settings()
    name, chosen_by = settings.values["execution_target"], settings.sources["execution_target"]
    return execution_target(name, chosen_by=chosen_by, stores=stores, settings=settings)


def worker_target() -> WorkerTarget:
    """The execution target that queues executions for ``kitaru worker`` processes."""
    from kitaru.runtime.targets.worker import WorkerTarget

    return WorkerTarget()


def local_target() -> LocalTarget:
    """The execution target that runs executions in threads of this process."""
    from kitaru.runtime.targets.local import LocalTarget

    return LocalTarget()


def describe_stores(stores: Stores) -> dict[str, str | None]:
    """What another process needs to open the same stores (:func:`open_described`): the
    Kitaru server's URL and API key, or the store URL and the artifact store's location.

    Raises:
        KitaruUsageError: the stores are in-memory (no other process can open them).
    """
    from kitaru.errors import KitaruUsageError

    if stores.url.startswith(MEMORY_URL_PREFIX):
        raise KitaruUsageError(
            f"The in-memory store {stores.url!r} cannot be opened by another process: run remote "
            "targets on a SQLite file, PostgreSQL or a Kitaru server (`kitaru stack create`, "
            "KITARU_STORE_URL, `kitaru login`)."
        )
    server = server_setting()
    if server is not None and server.url == stores.url:
        return {"server_url": server.url, "api_key": server.api_key}
    return {"store_url": stores.url, "artifacts": stores.artifacts.uri}


def open_described(description: dict[str, str | None]) -> tuple[MetadataStore, ArtifactStore]:
    """Open the stores :func:`describe_stores` described (in a runner's process)."""
    server_url = description.get("server_url")
    if server_url is not None:
        opened = open_server_connection(server_url, description.get("api_key"))
    else:
        store_url, artifacts = description["store_url"], description["artifacts"]
        assert store_url is not None and artifacts is not None
        opened = open_stores(store_url, artifacts)
    return opened.metadata, opened.artifacts


def ray_target(stores: Stores, address: str | None, *, chosen_by: str = "ray_address") -> RayTarget:
    """The execution target that runs executions of ``stores`` on the Ray cluster at ``address``.

    Raises:
        KitaruUsageError: no ``ray_address`` is set, or the stores are in-memory.
    """
    from kitaru.errors import KitaruUsageError

    if address is None:
        raise KitaruUsageError(
            "The execution target is 'ray' but no ray_address is set: set it on the stack "
            "(`kitaru.create_stack(NAME, settings={'ray_address': 'HOST:PORT'})`) or in KITARU_RAY_ADDRESS "
            "('auto' joins the cluster this machine belongs to)."
        )
    from kitaru.runtime.targets.ray import RayTarget

    return RayTarget(address, describe_stores(stores), open_described)


def open_memory_stores(url: str) -> Stores:
    """Open a new in-memory metadata store and artifact store for a ``memory://<name>`` URL."""
    from kitaru.artifacts.memory import MemoryArtifactStore
    from kitaru.store.memory import InMemoryStore

    name = url.removeprefix(MEMORY_URL_PREFIX) or "default"
    return Stores(InMemoryStore(url), MemoryArtifactStore(name), url, url)


_lock = threading.Lock()
_opened: dict[tuple[str | None, ...], Stores] = {}
# The registry of each metadata store opened here that is a server's (for kitaru.llm()).
_registries: weakref.WeakKeyDictionary[MetadataStore, Registry] = weakref.WeakKeyDictionary()


@dataclass(frozen=True, slots=True, eq=False)
class ServerSetting:
    """The Kitaru server configured for a stack: its URL, API key and where each came from.

    The precedence is that of the settings (:func:`kitaru.config.resolve_settings`), lowest
    to highest: a stack of kind ``server`` → ``kitaru login`` → ``KITARU_SERVER_URL`` /
    ``KITARU_API_KEY`` → ``kitaru.connect()``.
    """

    url: str
    api_key: str | None
    url_source: str
    key_source: str | None
    direct_artifacts: bool = False

    def __repr__(self) -> str:
        key = None if self.api_key is None else "***"
        return f"ServerSetting(url={mask_url(self.url)!r}, api_key={key!r}, url_source={self.url_source!r})"

    def unauthorized_hint(self) -> str:
        """What to do when the server refuses this key (a 401), by where the key came from."""
        url = mask_url(self.url)
        create = "(a key is made on the server with `kitaru server api-key create NAME`)"
        source = self.key_source or ""
        if self.api_key is None:
            what = f"No API key was configured: log in with `kitaru login {url} --api-key KEY`"
        elif source == "kitaru login":
            what = f"The key came from `kitaru login`: log in again with `kitaru login {url} --api-key KEY`"
        elif source.startswith("stack "):
            name = source.split("'")[1] if "'" in source else "NAME"
            what = (
                f"The key came from {source}: recreate the stack with a valid key (`kitaru stack delete "
                f"{name} --force`, then `kitaru stack create {name} --server {url} --api-key KEY`), or "
                "export KITARU_API_KEY"
            )
        elif source.startswith("environment"):
            what = "The key came from the environment variable KITARU_API_KEY: set it to a valid key"
        else:
            what = f"The key came from {source}: pass a valid api_key"
        return f"{what} {create}."


def server_setting(stack: str | None = None, *, chosen_by: str = "run()") -> ServerSetting | None:
    """The server configured for ``stack`` (default: the active stack), or ``None`` (local)."""
    if stack is None:
        stack, chosen_by = active_stack()
    settings = resolve_settings(for_stack=(stack, chosen_by))
    url = settings.values["server_url"]
    if url is None:
        return None
    key = settings.values["api_key"]
    return ServerSetting(
        str(url),
        None if key is None else str(key),
        settings.sources["server_url"],
        None if key is None else settings.sources["api_key"],
        bool(settings.values["direct_artifacts"]),
    )


def open_server_connection(
    url: str,
    api_key: str | None,
    *,
    setting: ServerSetting | None = None,
    direct_artifacts: bool | None = None,
) -> Stores:
    """Open the REST metadata store and artifact store of the Kitaru server at ``url``
    (one keep-alive connection for both), and its registry of model aliases and secrets;
    executions run in threads of this process. ``setting``: where the URL and key came from
    (named in connection errors, with what to do when the server refuses the key).
    ``direct_artifacts`` (default: the setting's): blobs are read and written in the server's
    object storage directly, with URLs it signs."""
    from kitaru._http import HttpClient
    from kitaru.artifacts.rest import RestArtifactStore
    from kitaru.store.rest import RestStore

    setting = setting or ServerSetting(url, api_key, "kitaru.connect()", None)
    client = HttpClient(
        url,
        api_key=api_key,
        origin=setting.url_source,
        on_unauthorized=setting.unauthorized_hint(),
    )
    direct = setting.direct_artifacts if direct_artifacts is None else direct_artifacts
    metadata = RestStore(url, client=client)
    artifacts = RestArtifactStore(url, client=client, direct=direct)
    registry = ServerRegistry(mask_url(url), lambda method, path, body: client.json(method, path, json=body))
    _registries[metadata] = registry
    return Stores(metadata, artifacts, url, mask_url(url), registry)


def registry_for(metadata: MetadataStore) -> Registry:
    """The model aliases and secrets that go with ``metadata``: the server's for a server's
    store opened here, else the data directory's."""
    return _registries.get(metadata) or LocalRegistry()


def active_registry() -> Registry:
    """The model aliases and secrets of the active configuration: the server's when one is
    configured (a server stack, ``kitaru login``, ``KITARU_SERVER_URL``, ``connect()``), else
    the data directory's (nothing is opened for those)."""
    name, chosen_by = active_stack()
    if server_setting(name, chosen_by=chosen_by) is None:
        return LocalRegistry()
    return stack_stores(name, chosen_by=chosen_by).registry


def default_stores() -> Stores:
    """Return the stores of the active stack, opening them once per process."""
    name, chosen_by = active_stack()
    return stack_stores(name, chosen_by=chosen_by)


def stack_stores(name: str, *, chosen_by: str = "run()") -> Stores:
    """Return the stores of stack ``name``, opening them once per process; the Kitaru
    server's when one is configured (:func:`server_setting`: the stack's own server,
    ``kitaru login``, ``KITARU_SERVER_URL``, ``kitaru.connect()``).

    Raises:
        KitaruUsageError: no such stack (the message says which setting chose it).
    """
    server = server_setting(name, chosen_by=chosen_by)
    if server is not None:
        url, api_key = server.url, server.api_key
        key: tuple[str | None, ...] = ("server", url, api_key, "direct" if server.direct_artifacts else None)
        opener: Callable[[], Stores] = lambda: open_server_connection(url, api_key, setting=server)  # noqa: E731
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
