"""API keys of a Kitaru server, kept in its SQL store (digests of tokens, never tokens)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kitaru._types import utcnow
from kitaru.errors import KitaruStateError
from kitaru.records import ApiKeyRecord
from kitaru.store.sql._connection import StoreCore

__all__ = ["ApiKeyMethods"]


def _key(row: Sequence[Any]) -> ApiKeyRecord:
    return ApiKeyRecord(*row)


class ApiKeyMethods(StoreCore):
    """The API key methods of :class:`~kitaru.store.sql.SqlStore`."""

    def create_api_key(self, record: ApiKeyRecord) -> None:
        """Insert an API key; ``KitaruStateError`` when a live key has its name."""
        s = self._s
        taken = False
        try:
            with self._writing() as cur:
                taken = s.live_api_key_named.one(cur, {"b_name": record.name}) is not None
                if not taken:
                    s.insert_api_key.execute(
                        cur,
                        {
                            "key_id": record.key_id,
                            "name": record.name,
                            "token_hash": record.token_hash,
                            "created_at": record.created_at,
                            "revoked_at": record.revoked_at,
                        },
                    )
        except self._integrity_errors as exc:
            raise KitaruStateError(
                f"API key '{record.name}' ({record.key_id}) could not be stored in store '{self._name}': "
                "its id or token is taken. Create the key again."
            ) from exc
        except self._errors as exc:
            self._raise(f"create API key '{record.name}'", exc)
        if taken:
            raise _name_taken(record.name, self._name)

    def list_api_keys(self) -> list[ApiKeyRecord]:
        """Return every API key, revoked ones too, by creation time."""
        try:
            with self._reading() as cur:
                rows = self._s.list_api_keys.all(cur, {})
        except self._errors as exc:
            self._raise("list the API keys", exc)
        return [_key(row) for row in rows]

    def revoke_api_key(self, name: str) -> ApiKeyRecord:
        """Revoke the live key called ``name``; ``KitaruStateError`` when there is none."""
        try:
            with self._writing() as cur:
                row = self._s.revoke_api_key.one(cur, {"b_name": name, "b_revoked_at": utcnow()})
        except self._errors as exc:
            self._raise(f"revoke API key '{name}'", exc)
        if row is None:
            raise _no_live_key(name, self._name)
        return _key(row)

    def find_api_key(self, token_hash: str) -> ApiKeyRecord | None:
        """Return the live key whose token has the digest ``token_hash``, or ``None``."""
        try:
            with self._reading() as cur:
                row = self._s.find_api_key.one(cur, {"b_token_hash": token_hash})
        except self._errors as exc:
            self._raise("look up an API key", exc)
        return None if row is None else _key(row)


def _name_taken(name: str, store: str) -> KitaruStateError:
    return KitaruStateError(
        f"An API key named '{name}' exists in store '{store}' and is not revoked. Pick another name, "
        f"or revoke it first: kitaru server api-key revoke {name}"
    )


def _no_live_key(name: str, store: str) -> KitaruStateError:
    return KitaruStateError(
        f"No API key named '{name}' that is not revoked in store '{store}'. "
        "See the keys with: kitaru server api-key list"
    )
