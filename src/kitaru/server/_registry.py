"""Model aliases and secrets kept by the server, in its own data directory.

They are the ones ``kitaru model`` and ``kitaru secrets`` keep (``config.json`` and the
encrypted ``secrets.json`` of the data directory the server runs in, ``KITARU_HOME``), so
an operator can also manage them on the server's machine with those commands. Secrets
are written and listed by name and key names only; their values leave the server only
through ``GET /secrets/{name}/values``, for a runner with an API key that needs them
(refused when the server runs with ``--no-auth``). Nothing here logs a value.
"""

from __future__ import annotations

from typing import Any

import pydantic
from fastapi import APIRouter, Response

from kitaru.config.model_aliases import list_models, register_model
from kitaru.config.secrets import SecretInfo, delete_secret, get_secret, list_secrets, set_secret
from kitaru.errors import KitaruStateError

__all__ = ["registry_router"]


class ModelAliasWire(pydantic.BaseModel):
    """A model alias: a short name for ``provider/model``, with the secret of its credentials."""

    model_config = pydantic.ConfigDict(extra="forbid")

    alias: str
    model: str
    secret: str | None = None
    base_url: str | None = None
    default: bool = False


class ModelAliasBody(pydantic.BaseModel):
    """What an alias names (``model``: ``provider/model``); ``default``: make it the default one."""

    model_config = pydantic.ConfigDict(extra="forbid")

    model: str
    secret: str | None = None
    base_url: str | None = None
    default: bool = False


class SecretWire(pydantic.BaseModel):
    """A secret as listed: its name and key names, never its values."""

    model_config = pydantic.ConfigDict(extra="forbid")

    name: str
    keys: list[str]
    updated_at: str | None = None


class SecretBody(pydantic.BaseModel):
    """The values of a secret, ``KEY -> value`` (they replace the old ones)."""

    model_config = pydantic.ConfigDict(extra="forbid")

    values: dict[str, str]


class SecretValuesWire(SecretWire):
    """A secret with its values (only for a runner with an API key)."""

    values: dict[str, str]


def _listed(info: SecretInfo) -> dict[str, Any]:
    return {"name": info.name, "keys": list(info.keys), "updated_at": info.updated_at}


def registry_router(*, authenticated: bool) -> APIRouter:
    """Return the routes of model aliases and secrets; ``authenticated``: the server checks API
    keys (without them, secret values are never served)."""
    router = APIRouter()

    @router.get("/models", response_model=list[ModelAliasWire], tags=["models"], summary="Model aliases")
    def models() -> Any:
        return [alias.to_dict() for alias in list_models()]

    @router.put(
        "/models/{alias}", response_model=ModelAliasWire, tags=["models"], summary="Register a model alias"
    )
    def register(alias: str, body: ModelAliasBody) -> Any:
        registered = register_model(
            alias, model=body.model, secret=body.secret, base_url=body.base_url, default=body.default
        )
        return registered.to_dict()

    @router.get("/secrets", response_model=list[SecretWire], tags=["secrets"], summary="Secrets (names only)")
    def secrets() -> Any:
        return [_listed(info) for info in list_secrets()]

    @router.put(
        "/secrets/{name}",
        response_model=SecretWire,
        tags=["secrets"],
        summary="Create or replace a secret (the answer names its keys, never its values)",
    )
    def put_secret(name: str, body: SecretBody) -> Any:
        return _listed(set_secret(name, body.values))

    @router.delete("/secrets/{name}", status_code=204, tags=["secrets"], summary="Delete a secret")
    def remove_secret(name: str) -> Response:
        delete_secret(name)
        return Response(status_code=204)

    @router.get(
        "/secrets/{name}/values",
        response_model=SecretValuesWire,
        tags=["secrets"],
        summary="A secret with its values, for a runner that needs them (API key required)",
        description="Refused (409) when the server runs with --no-auth: values go only to key holders.",
    )
    def secret_values(name: str) -> Any:
        if not authenticated:
            raise KitaruStateError(
                f"Secret {name!r}: this server runs without API keys (--no-auth), so it serves no "
                "secret values; restart it without --no-auth and send a key from "
                "`kitaru server api-key create NAME`."
            )
        info = get_secret(name)
        return {**_listed(info), "values": dict(info.values)}

    return router
