"""Secrets: named sets of ``KEY=VALUE`` credentials, encrypted at rest.

Values are encrypted with Fernet (AES-128-CBC + HMAC-SHA256, from
``cryptography``) under a key kept in ``secrets.key`` in the data directory,
created with mode 0600. ``secrets.json`` holds, per secret, its key names (not
secret) and one encrypted token with the values. Nothing here prints values;
callers decide when a user asked for them.

Example:
    >>> from kitaru.config.secrets import set_secret, get_secret
    >>> set_secret("openai", {"OPENAI_API_KEY": "sk-..."})  # doctest: +SKIP
    >>> get_secret("openai").values["OPENAI_API_KEY"]  # doctest: +SKIP
    'sk-...'
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kitaru._files import make_private_dirs
from kitaru.config._home import locked, read_json, resolve_home, write_json
from kitaru.errors import KitaruStateError, KitaruUsageError

__all__ = [
    "KEY_FILE",
    "SECRETS_FILE",
    "SecretInfo",
    "delete_secret",
    "get_secret",
    "list_secrets",
    "set_secret",
    "unknown_secret",
]

#: The encrypted secrets, a JSON file in the data directory.
SECRETS_FILE = "secrets.json"
#: The key that encrypts the secrets (created on first use, readable by the owner only).
KEY_FILE = "secrets.key"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True, slots=True)
class SecretInfo:
    """A secret: its name, key names, and (only when asked for) its values.

    Example:
        >>> SecretInfo("openai", ("OPENAI_API_KEY",)).masked()
        {'OPENAI_API_KEY': '***'}
    """

    name: str
    keys: tuple[str, ...]
    updated_at: str | None = None
    values: dict[str, str] = field(default_factory=dict, repr=False)

    def masked(self) -> dict[str, str]:
        """The keys with their values replaced by ``***``."""
        return dict.fromkeys(self.keys, "***")


def _fernet(home: Path, *, create: bool) -> Any:
    """The cipher of the stored secrets; ``create``: make the key when there is none (or when an
    unusable key guards no secret, e.g. an empty file left by a crash)."""
    from cryptography.fernet import Fernet

    path = home / KEY_FILE
    try:
        key = path.read_bytes().strip()
    except FileNotFoundError:
        if not create:
            raise KitaruStateError(
                f"The key of the stored secrets ({path}) is missing; the secrets cannot be decrypted. "
                "Restore the key file, or delete secrets.json and set the secrets again."
            ) from None
        return Fernet(_new_key(path, replace=False))
    except OSError as exc:
        raise KitaruStateError(
            f"Cannot read the key of the stored secrets ({path}): {exc.strerror or exc}. Make it "
            "readable for this user (it should be the user's only: chmod 600)."
        ) from None
    try:
        return Fernet(key)
    except ValueError:  # empty, truncated or not a key at all
        if create and not _records(home):
            return Fernet(_new_key(path, replace=True))
        state = "empty" if not key else "not a valid key (32 url-safe base64-encoded bytes)"
        raise KitaruStateError(
            f"The key of the stored secrets ({path}) is {state}, so the secrets cannot be decrypted. "
            f"Restore the key file from a backup, or delete {path} and {home / SECRETS_FILE} and set "
            "the secrets again with `kitaru secrets set`."
        ) from None


def _new_key(path: Path, *, replace: bool) -> bytes:
    """Write a new key to ``path`` whole or not at all (a temporary file linked or renamed into
    place); when another process created one first (and ``replace`` is false), return theirs."""
    import tempfile

    from cryptography.fernet import Fernet

    key = Fernet.generate_key()
    make_private_dirs(path.parent)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:  # mkstemp makes it 0600
            handle.write(key)
            handle.flush()
            os.fsync(handle.fileno())
        if replace:
            os.replace(temporary, path)
            return key
        try:
            os.link(temporary, path)
        except FileExistsError:  # another process created it first: use theirs
            return path.read_bytes().strip()
        return key
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def _records(home: Path) -> dict[str, dict[str, Any]]:
    data = read_json(home / SECRETS_FILE, default=dict)
    records = data.get("secrets", {}) if isinstance(data, dict) else {}
    return records if isinstance(records, dict) else {}


def set_secret(name: str, values: dict[str, str]) -> SecretInfo:
    """Create or replace the secret ``name`` with ``values`` (``KEY -> value``).

    Raises:
        KitaruUsageError: a malformed name or key, or no values.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise KitaruUsageError(f"Secret name {name!r} is not valid; use letters, digits, '.', '_' and '-'.")
    if not values:
        raise KitaruUsageError(f"Secret {name!r} needs at least one KEY=VALUE.")
    for key, value in values.items():
        if not _KEY.match(key):
            raise KitaruUsageError(
                f"Secret {name!r}: key {key!r} is not valid; use an environment-variable-like name "
                "(letters, digits and '_', not starting with a digit)."
            )
        if not isinstance(value, str):
            raise KitaruUsageError(f"Secret {name!r}: the value of {key} must be a string.")
    home = resolve_home()
    path = home / SECRETS_FILE
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    with locked(path):
        fernet = _fernet(home, create=True)
        records = dict(_records(home))
        token = fernet.encrypt(json.dumps(values).encode()).decode()
        records[name] = {"keys": sorted(values), "token": token, "updated_at": now}
        write_json(path, {"version": 1, "secrets": records}, mode=0o600)
    return SecretInfo(name, tuple(sorted(values)), now)


def get_secret(name: str) -> SecretInfo:
    """Return the secret ``name`` with its decrypted values.

    Raises:
        KitaruStateError: no such secret, or it cannot be decrypted.
    """
    home = resolve_home()
    record = _records(home).get(name)
    if record is None:
        raise unknown_secret(name, _records(home))
    from cryptography.fernet import InvalidToken

    try:
        values = json.loads(_fernet(home, create=False).decrypt(record["token"].encode()))
    except InvalidToken:
        raise KitaruStateError(
            f"Secret {name!r} cannot be decrypted with the key in {home / KEY_FILE}; it was encrypted "
            "with another key. Set it again with `kitaru secrets set`."
        ) from None
    return SecretInfo(name, tuple(record.get("keys", sorted(values))), record.get("updated_at"), values)


def unknown_secret(name: str, known: Iterable[str], *, where: str = "") -> KitaruStateError:
    """The error for a secret ``name`` that is not among ``known`` (``where``: e.g. `` on server URL``).

    Example:
        >>> str(unknown_secret("x", ["openai"]))
        "No secret named 'x' (secrets: openai). Create it with `kitaru secrets set`."
    """
    names = ", ".join(sorted(known)) or "none"
    return KitaruStateError(
        f"No secret named {name!r}{where} (secrets: {names}). Create it with `kitaru secrets set`."
    )


def list_secrets() -> list[SecretInfo]:
    """Return every secret's name and keys (no values), sorted by name."""
    return [
        SecretInfo(name, tuple(record.get("keys", ())), record.get("updated_at"))
        for name, record in sorted(_records(resolve_home()).items())
    ]


def delete_secret(name: str) -> None:
    """Delete the secret ``name``.

    Raises:
        KitaruStateError: no such secret.
    """
    home = resolve_home()
    path = home / SECRETS_FILE
    with locked(path):
        records = dict(_records(home))
        if records.pop(name, None) is None:
            known = ", ".join(sorted(records)) or "none"
            raise KitaruStateError(f"No secret named {name!r} (secrets: {known}); nothing deleted.")
        write_json(path, {"version": 1, "secrets": records}, mode=0o600)
