"""Authentication: every route but ``/health`` needs an API key as a bearer token."""

from __future__ import annotations

import json
from typing import Any, Protocol

__all__ = ["AuthMiddleware", "Authenticator"]

_OPEN_PATHS = frozenset({"/health"})


class Authenticator(Protocol):
    """Decides whether a bearer token is a valid API key."""

    def check(self, token: str) -> bool:
        """Whether ``token`` is a valid API key."""
        ...


class AuthMiddleware:
    """ASGI middleware refusing a request without a valid key with 401 and a JSON error."""

    def __init__(self, app: Any, *, authenticator: Authenticator | None) -> None:
        self._app = app
        self._authenticator = authenticator

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if self._authenticator is None or scope["type"] != "http" or scope["path"] in _OPEN_PATHS:
            await self._app(scope, receive, send)
            return
        token = _bearer(scope)
        if token is None:
            await _refuse(
                send,
                "No API key: send one as 'Authorization: Bearer <key>' "
                "(create one with: kitaru server api-key create NAME).",
            )
            return
        from starlette.concurrency import run_in_threadpool

        if not await run_in_threadpool(self._authenticator.check, token):
            await _refuse(
                send,
                "The API key is not valid (unknown or revoked); "
                "list the keys with: kitaru server api-key list.",
            )
            return
        await self._app(scope, receive, send)


def _bearer(scope: dict[str, Any]) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            text: str = value.decode("latin-1")
            scheme, _, token = text.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    return None


async def _refuse(send: Any, message: str) -> None:
    body = json.dumps({"error": {"type": "KitaruUsageError", "message": message, "fields": {}}}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 401,
            "headers": [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")],
        }
    )
    await send({"type": "http.response.body", "body": body})
