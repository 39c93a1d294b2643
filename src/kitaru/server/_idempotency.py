"""Idempotency keys: a retried write is answered with its first answer, never applied twice.

A client that sends a write (``POST``, ``PUT``, ``PATCH``, ``DELETE``) with an
``Idempotency-Key`` header and retries it after a broken connection sends the same key
again. The first request claims the key in the server's metadata store; its answer
(unless it is a server error) is kept there and replayed to every later request with that
key, by any worker of the server, also after a restart. A request arriving while the
first is still being served waits for it.

The rule where this is not one transaction with the write: the key is claimed before the
write and its answer kept right after it. A server killed between the two leaves a claim
without an answer; such a claim older than ``stale_after`` seconds is taken over by the
next request with the key, which is served again (the store's own state checks refuse
most writes applied twice: an attempt completed twice, a claim of an old epoch). Keys
older than ``keep_for`` seconds are pruned (at most every ``prune_every`` seconds).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import time
from typing import Any

import anyio
import anyio.to_thread

from kitaru._types import utcnow
from kitaru.errors import KitaruError
from kitaru.server._errors import exception_body, status_of
from kitaru.store.base import MetadataStore

__all__ = ["IdempotencyMiddleware"]

_WRITES = frozenset({b"POST", b"PUT", b"PATCH", b"DELETE"})
_HEADER = b"idempotency-key"
#: Responses larger than this are not kept (blob uploads are idempotent by content anyway).
_MAX_BODY = 1 << 20
#: How often a request waiting for another one serving its key asks the store again.
_POLL = 0.05


class IdempotencyMiddleware:
    """ASGI middleware replaying the kept answer to a write's idempotency key."""

    def __init__(
        self,
        app: Any,
        *,
        store: MetadataStore,
        stale_after: float = 10.0,
        keep_for: float = 24 * 3600.0,
        prune_every: float = 600.0,
    ) -> None:
        self._app = app
        self._store = store
        self._stale_after = dt.timedelta(seconds=stale_after)
        self._keep_for = dt.timedelta(seconds=keep_for)
        self._prune_every = prune_every
        self._next_prune = 0.0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        key = self._key(scope)
        if key is None:
            await self._app(scope, receive, send)
            return
        try:
            kept = await self._claim(key)
        except KitaruError as exc:
            await _send_error(send, exc)
            return
        if kept is not None:
            start, body = _decode(kept)
            await send(start)
            await send({"type": "http.response.body", "body": body})
            return
        await self._serve(key, scope, receive, send)

    def _key(self, scope: dict[str, Any]) -> str | None:
        if scope["type"] != "http" or scope["method"].encode() not in _WRITES:
            return None
        found = None
        auth = b""
        for name, value in scope["headers"]:
            if name == _HEADER:
                found = value
            elif name == b"authorization":
                auth = value
        if found is None:
            return None
        # The same key from two API keys is two keys; the store keeps a digest, never a token.
        raw = b"\n".join((auth, scope["method"].encode(), scope["path"].encode(), found))
        return hashlib.sha256(raw).hexdigest()

    async def _claim(self, key: str) -> bytes | None:
        """Claim ``key`` (return ``None``) or return its kept answer, waiting while another
        request serves it."""
        while True:
            now = utcnow()
            claimed, kept = await anyio.to_thread.run_sync(
                functools.partial(
                    self._store.claim_idempotency_key, key, now, stale_before=now - self._stale_after
                )
            )
            if claimed:
                await self._maybe_prune(now)
                return None
            if kept is not None:
                return kept
            await anyio.sleep(_POLL)

    async def _maybe_prune(self, now: dt.datetime) -> None:
        if time.monotonic() < self._next_prune:
            return
        self._next_prune = time.monotonic() + self._prune_every
        await anyio.to_thread.run_sync(lambda: self._store.prune_idempotency_keys(now - self._keep_for))

    async def _serve(self, key: str, scope: dict[str, Any], receive: Any, send: Any) -> None:
        start: dict[str, Any] | None = None
        chunks: list[bytes] = []
        size = 0

        async def keep(message: dict[str, Any]) -> None:
            nonlocal start, size
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                size += len(message.get("body", b""))
                if size <= _MAX_BODY:
                    chunks.append(message.get("body", b""))
            await send(message)

        answer: bytes | None = None
        try:
            await self._app(scope, receive, keep)
            if start is not None and start["status"] < 500 and size <= _MAX_BODY:
                answer = _encode(start, b"".join(chunks))
        finally:
            with anyio.CancelScope(shield=True):
                try:
                    if answer is not None:
                        await anyio.to_thread.run_sync(
                            lambda: self._store.complete_idempotency_key(key, answer)
                        )
                    else:
                        await anyio.to_thread.run_sync(lambda: self._store.release_idempotency_key(key))
                except KitaruError:
                    pass  # the claim goes stale and is taken over by a retry


def _encode(start: dict[str, Any], body: bytes) -> bytes:
    head = {
        "status": start["status"],
        "headers": [
            [name.decode("latin-1"), value.decode("latin-1")] for name, value in start.get("headers", [])
        ],
    }
    return json.dumps(head).encode() + b"\n" + body


def _decode(kept: bytes) -> tuple[dict[str, Any], bytes]:
    head, _, body = kept.partition(b"\n")
    fields = json.loads(head)
    headers = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in fields["headers"]]
    return {"type": "http.response.start", "status": fields["status"], "headers": headers}, body


async def _send_error(send: Any, exc: KitaruError) -> None:
    body = json.dumps(exception_body(exc)).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status_of(exc), "headers": headers})
    await send({"type": "http.response.body", "body": body})
