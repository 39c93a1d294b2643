"""Metadata stores: the interface (:mod:`kitaru.store.base`) and its backends.

:func:`open_store` picks the backend by the URL's scheme and imports it only
then, so choosing a store costs nothing until one is opened.

Example:
    >>> from kitaru.store import open_store
    >>> store = open_store("sqlite:////tmp/kitaru-example/kitaru.db")  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kitaru.errors import KitaruUsageError

if TYPE_CHECKING:
    from kitaru.store.base import MetadataStore

__all__ = ["open_store"]

_SQL_SCHEMES = ("sqlite", "postgresql", "postgres")


def open_store(url: str) -> MetadataStore:
    """Open the metadata store at ``url``, choosing the backend by its scheme.

    ``sqlite:///path/to/file.db`` and ``postgresql+psycopg://…`` open the SQL store.

    Raises:
        KitaruUsageError: the URL names no backend Kitaru has.
    """
    scheme = url.partition(":")[0].partition("+")[0].lower()
    if scheme in _SQL_SCHEMES:
        from kitaru.store.sql import SqlStore

        return SqlStore(url)
    raise KitaruUsageError(
        f"Unsupported store URL scheme {scheme + ':' if scheme else url!r}: use "
        "'sqlite:///path/to/file.db' or 'postgresql+psycopg://user:password@host/database'."
    )
