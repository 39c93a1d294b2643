"""Connections of the REST stores' HTTP client that send each request in one write.

httpcore writes a request's line and headers, then its body, each with its own system
call; on a keep-alive connection to a nearby server, those writes (and the server's wake-up
for each) are a good part of a small request's time. :class:`CoalescingBackend` opens
connections whose writes are held until the client reads its answer (or ``FLUSH_AT``
bytes are held): a small request then leaves in one write. A large body is written as
it comes, after what was held. Needs ``httpcore`` (installed with ``httpx``, the extra
``server``); imported only by :mod:`kitaru._http`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import httpcore

__all__ = ["FLUSH_AT", "CoalescingBackend"]

#: Bytes held before they are written anyway (a large body leaves in writes of this size).
FLUSH_AT = 256 << 10


class CoalescingBackend(httpcore.NetworkBackend):
    """``backend``, with connections that write each request at once (see the module)."""

    def __init__(self, backend: httpcore.NetworkBackend) -> None:
        self._backend = backend

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._backend.connect_tcp(
            host, port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )
        return _CoalescingStream(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        stream = self._backend.connect_unix_socket(path, timeout=timeout, socket_options=socket_options)
        return _CoalescingStream(stream)

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class _CoalescingStream(httpcore.NetworkStream):
    """A connection whose writes wait for the next read (or ``FLUSH_AT`` bytes)."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream
        self._held: list[bytes] = []
        self._size = 0

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if len(buffer) >= FLUSH_AT:  # a large body: written as it is, never copied
            self._flush(timeout)
            self._stream.write(buffer, timeout)
            return
        self._held.append(buffer)
        self._size += len(buffer)
        if self._size >= FLUSH_AT:
            self._flush(timeout)

    def _flush(self, timeout: float | None) -> None:
        if self._held:
            data = self._held[0] if len(self._held) == 1 else b"".join(self._held)
            self._held.clear()
            self._size = 0
            self._stream.write(data, timeout)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        self._flush(timeout)
        return self._stream.read(max_bytes, timeout)

    def close(self) -> None:
        self._held.clear()
        self._stream.close()

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        self._flush(timeout)
        return _CoalescingStream(self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)
