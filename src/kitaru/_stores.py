"""The composition root: the one place that opens stores from a URL.

Everything else receives opened stores. The default stores live in the data
directory (``KITARU_HOME``, a ``.kitaru/`` found walking up from the current
directory, or the user data directory): ``kitaru.db`` (SQLite) and
``artifacts/``. ``KITARU_STORE_URL`` points the metadata store elsewhere
(e.g. ``postgresql+psycopg://…``) and ``KITARU_ARTIFACTS_DIR`` the artifacts.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

from kitaru.artifacts.base import ArtifactStore
from kitaru.config import resolve_home
from kitaru.store.base import MetadataStore

__all__ = ["Stores", "default_stores", "open_stores", "reset_default_stores"]


@dataclass(frozen=True, slots=True)
class Stores:
    """An opened metadata store and artifact store, and where they live."""

    metadata: MetadataStore
    artifacts: ArtifactStore
    url: str
    display_url: str


def open_stores(url: str, artifacts_dir: str | os.PathLike[str]) -> Stores:
    """Open the metadata store at ``url`` and the local artifact store at ``artifacts_dir``."""
    from kitaru.artifacts.local import LocalArtifactStore
    from kitaru.store.sql import SqlStore

    metadata = SqlStore(url)
    from sqlalchemy.engine import make_url

    display = make_url(url).render_as_string(hide_password=True)
    return Stores(metadata, LocalArtifactStore(artifacts_dir), url, display)


_lock = threading.Lock()
_opened: dict[tuple[str, str], Stores] = {}


def default_stores() -> Stores:
    """Return the stores of the current configuration, opening them once per process."""
    home = resolve_home()
    url = os.environ.get("KITARU_STORE_URL") or ""
    artifacts_dir = os.environ.get("KITARU_ARTIFACTS_DIR") or str(home / "artifacts")
    key = (url or str(home), artifacts_dir)
    stores = _opened.get(key)
    if stores is not None:
        return stores
    with _lock:
        stores = _opened.get(key)
        if stores is None:
            if not url:
                Path(home).mkdir(parents=True, exist_ok=True)
                url = f"sqlite:///{home / 'kitaru.db'}"
            stores = open_stores(url, artifacts_dir)
            _opened[key] = stores
        return stores


def reset_default_stores() -> None:
    """Close every store opened by :func:`default_stores` (tests switch data directories)."""
    with _lock:
        for stores in _opened.values():
            stores.metadata.close()
        _opened.clear()
