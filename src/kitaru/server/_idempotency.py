"""Idempotency keys: a retried write is answered from memory, never applied twice.

A client that sends a write (``POST``, ``PUT``, ``PATCH``, ``DELETE``) with an
``Idempotency-Key`` header and retries it after a broken connection sends the same key
again. The first response to a key (unless it is a server error) is kept, bounded, and
replayed to every later request with that key; a request arriving while the first is
still being served waits for it. Keys live in the server process: a retry reaches the
same process, since a client retries a connection to one server.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import anyio

__all__ = ["IdempotencyMiddleware"]

_WRITES = frozenset({b"POST", b"PUT", b"PATCH", b"DELETE"})
_HEADER = b"idempotency-key"
#: Responses larger than this are not kept (blob uploads are idempotent by content anyway).
_MAX_BODY = 1 << 20


@dataclass
class _Entry:
    done: anyio.Event = field(default_factory=anyio.Event)
    start: dict[str, Any] | None = None
    body: bytes = b""


class IdempotencyMiddleware:
    """ASGI middleware replaying the kept response of a write's idempotency key."""

    def __init__(self, app: Any, *, capacity: int = 10_000) -> None:
        self._app = app
        self._capacity = capacity
        self._entries: OrderedDict[bytes, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        key = self._key(scope)
        if key is None:
            await self._app(scope, receive, send)
            return
        with self._lock:
            entry = self._entries.get(key)
            first = entry is None
            if entry is None:
                entry = self._entries[key] = _Entry()
                while len(self._entries) > self._capacity:
                    self._entries.popitem(last=False)
        if not first:
            await entry.done.wait()
            if entry.start is not None:
                await send(entry.start)
                await send({"type": "http.response.body", "body": entry.body})
                return
        await self._serve(key, entry, scope, receive, send)

    def _key(self, scope: dict[str, Any]) -> bytes | None:
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
        # The same key from two API keys is two keys.
        return b"%s %s %s %s" % (auth, scope["method"].encode(), scope["path"].encode(), found)

    async def _serve(self, key: bytes, entry: _Entry, scope: dict[str, Any], receive: Any, send: Any) -> None:
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

        try:
            await self._app(scope, receive, keep)
        finally:
            if start is not None and start["status"] < 500 and size <= _MAX_BODY:
                entry.start = start
                entry.body = b"".join(chunks)
            else:
                with self._lock:
                    if self._entries.get(key) is entry:
                        del self._entries[key]
            entry.done.set()
