"""The HTTP client of the REST stores: keep-alive, retries, idempotency keys, errors.

One :class:`HttpClient` per server connection, shared by the REST metadata store and the
REST artifact store. A request that fails on the connection (refused, reset, timed out)
is sent again, with backoff, up to ``retries`` times; every write carries an
``Idempotency-Key`` header that stays the same across its retries, so the server applies
it once even when the first request did arrive. An error response is raised as the Kitaru
error the server named, with the server's message. Needs ``httpx`` (the extra ``server``).
"""

from __future__ import annotations

import datetime as dt
import enum
import json as _json
import sys
import threading
import time
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kitaru import errors

if TYPE_CHECKING:
    import httpx

__all__ = ["HttpClient"]

_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _httpx() -> Any:
    if "httpx" not in sys.modules:
        # httpx imports its command line tool (click, rich, pygments: half its import time)
        # when it can; Kitaru never uses it, so that import is made to fail, as when those
        # are not installed.
        sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
    try:
        import httpx
    except ImportError as exc:
        raise errors.KitaruFeatureNotAvailableError(
            "Talking to a Kitaru server needs httpx, which is not installed: pip install 'kitaru[server]'"
        ) from exc
    return httpx


class HttpClient:
    """A keep-alive connection to a Kitaru server's API.

    Example:
        >>> client = HttpClient("http://127.0.0.1:8383")  # doctest: +SKIP
        >>> client.request("GET", "/health").json()["status"]  # doctest: +SKIP
        'ok'
    """

    _external_client: httpx.Client | None

    def __init__(
        self,
        url: str,
        *,
        api_key: str | None = None,
        timeout: float = 60.0,
        retries: int = 8,
        backoff: float = 0.05,
        origin: str | None = None,
        on_unauthorized: str | None = None,
    ) -> None:
        httpx = _httpx()
        self.url = url.rstrip("/")
        headers = {"user-agent": "kitaru"}
        if api_key:
            headers["authorization"] = f"Bearer {api_key}"
        self._client = httpx.Client(
            base_url=self.url,
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            transport=_transport(httpx, verify=not self.url.startswith("http://")),
        )
        self._retry_on: tuple[type[BaseException], ...] = (httpx.TransportError,)
        self._retries = retries
        self._closed = False
        self._backoff = backoff
        # Where the URL came from and what to do when the server refuses the key (for messages).
        self._origin = f" (from {origin})" if origin else ""
        self._on_unauthorized = on_unauthorized
        self._external_client = None
        self._external_lock = threading.Lock()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        allow: frozenset[int] = frozenset(),
    ) -> httpx.Response:
        """Send a request (retried on connection errors) and return the response.

        Raises:
            KitaruError: the error the server answered (its class and message), unless its
                status is in ``allow``.
            KitaruBackendError: the server could not be reached (``transient``).
        """
        if self._closed:
            raise errors.KitaruStateError(
                f"The store '{self.url}' is closed. Open a new store to use it again."
            )
        sent_headers = dict(headers or {})
        if json is not None:
            content = _encode(json, method, path)
            sent_headers["content-type"] = "application/json"
        if method in _WRITES:
            sent_headers["idempotency-key"] = uuid.uuid4().hex
        query = _params(params) if params else None
        delay = self._backoff
        for attempt in range(self._retries + 1):
            try:
                response = self._client.request(
                    method, path, params=query, content=content, headers=sent_headers
                )
            except self._retry_on as exc:
                if attempt == self._retries:
                    raise errors.KitaruBackendError(
                        f"The Kitaru server at {self.url}{self._origin} did not answer {method} {path} "
                        f"({type(exc).__name__}: {exc}) after {attempt + 1} tries. Check that it runs "
                        "(kitaru server start) and that the URL is right.",
                        transient=True,
                    ) from exc
                time.sleep(delay)
                delay = min(delay * 2, 2.0)
                continue
            if response.status_code >= 400 and response.status_code not in allow:
                raise self._error(method, path, response)
            result: httpx.Response = response
            return result
        raise AssertionError("unreachable")  # pragma: no cover

    @property
    def transport_errors(self) -> tuple[type[BaseException], ...]:
        """The exceptions of a request that failed on the connection (worth retrying)."""
        return self._retry_on

    def open_stream(
        self,
        method: str,
        target: str,
        *,
        headers: Mapping[str, str] | None = None,
        content: Any = None,
        external: bool = False,
        allow: frozenset[int] = frozenset(),
    ) -> httpx.Response:
        """Send one request (not retried) and return its response, body unread: read or
        iterate it, then close it. ``external``: ``target`` is a full URL elsewhere (a
        signed object storage URL), sent without the API key, its errors not interpreted.

        Raises:
            KitaruError: the error the server answered (not for ``external``, nor ``allow``).
            transport_errors: the connection failed.
        """
        client = self._external() if external else self._client
        response = client.send(
            client.build_request(method, target, headers=headers, content=content), stream=True
        )
        if not external and response.status_code >= 400 and response.status_code not in allow:
            try:
                response.read()
            finally:
                response.close()
            raise self._error(method, target, response)
        result: httpx.Response = response
        return result

    def external(self, method: str, url: str, *, content: bytes | None = None) -> httpx.Response:
        """Send a request to a full URL elsewhere (a signed object storage URL) without the
        API key, retried on connection errors like :meth:`request`; any status is returned.

        Raises:
            KitaruBackendError: ``url`` could not be reached (``transient``).
        """
        delay = self._backoff
        for attempt in range(self._retries + 1):
            try:
                response: httpx.Response = self._external().request(method, url, content=content)
                return response
            except self._retry_on as exc:
                if attempt == self._retries:
                    host = url.split("?", 1)[0]
                    raise errors.KitaruBackendError(
                        f"The object storage did not answer {method} {host} ({type(exc).__name__}: {exc}) "
                        f"after {attempt + 1} tries. Check that this machine reaches it, or unset "
                        "direct_artifacts to send blobs through the server.",
                        transient=True,
                    ) from exc
                time.sleep(delay)
                delay = min(delay * 2, 2.0)
        raise AssertionError("unreachable")  # pragma: no cover

    def _external(self) -> httpx.Client:
        """The connections to signed URLs elsewhere (no API key), opened on first use."""
        with self._external_lock:
            if self._external_client is None:
                module = _httpx()
                self._external_client = module.Client(
                    headers={"user-agent": "kitaru"},
                    timeout=self._client.timeout,
                    limits=module.Limits(max_keepalive_connections=8, max_connections=32),
                )
        client: httpx.Client = self._external_client
        return client

    def json(self, method: str, path: str, **options: Any) -> Any:
        """Send a request and return its JSON body (``None`` for an empty one)."""
        response = self.request(method, path, **options)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def _error(self, method: str, path: str, response: httpx.Response) -> errors.KitaruError:
        try:
            detail = response.json()["error"]
            kind, message = str(detail["type"]), str(detail["message"])
            fields = dict(detail.get("fields") or {})
        except (ValueError, KeyError, TypeError):
            return errors.KitaruBackendError(
                f"The Kitaru server at {self.url} answered {response.status_code} to {method} {path}: "
                f"{response.text[:300]!r}",
                transient=response.status_code in (502, 503, 504),
            )
        if response.status_code == 401 and self._on_unauthorized:
            where = f"The Kitaru server at {self.url}{self._origin}"
            message = f"{where} refused the request: {message} {self._on_unauthorized}"
        cls = getattr(errors, kind, None)
        if not (isinstance(cls, type) and issubclass(cls, errors.KitaruError)):
            cls = errors.KitaruBackendError if response.status_code >= 500 else errors.KitaruUsageError
        error: errors.KitaruError = cls.__new__(cls)
        Exception.__init__(error, message)
        for name, value in fields.items():
            setattr(error, name, value)
        return error

    def close(self) -> None:
        """Close the connections; later requests raise ``KitaruStateError``."""
        self._closed = True
        self._client.close()
        if self._external_client is not None:
            self._external_client.close()


