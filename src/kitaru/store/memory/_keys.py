"""API keys of a Kitaru server in the in-memory store."""

from __future__ import annotations

import dataclasses

from kitaru._types import utcnow
from kitaru.errors import KitaruStateError
from kitaru.records import ApiKeyRecord
from kitaru.store.memory._rows import utc
from kitaru.store.memory._tables import MemoryTables

__all__ = ["ApiKeyMethods"]


class ApiKeyMethods(MemoryTables):
    """The API key methods of :class:`~kitaru.store.memory.InMemoryStore`."""

    def create_api_key(self, record: ApiKeyRecord) -> None:
        """Insert an API key; ``KitaruStateError`` when a live key has its name."""
        stored = dataclasses.replace(
            record,
            created_at=utc(record.created_at),
            revoked_at=None if record.revoked_at is None else utc(record.revoked_at),
        )
        with self._lock:
            self._check_open()
            if any(key.name == record.name and key.revoked_at is None for key in self._api_keys.values()):
                raise KitaruStateError(
                    f"An API key named '{record.name}' exists in store '{self._name}' and is not revoked. "
                    f"Pick another name, or revoke it first: kitaru server api-key revoke {record.name}"
                )
            if record.key_id in self._api_keys or any(
                key.token_hash == record.token_hash for key in self._api_keys.values()
            ):
                raise KitaruStateError(
                    f"API key '{record.name}' ({record.key_id}) could not be stored in store "
                    f"'{self._name}': its id or token is taken. Create the key again."
                )
            self._api_keys[record.key_id] = stored

    def list_api_keys(self) -> list[ApiKeyRecord]:
        """Return every API key, revoked ones too, by creation time."""
        with self._lock:
            self._check_open()
            return sorted(self._api_keys.values(), key=lambda key: (key.created_at, key.key_id))

    def revoke_api_key(self, name: str) -> ApiKeyRecord:
        """Revoke the live key called ``name``; ``KitaruStateError`` when there is none."""
        with self._lock:
            self._check_open()
            for key in self._api_keys.values():
                if key.name == name and key.revoked_at is None:
                    revoked = dataclasses.replace(key, revoked_at=utcnow())
                    self._api_keys[key.key_id] = revoked
                    return revoked
        raise KitaruStateError(
            f"No API key named '{name}' that is not revoked in store '{self._name}'. "
            "See the keys with: kitaru server api-key list"
        )

    def find_api_key(self, token_hash: str) -> ApiKeyRecord | None:
        """Return the live key whose token has the digest ``token_hash``, or ``None``."""
        with self._lock:
            self._check_open()
            for key in self._api_keys.values():
                if key.token_hash == token_hash and key.revoked_at is None:
                    return key
        return None
