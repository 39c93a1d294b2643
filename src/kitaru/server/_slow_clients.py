"""Slow clients cannot hold a connection forever: uvicorn's HTTP protocol with read deadlines.

uvicorn closes a connection that stays idle between requests (keep-alive), but not one
that sends half a request and stalls. :class:`GuardedHttpProtocol` closes a connection
whose request line and headers are not complete ``HEADER_TIMEOUT`` seconds after its
first byte (or after the connection opened), and one that sends no byte of its body for
``BODY_IDLE_TIMEOUT`` seconds (unless the server paused reading it). A client that stops
reading its answer is cut off too: once the answer fills the connection's buffers, the
server waits (it pauses writing) until the client reads; a connection that stays paused
``READ_STALL_TIMEOUT`` seconds is aborted, dropping what it had not read. The application
then sees the client as gone, and the worker goes on serving others.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["BODY_IDLE_TIMEOUT", "HEADER_TIMEOUT", "READ_STALL_TIMEOUT", "GuardedHttpProtocol"]

#: Seconds a client has to send a request's line and headers.
HEADER_TIMEOUT = 10.0
#: Seconds a request's body may go without a byte arriving.
BODY_IDLE_TIMEOUT = 30.0
#: Seconds a client may leave its answer unread while the server waits to send more of it.
READ_STALL_TIMEOUT = 30.0


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, closing connections that send a request too slowly or
    leave their answer unread."""

    header_timeout = HEADER_TIMEOUT
    body_idle_timeout = BODY_IDLE_TIMEOUT
    read_stall_timeout = READ_STALL_TIMEOUT

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._deadline: asyncio.TimerHandle | None = None
        self._stall: asyncio.TimerHandle | None = None
        self._reading_body = False
        super().connection_made(transport)
        self._arm(self.header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self._unstalled()
        super().connection_lost(exc)

    def pause_writing(self) -> None:
        # The client's buffers are full: it reads slower than the server writes, or not at all.
        super().pause_writing()
        if self._stall is None:
            self._stall = self.loop.call_later(self.read_stall_timeout, self._not_reading)

    def resume_writing(self) -> None:
        self._unstalled()
        super().resume_writing()

    def _unstalled(self) -> None:
        if self._stall is not None:
            self._stall.cancel()
            self._stall = None

    def _not_reading(self) -> None:
        self._stall = None
        if not self.flow.write_paused:
            return
        self.logger.warning(
            "Aborting a connection from %s: it left its answer unread for %s seconds.",
            _peer(self),
            self.read_stall_timeout,
        )
        # Reset, dropping the unread answer: close() would wait to send it first, and even
        # abort() leaves the system sending what its socket buffer holds.
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.transport.abort()

    def data_received(self, data: bytes) -> None:
        if self._deadline is None and not self._reading_body:
            self._arm(self.header_timeout)  # the first bytes of the next request
        super().data_received(data)
        if self._reading_body:
            self._arm(self.body_idle_timeout)

    def on_headers_complete(self) -> None:
        self._reading_body = True
        self._arm(self.body_idle_timeout)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._reading_body = False
        self._disarm()
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # Between requests, uvicorn's keep-alive timeout applies.
        self._disarm()

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self._reading_body and self.flow.read_paused:
            self._arm(self.body_idle_timeout)  # the server is the slow one: it paused reading
            return
        self.logger.warning("Closing a connection from %s: its request did not arrive in time.", _peer(self))
        self.transport.close()


def _peer(protocol: Any) -> str:
    client = protocol.client
    return f"{client[0]}:{client[1]}" if client else "a client"
