"""Idempotency keys of a Kitaru server's writes in the in-memory store."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from kitaru.errors import KitaruUsageError
from kitaru.store.memory._rows import utc
from kitaru.store.memory._tables import MemoryTables

__all__ = ["IdempotencyMethods"]


class IdempotencyMethods(MemoryTables):
    """The idempotency key methods of :class:`~kitaru.store.memory.InMemoryStore`."""

    def write_idempotently(self, key: str, write: Callable[[], bytes], *, at: dt.datetime) -> bytes:
        """Run ``write`` once for ``key``; see ``MetadataStore.write_idempotently``.

        The store's lock is held throughout, so a request with the same key (and every other
        write) waits; ``write``'s own store calls take the lock again on this thread.
        """
        with self._lock:
            self._check_open()
            if self._writing_idempotently:
                raise KitaruUsageError(
                    f"write_idempotently({key!r}) was called inside another idempotent write of the "
                    f"store '{self._name}'; give each write its own key, one after the other."
                )
            found = self._idempotency.get(key)
            if found is not None:
                return found[1]
            self._writing_idempotently = True
            try:
                answer = bytes(write())
            finally:
                self._writing_idempotently = False
            self._idempotency[key] = (utc(at), answer)
            return answer

    def prune_idempotency_keys(self, before: dt.datetime) -> int:
        """Delete the keys claimed before ``before``; return how many."""
        cutoff = utc(before)
        with self._lock:
            self._check_open()
            old = [key for key, (claimed_at, _) in self._idempotency.items() if claimed_at < cutoff]
            for key in old:
                del self._idempotency[key]
            return len(old)
