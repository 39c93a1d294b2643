"""Where model aliases and secrets are kept: the data directory, or a Kitaru server.

A :class:`Registry` is what ``kitaru.llm()``, ``kitaru model`` and ``kitaru secrets`` ask
for aliases and secrets. :class:`LocalRegistry` keeps them in the data directory
(:mod:`kitaru.config.model_aliases`, :mod:`kitaru.config.secrets`); :class:`ServerRegistry`
asks a Kitaru server through its API (``/api/v1/models``, ``/api/v1/secrets``), over a
connection it is given. Which one applies is decided where the stores are opened: the
server's when connected to one, else the data directory's.

Secret values cross this module only inside :class:`~kitaru.config.secrets.SecretInfo`
(whose ``values`` are not in its repr); nothing here logs or puts them in a message.

Example:
    >>> LocalRegistry().where
    'the data directory'
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import quote

from kitaru.config import model_aliases, secrets
from kitaru.config.model_aliases import ModelAlias, resolve_in
from kitaru.config.secrets import SecretInfo, unknown_secret

__all__ = ["LocalRegistry", "Registry", "ServerRegistry"]


class Registry(Protocol):
    """Model aliases and secrets, wherever they are kept."""

    @property
    def where(self) -> str:
        """Where they are kept, for messages (``server http://…``, ``the data directory``)."""
        ...

    @property
    def is_server(self) -> bool:
        """Whether a Kitaru server keeps them."""
        ...

    def list_models(self) -> list[ModelAlias]:
        """The registered aliases, sorted by name."""
        ...

    def register_model(
        self,
        alias: str,
        *,
        model: str,
        secret: str | None = None,
        base_url: str | None = None,
        default: bool = False,
    ) -> ModelAlias:
        """Register (or replace) an alias."""
        ...

    def resolve_model(self, name: str | None, *, default_model: str | None = None) -> ModelAlias:
        """Resolve a model as :func:`kitaru.config.model_aliases.resolve_model` does."""
        ...

    def registry_for_spec(self) -> dict[str, Any]:
        """The aliases as stored in an execution's frozen spec (secret names, never values)."""
        ...

    def list_secrets(self) -> list[SecretInfo]:
        """Every secret's name and key names (no values)."""
        ...

    def describe_secret(self, name: str) -> SecretInfo:
        """One secret's name and key names (no values)."""
        ...

    def get_secret(self, name: str) -> SecretInfo:
        """One secret with its values."""
        ...

    def set_secret(self, name: str, values: dict[str, str]) -> SecretInfo:
        """Create or replace a secret (the answer has no values)."""
        ...

    def delete_secret(self, name: str) -> None:
        """Delete a secret."""
        ...


class LocalRegistry:
    """The aliases and secrets of the data directory (``config.json``, ``secrets.json``).

    Example:
        >>> LocalRegistry().is_server
        False
    """

    where = "the data directory"
    is_server = False

    def list_models(self) -> list[ModelAlias]:
        """See :class:`Registry`."""
        return model_aliases.list_models()

    def register_model(
        self,
        alias: str,
        *,
        model: str,
        secret: str | None = None,
        base_url: str | None = None,
        default: bool = False,
    ) -> ModelAlias:
        """See :class:`Registry`."""
        return model_aliases.register_model(
            alias, model=model, secret=secret, base_url=base_url, default=default
        )

    def resolve_model(self, name: str | None, *, default_model: str | None = None) -> ModelAlias:
        """See :class:`Registry`."""
        return model_aliases.resolve_model(name, default_model=default_model)

    def registry_for_spec(self) -> dict[str, Any]:
        """See :class:`Registry`."""
        return model_aliases.registry_for_spec()

    def list_secrets(self) -> list[SecretInfo]:
        """See :class:`Registry`."""
        return secrets.list_secrets()

    def describe_secret(self, name: str) -> SecretInfo:
        """See :class:`Registry`."""
        return _find(name, self.list_secrets(), where="")

    def get_secret(self, name: str) -> SecretInfo:
        """See :class:`Registry`."""
        return secrets.get_secret(name)

    def set_secret(self, name: str, values: dict[str, str]) -> SecretInfo:
        """See :class:`Registry`."""
        return secrets.set_secret(name, values)

    def delete_secret(self, name: str) -> None:
        """See :class:`Registry`."""
        secrets.delete_secret(name)


#: Sends one request to a server's API and returns its JSON body: ``(method, path, body)``.
Send = Callable[[str, str, Any], Any]


class ServerRegistry:
    """The aliases and secrets a Kitaru server keeps, asked through its API with ``send``
    (the stores' connection: its API key, retries and errors).

    Example:
        >>> ServerRegistry("http://127.0.0.1:8383", lambda *a: []).where
        'server http://127.0.0.1:8383'
    """

    is_server = True

    def __init__(self, url: str, send: Send) -> None:
        self.url = url
        self._send = send

    @property
    def where(self) -> str:
        """See :class:`Registry`."""
        return f"server {self.url}"

    def _aliases(self) -> tuple[dict[str, dict[str, Any]], str | None]:
        listed = self._send("GET", "/api/v1/models", None) or []
        aliases = {
            str(item["alias"]): {k: item.get(k) for k in ("model", "secret", "base_url")} for item in listed
        }
        default = next((str(item["alias"]) for item in listed if item.get("default")), None)
        return aliases, default

    def list_models(self) -> list[ModelAlias]:
        """See :class:`Registry`."""
        listed = self._send("GET", "/api/v1/models", None) or []
        return sorted((ModelAlias(**item) for item in listed), key=lambda m: m.alias)

    def register_model(
        self,
        alias: str,
        *,
        model: str,
        secret: str | None = None,
        base_url: str | None = None,
        default: bool = False,
    ) -> ModelAlias:
        """See :class:`Registry`."""
        body = {"model": model, "secret": secret, "base_url": base_url, "default": default}
        return ModelAlias(**self._send("PUT", f"/api/v1/models/{_q(alias)}", body))

    def resolve_model(self, name: str | None, *, default_model: str | None = None) -> ModelAlias:
        """See :class:`Registry`."""
        aliases, default = self._aliases()
        return resolve_in(aliases, default, name, default_model=default_model, where=f" on {self.where}")

    def registry_for_spec(self) -> dict[str, Any]:
        """See :class:`Registry`."""
        aliases, default = self._aliases()
        return {"default_alias": default, "aliases": aliases}

    def list_secrets(self) -> list[SecretInfo]:
        """See :class:`Registry`."""
        listed = self._send("GET", "/api/v1/secrets", None) or []
        return [SecretInfo(str(i["name"]), tuple(i.get("keys") or ()), i.get("updated_at")) for i in listed]

    def describe_secret(self, name: str) -> SecretInfo:
        """See :class:`Registry`."""
        return _find(name, self.list_secrets(), where=f" on {self.where}")

    def get_secret(self, name: str) -> SecretInfo:
        """See :class:`Registry`."""
        item = self._send("GET", f"/api/v1/secrets/{_q(name)}/values", None)
        values = {str(k): str(v) for k, v in (item.get("values") or {}).items()}
        keys = tuple(item.get("keys") or sorted(values))
        return SecretInfo(str(item["name"]), keys, item.get("updated_at"), values)

    def set_secret(self, name: str, values: dict[str, str]) -> SecretInfo:
        """See :class:`Registry`."""
        item = self._send("PUT", f"/api/v1/secrets/{_q(name)}", {"values": values})
        return SecretInfo(str(item["name"]), tuple(item.get("keys") or ()), item.get("updated_at"))

    def delete_secret(self, name: str) -> None:
        """See :class:`Registry`."""
        self._send("DELETE", f"/api/v1/secrets/{_q(name)}", None)


def _q(name: str) -> str:
    return quote(name, safe="")


def _find(name: str, listed: list[SecretInfo], *, where: str) -> SecretInfo:
    for info in listed:
        if info.name == name:
            return info
    raise unknown_secret(name, [info.name for info in listed], where=where)