def _transport(httpx: Any, *, verify: bool) -> Any:
    """The transport of a client: keep-alive connections without Nagle's delay, each sending
    a request (line, headers and body) in one write where it can.

    ``verify`` is ``False`` over plain HTTP: every request goes to one URL (paths only,
    redirects not followed), so no TLS connection is ever made and loading CA certificates
    is skipped.
    """
    import socket

    transport = httpx.HTTPTransport(
        verify=verify,
        limits=httpx.Limits(max_keepalive_connections=32, max_connections=64),
        socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
    )
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if backend is not None:  # httpcore's connection pool, as in every httpx this supports
        from kitaru._http_stream import CoalescingBackend

        pool._network_backend = CoalescingBackend(backend)  # type: ignore[union-attr]
    return transport


def _encode(body: Any, method: str, path: str) -> bytes:
    try:
        return _json.dumps(body, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()
    except (TypeError, ValueError) as exc:
        raise errors.KitaruUsageError(
            f"The body of {method} {path} is not JSON ({exc}); nothing was sent. Metadata and "
            "failures hold JSON values only (text, numbers, booleans, null, lists, objects)."
        ) from exc


def _params(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    query: list[tuple[str, str]] = []
    for name, value in params.items():
        for item in value if isinstance(value, list | tuple | set | frozenset) else [value]:
            if item is None:
                continue
            if isinstance(item, enum.Enum):
                item = item.value
            if isinstance(item, dt.datetime):
                item = item.isoformat()
            if isinstance(item, bool):
                item = "true" if item else "false"
            query.append((name, str(item)))
    return query
