"""Authentication: every route but ``/health`` and the dashboard's assets needs an API key as a
bearer token."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
from typing import TYPE_CHECKING, Any, Protocol

from kitaru._types import new_id, utcnow
from kitaru.records import ApiKeyRecord

if TYPE_CHECKING:
    from kitaru.store.base import MetadataStore

__all__ = ["AuthMiddleware", "Authenticator", "StoreApiKeys", "issue_api_key", "token_digest"]

#: Every token starts with this, so that a leaked one is easy to recognise (and to scan for).
TOKEN_PREFIX = "kitaru_"

_OPEN_PATHS = frozenset({"/health", "/"})
#: The dashboard's static assets: the page asks for the key and sends it with its API requests.
_OPEN_PREFIXES = ("/ui/",)


class Authenticator(Protocol):
    """Decides whether a bearer token is a valid API key."""

    def check(self, token: str) -> bool:
        """Whether ``token`` is a valid API key."""
        ...


def token_digest(token: str) -> str:
    """Return the sha256 hex digest of a token: what the store keeps instead of the token."""
    return hashlib.sha256(token.encode()).hexdigest()


def issue_api_key(store: MetadataStore, name: str) -> tuple[str, ApiKeyRecord]:
    """Create an API key called ``name`` in ``store``; return its token (shown once) and record."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    record = ApiKeyRecord(new_id(), name, token_digest(token), utcnow())
    store.create_api_key(record)
    return token, record


class StoreApiKeys:
    """The API keys kept in a metadata store, checked by the digest of the token.

    A valid token is remembered for ``ttl`` seconds (a revocation takes effect within
    that time), so that a request costs no store lookup.
    """

    def __init__(self, store: MetadataStore, *, ttl: float = 5.0) -> None:
        self._store = store
        self._ttl = ttl
        self._valid: dict[str, float] = {}
        self._lock = threading.Lock()

    def known(self, token: str) -> bool:
        """Whether ``token`` was found valid lately (no store lookup: cheap enough for an event loop)."""
        until = self._valid.get(token_digest(token))
        return until is not None and until > time.monotonic()

    def check(self, token: str) -> bool:
        """Whether ``token`` is a key of the store that is not revoked."""
        if self.known(token):
            return True
        digest = token_digest(token)
        now = time.monotonic()
        found = self._store.find_api_key(digest)
        if found is None or not hmac.compare_digest(found.token_hash, digest):
            return False
        with self._lock:
            if len(self._valid) > 10_000:
                self._valid.clear()
            self._valid[digest] = now + self._ttl
        return True


class AuthMiddleware:
    """ASGI middleware refusing a request without a valid key with 401 and a JSON error."""

    def __init__(self, app: Any, *, authenticator: Authenticator | None) -> None:
        self._app = app
        self._authenticator = authenticator

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if self._authenticator is None or scope["type"] != "http" or _open(scope["path"]):
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

        # A key seen lately is answered here; only a lookup in the store waits in a thread.
        known = getattr(self._authenticator, "known", None)
        if not (known is not None and known(token)) and not await run_in_threadpool(
            self._authenticator.check, token
        ):
            await _refuse(
                send,
                "The API key is not valid (unknown or revoked); "
                "list the keys with: kitaru server api-key list.",
            )
            return
        await self._app(scope, receive, send)


def _open(path: str) -> bool:
    return path in _OPEN_PATHS or path == "/ui" or path.startswith(_OPEN_PREFIXES)


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
