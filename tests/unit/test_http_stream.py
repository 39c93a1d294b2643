"""The REST client's connections send a request in one write: held writes leave at the next
read, or once ``FLUSH_AT`` bytes are held."""

from __future__ import annotations

from typing import Any

import httpcore

from kitaru._http_stream import FLUSH_AT, CoalescingBackend


class _Recorded(httpcore.NetworkStream):
    """A connection that records what is written to it and answers reads with ``b"answer"``."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.writes.append(bytes(buffer))

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return b"answer"

    def close(self) -> None:
        self.closed = True

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> Any:
        return _Recorded()

    def get_extra_info(self, info: str) -> Any:
        return f"info:{info}"


class _Backend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self.opened: list[_Recorded] = []

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        self.opened.append(_Recorded())
        return self.opened[-1]


def test_a_request_leaves_in_one_write_when_its_answer_is_read() -> None:
    inner = _Backend()
    stream = CoalescingBackend(inner).connect_tcp("127.0.0.1", 1)
    stream.write(b"POST / HTTP/1.1\r\n\r\n")
    stream.write(b"{}")
    assert inner.opened[0].writes == []
    assert stream.read(100) == b"answer"
    assert inner.opened[0].writes == [b"POST / HTTP/1.1\r\n\r\n{}"]
    assert stream.read(100) == b"answer" and len(inner.opened[0].writes) == 1
    assert stream.get_extra_info("socket") == "info:socket"


def test_a_large_body_leaves_in_bounded_writes_and_close_drops_what_is_held() -> None:
    inner = _Backend()
    stream = CoalescingBackend(inner).connect_tcp("127.0.0.1", 1)
    for _ in range(5):
        stream.write(b"x" * (FLUSH_AT // 2))
    assert [len(write) for write in inner.opened[0].writes] == [FLUSH_AT, FLUSH_AT]
    big = b"y" * FLUSH_AT
    stream.write(big)
    assert [len(write) for write in inner.opened[0].writes] == [FLUSH_AT, FLUSH_AT, FLUSH_AT // 2, FLUSH_AT]
    assert inner.opened[0].writes[-1] is big
    stream.write(b"held")
    stream.close()
    assert inner.opened[0].closed
    assert len(inner.opened[0].writes) == 4
