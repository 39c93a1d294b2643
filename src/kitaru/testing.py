"""Helpers for testing code that uses Kitaru: an isolated data directory, in-memory stores.

:func:`isolated_home` points Kitaru at a fresh data directory (a new SQLite
file). :func:`in_memory` runs flows on stores that never touch a disk:
:class:`InMemoryStore` (the reference metadata store, which passes the
store conformance suite :mod:`kitaru.store.conformance`) and
:class:`MemoryArtifactStore`. Both store classes can also be used directly,
e.g. with ``KitaruClient(store=..., artifacts=...)``.

Example:
    >>> from kitaru.testing import in_memory, isolated_home
    >>> with isolated_home("/tmp/kitaru-test"):  # doctest: +SKIP
    ...     handle = my_flow.run()
    >>> with in_memory() as stores:  # doctest: +SKIP
    ...     assert my_flow.run().wait() == 42
    ...     stores.metadata.list_executions()[0].status
    <ExecutionStatus.COMPLETED: 'completed'>
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kitaru._connect import MEMORY_URL_PREFIX, Stores, default_stores, reset_default_stores
from kitaru.config import reset_config

if TYPE_CHECKING:
    from kitaru.artifacts.memory import MemoryArtifactStore
    from kitaru.store.memory import InMemoryStore

__all__ = ["InMemoryStore", "MemoryArtifactStore", "in_memory", "isolated_home"]

_ELSEWHERE = (
    "KITARU_STORE_URL",
    "KITARU_ARTIFACTS_DIR",
    "KITARU_STACK",
    "KITARU_SERVER_URL",
    "KITARU_API_KEY",
)
_numbers = itertools.count(1)


def __getattr__(name: str) -> Any:
    # The store classes are imported on first use: importing kitaru.testing stays cheap.
    if name == "InMemoryStore":
        from kitaru.store.memory import InMemoryStore

        return InMemoryStore
    if name == "MemoryArtifactStore":
        from kitaru.artifacts.memory import MemoryArtifactStore

        return MemoryArtifactStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


@contextmanager
def isolated_home(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Point Kitaru at a fresh data directory for the duration of the block.

    Sets ``KITARU_HOME``, unsets the variables that point elsewhere (another
    store, stack or server), forgets ``kitaru.configure()`` settings and opened
    stores on entry and exit, and restores the previous environment.
    """
    home = Path(path)
    home.mkdir(parents=True, exist_ok=True)
    with _environment({"KITARU_HOME": str(home)}):
        yield home


@contextmanager
def in_memory(name: str | None = None) -> Iterator[Stores]:
    """Run the flows, clients and verbs of the block on new in-memory stores.

    Points the store URL at ``memory://<name>`` (``KITARU_STORE_URL``), so
    every execution started in the block, ``KitaruClient()`` and
    ``kitaru.load()`` use one :class:`InMemoryStore` and one
    :class:`MemoryArtifactStore`; the block gets them as ``stores.metadata``
    and ``stores.artifacts``. Their data is dropped when the block ends. Only
    this process sees them: commands that start another process (``kitaru``
    on the command line) need a store on disk (:func:`isolated_home`).
    Settings and stacks still come from the data directory in use; combine
    with :func:`isolated_home` to isolate those too.

    Args:
        name: Names the stores (in messages and the URL); a new one per block by default.

    Example:
        >>> with in_memory() as stores:  # doctest: +SKIP
        ...     handle = my_flow.run()
        ...     handle.wait()
        ...     [c.name for c in stores.metadata.list_calls(handle.exec_id)]
        ['fetch', 'summarize']
    """
    url = f"{MEMORY_URL_PREFIX}{name or f'test-{os.getpid()}-{next(_numbers)}'}"
    with _environment({"KITARU_STORE_URL": url, "KITARU_HOME": os.environ.get("KITARU_HOME")}):
        yield default_stores()


@contextmanager
def _environment(values: dict[str, str | None]) -> Iterator[None]:
    """Set ``values`` (``None``: leave as is), unset the other locations, reset stores and settings."""
    saved = {k: os.environ.get(k) for k in ("KITARU_HOME", *_ELSEWHERE)}
    for key in _ELSEWHERE:
        os.environ.pop(key, None)
    for key, value in values.items():
        if value is not None:
            os.environ[key] = value
    reset_default_stores()
    reset_config()
    try:
        yield
    finally:
        reset_default_stores()
        reset_config()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
