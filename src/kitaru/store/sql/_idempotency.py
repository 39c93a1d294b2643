"""Idempotency keys of a Kitaru server's writes, kept in its SQL store.

Every worker of a server shares them, and they outlive a killed server process.
"""

from __future__ import annotations

import datetime as dt

from kitaru.store.sql._connection import StoreCore

__all__ = ["IdempotencyMethods"]


class IdempotencyMethods(StoreCore):
    """The idempotency key methods of :class:`~kitaru.store.sql.SqlStore`."""

    def claim_idempotency_key(
        self, key: str, claimed_at: dt.datetime, *, stale_before: dt.datetime
    ) -> tuple[bool, bytes | None]:
        """Claim ``key`` for serving its write; see ``MetadataStore.claim_idempotency_key``."""
        s = self._s
        try:
            with self._writing() as cur:
                if s.claim_idempotency_key.one(cur, {"key": key, "claimed_at": claimed_at}) is not None:
                    return True, None
                taken = {"b_key": key, "b_claimed_at": claimed_at, "b_stale_before": stale_before}
                if s.take_over_idempotency_key.one(cur, taken) is not None:
                    return True, None
                row = s.idempotent_response.one(cur, {"b_key": key})
        except self._errors as exc:
            self._raise("claim an idempotency key", exc)
        if row is None:  # released between the insert and the read: the caller asks again
            return False, None
        return False, None if row[0] is None else bytes(row[0])

    def complete_idempotency_key(self, key: str, response: bytes) -> None:
        """Keep ``response`` as the answer to ``key``'s write."""
        try:
            with self._writing() as cur:
                self._s.complete_idempotency_key.execute(cur, {"b_key": key, "b_response": response})
        except self._errors as exc:
            self._raise("keep the answer of an idempotency key", exc)

    def release_idempotency_key(self, key: str) -> None:
        """Forget ``key`` unless its answer is kept (its write failed: it may be sent again)."""
        try:
            with self._writing() as cur:
                self._s.release_idempotency_key.execute(cur, {"b_key": key})
        except self._errors as exc:
            self._raise("release an idempotency key", exc)

    def prune_idempotency_keys(self, before: dt.datetime) -> int:
        """Delete the keys claimed before ``before``; return how many."""
        try:
            with self._writing() as cur:
                return self._s.prune_idempotency_keys.execute(cur, {"b_before": before})
        except self._errors as exc:
            self._raise("prune idempotency keys", exc)
