"""Idempotency keys of a Kitaru server's writes in the in-memory store."""

from __future__ import annotations

import datetime as dt

from kitaru.store.memory._rows import utc
from kitaru.store.memory._tables import MemoryTables

__all__ = ["IdempotencyMethods"]


class IdempotencyMethods(MemoryTables):
    """The idempotency key methods of :class:`~kitaru.store.memory.InMemoryStore`."""

    def claim_idempotency_key(
        self, key: str, claimed_at: dt.datetime, *, stale_before: dt.datetime
    ) -> tuple[bool, bytes | None]:
        """Claim ``key`` for serving its write; see ``MetadataStore.claim_idempotency_key``."""
        with self._lock:
            self._check_open()
            found = self._idempotency.get(key)
            if found is None or (found[1] is None and found[0] < utc(stale_before)):
                self._idempotency[key] = (utc(claimed_at), None)
                return True, None
            return False, found[1]

    def complete_idempotency_key(self, key: str, response: bytes) -> None:
        """Keep ``response`` as the answer to ``key``'s write."""
        with self._lock:
            self._check_open()
            found = self._idempotency.get(key)
            if found is not None:
                self._idempotency[key] = (found[0], bytes(response))

    def release_idempotency_key(self, key: str) -> None:
        """Forget ``key`` unless its answer is kept (its write failed: it may be sent again)."""
        with self._lock:
            self._check_open()
            found = self._idempotency.get(key)
            if found is not None and found[1] is None:
                del self._idempotency[key]

    def prune_idempotency_keys(self, before: dt.datetime) -> int:
        """Delete the keys claimed before ``before``; return how many."""
        cutoff = utc(before)
        with self._lock:
            self._check_open()
            old = [key for key, (claimed_at, _) in self._idempotency.items() if claimed_at < cutoff]
            for key in old:
                del self._idempotency[key]
            return len(old)
