"""Idempotency keys of a Kitaru server's writes, kept in its SQL store.

Every worker of a server shares them, and they outlive a killed server process: a key and
the answer to its write commit in the write's own transaction. The store's own transactions
opened by the write (on the same thread) join that transaction as savepoints, so a write
refused half-way changes nothing, as it does alone. Two requests with one key take turns:
the second one's insert of the key waits for the first transaction (PostgreSQL's unique
index; SQLite's single writer), then finds the answer it committed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from kitaru.errors import KitaruUsageError
from kitaru.store.sql._connection import StoreCore

__all__ = ["IdempotencyMethods"]


class IdempotencyMethods(StoreCore):
    """The idempotency key methods of :class:`~kitaru.store.sql.SqlStore`."""

    def write_idempotently(self, key: str, write: Callable[[], bytes], *, at: dt.datetime) -> bytes:
        """Run ``write`` once for ``key``; see ``MetadataStore.write_idempotently``."""
        if getattr(self._joined, "connection", None) is not None:
            raise KitaruUsageError(
                f"write_idempotently({key!r}) was called inside another idempotent write of the store "
                f"'{self._name}'; give each write its own key, one after the other."
            )
        s = self._s
        try:
            with self._writing() as cur:
                if s.claim_idempotency_key.one(cur, {"key": key, "claimed_at": at}) is None:
                    row = s.idempotent_response.one(cur, {"b_key": key})
                    if row is not None and row[0] is not None:
                        return bytes(row[0])
                    # else: a claim an older server left without an answer; served here now
                self._joined.connection = cur.connection
                try:
                    answer = bytes(write())
                finally:
                    self._joined.connection = None
                done = {"b_key": key, "b_response": answer, "b_claimed_at": at}
                s.complete_idempotency_key.execute(cur, done)
        except self._errors as exc:
            self._raise("keep the answer of an idempotent write", exc)
        return answer

    def prune_idempotency_keys(self, before: dt.datetime) -> int:
        """Delete the keys claimed before ``before``; return how many."""
        try:
            with self._writing() as cur:
                return self._s.prune_idempotency_keys.execute(cur, {"b_before": before})
        except self._errors as exc:
            self._raise("prune idempotency keys", exc)
