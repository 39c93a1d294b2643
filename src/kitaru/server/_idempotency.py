"""Idempotency keys: a retried write is answered with its first answer, never applied twice.

A client that sends a write (``POST``, ``PUT``, ``PATCH``, ``DELETE``) with an
``Idempotency-Key`` header and retries it after a broken connection sends the same key
again. :class:`IdempotencyMiddleware` marks such a request; while it is served, every call
the routes make through :class:`IdempotentStore` runs through the store's
``write_idempotently``: the call's result (or the refusal it raised) is kept under the key
in the same transaction as the call's writes. A retry with the key makes the same calls and
gets the kept results instead of writing again, so it is answered as the first request was,
by any worker of the server, also after the server was killed right after a commit. A request
arriving while the first is still being served waits for it (in the store). Keys older than
``keep_for`` seconds are pruned (at most every ``prune_every`` seconds).
"""

from __future__ import annotations

import contextvars
import dataclasses
import datetime as dt
import functools
import hashlib
import json
import time
import typing
from collections.abc import Callable
from typing import Any

import anyio.to_thread

from kitaru import errors
from kitaru._types import utcnow
from kitaru._wire import from_wire, to_wire
from kitaru.server._errors import exception_body, status_of
from kitaru.store.base import MetadataStore

__all__ = ["IdempotencyMiddleware", "IdempotentStore"]

_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_HEADER = b"idempotency-key"
#: Store methods never kept as a keyed call's result.
_NOT_KEPT = frozenset({"write_idempotently", "prune_idempotency_keys", "close"})
_RESULT, _REFUSAL = b"R", b"E"


@dataclasses.dataclass
class _Keyed:
    """The idempotency key of the request being served, and how many store calls it made."""

    key: str
    calls: int = 0


_CURRENT: contextvars.ContextVar[_Keyed | None] = contextvars.ContextVar("kitaru_idempotency", default=None)


class IdempotencyMiddleware:
    """ASGI middleware marking a write with an ``Idempotency-Key`` for :class:`IdempotentStore`."""

    def __init__(
        self,
        app: Any,
        *,
        store: MetadataStore,
        keep_for: float = 24 * 3600.0,
        prune_every: float = 600.0,
    ) -> None:
        self._app = app
        self._store = store
        self._keep_for = dt.timedelta(seconds=keep_for)
        self._prune_every = prune_every
        self._next_prune = 0.0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        key = _key(scope)
        if key is None:
            await self._app(scope, receive, send)
            return
        if time.monotonic() >= self._next_prune:
            await self._prune()
        token = _CURRENT.set(_Keyed(key))
        try:
            await self._app(scope, receive, send)
        finally:
            _CURRENT.reset(token)

    async def _prune(self) -> None:
        self._next_prune = time.monotonic() + self._prune_every
        before = utcnow() - self._keep_for
        try:
            await anyio.to_thread.run_sync(self._store.prune_idempotency_keys, before)
        except errors.KitaruError:
            self._next_prune = 0.0  # the store is unavailable now: the request says so itself


def _key(scope: dict[str, Any]) -> str | None:
    if scope["type"] != "http" or scope["method"] not in _WRITES:
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


class IdempotentStore:
    """``store`` for the routes: while a request with an idempotency key is served, each
    store call whose result has a wire form is made once per key (see the module)."""

    def __init__(self, store: MetadataStore) -> None:
        self._store = store
        self._kinds: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._store, name)
        keyed = _CURRENT.get()
        if keyed is None or name in _NOT_KEPT or not callable(found):
            return found
        kind = self._kinds.get(name, _UNKNOWN)
        if kind is _UNKNOWN:
            kind = self._kinds[name] = _result_kind(name)
        if kind is _UNKNOWN:
            return found
        return functools.partial(self._once, keyed, found, kind, name)

    def _once(
        self, keyed: _Keyed, method: Callable[..., Any], kind: Any, name: str, *args: Any, **kw: Any
    ) -> Any:
        keyed.calls += 1
        key = keyed.key if keyed.calls == 1 else f"{keyed.key}.{keyed.calls}"
        outcome: list[Any] = []

        def write() -> bytes:
            try:
                result = method(*args, **kw)
            except errors.KitaruError as exc:
                if status_of(exc) >= 500:
                    raise  # the store failed: nothing is kept, a retry writes again
                outcome.append(exc)
                return _REFUSAL + json.dumps(exception_body(exc)["error"]).encode()
            outcome.append(result)
            return _RESULT + json.dumps(to_wire(result)).encode()

        answer = self._store.write_idempotently(key, write, at=utcnow())
        if outcome:  # made here: the very result or refusal
            if isinstance(outcome[0], errors.KitaruError):
                raise outcome[0]
            return outcome[0]
        body = json.loads(answer[1:])
        if answer[:1] == _REFUSAL:
            raise _rebuilt(body)
        return from_wire(kind, body, where=f"the kept result of {name}")


_UNKNOWN = object()


def _result_kind(name: str) -> Any:
    """The return type of the store method ``name``; ``_UNKNOWN`` when it has no wire form."""
    method = getattr(MetadataStore, name, None)
    try:
        kind = typing.get_type_hints(method)["return"]
        from_wire(kind, None)  # builds the decoder: TypeError when there is none
    except (TypeError, KeyError, NameError):
        return _UNKNOWN
    except errors.KitaruUsageError:
        pass  # a decoder exists; None is just not one of its values
    return kind


def _rebuilt(body: dict[str, Any]) -> errors.KitaruError:
    """The Kitaru error a kept refusal describes: its class, message and attributes."""
    cls = getattr(errors, str(body["type"]), None)
    if not (isinstance(cls, type) and issubclass(cls, errors.KitaruError)):
        cls = errors.KitaruStateError
    error: errors.KitaruError = cls.__new__(cls)
    Exception.__init__(error, str(body["message"]))
    for name, value in dict(body.get("fields") or {}).items():
        setattr(error, name, value)
    return error
