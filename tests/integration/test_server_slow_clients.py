"""A client that sends half a request and stalls, or stops reading its answer, cannot hold
the server: its connection is closed, and the server keeps serving others meanwhile."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests._helpers import wait_until
from tests._server import running_server

from kitaru.artifacts.local import LocalArtifactStore
from kitaru.server._slow_clients import GuardedHttpProtocol
from kitaru.store.memory import InMemoryStore


class _Impatient(GuardedHttpProtocol):
    header_timeout = 0.5
    body_idle_timeout = 0.5
    read_stall_timeout = 0.5


@pytest.fixture
def blobs(tmp_path: Path) -> LocalArtifactStore:
    return LocalArtifactStore(tmp_path / "blobs")


@pytest.fixture
def url(blobs: LocalArtifactStore) -> Iterator[str]:
    store = InMemoryStore()
    with running_server(store, blobs, http=_Impatient) as base:
        yield base
    store.close()


def _stalled(url: str, sent: bytes) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)))
    sock.settimeout(30)
    sock.sendall(sent)
    return sock


def _closed_by_server(sock: socket.socket) -> bool:
    """Read until the server closes the connection; whatever it answered first is fine."""
    with sock:
        while True:
            try:
                if not sock.recv(65536):
                    return True
            except ConnectionResetError:
                return True
            except TimeoutError:
                return False


@pytest.mark.parametrize(
    "sent",
    [
        b"",
        b"POST /api/v1/logs HTTP/1.1\r\nHost: x\r\n",
        b"POST /api/v1/logs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b'Content-Length: 1000\r\n\r\n{"records": [',
    ],
    ids=["nothing", "half-headers", "half-body"],
)
def test_a_stalled_request_is_closed_while_others_are_served(url: str, sent: bytes) -> None:
    stalled = [_stalled(url, sent) for _ in range(3)]
    assert httpx.get(f"{url}/health", timeout=10).status_code == 200
    assert all(_closed_by_server(sock) for sock in stalled)
    assert httpx.get(f"{url}/health", timeout=10).status_code == 200


def test_a_slow_but_steady_body_is_read(url: str) -> None:
    body = b'{"records": []}'
    head = b"POST /api/v1/logs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    sock = _stalled(url, head + b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body))
    with sock:
        for start in range(0, len(body), 5):
            sock.sendall(body[start : start + 5])
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 204")


_TCP_CLOSE = 7  # tcpi_state of a connection that was reset (Linux's struct tcp_info)


def _reset(sock: socket.socket) -> bool:
    """Whether the peer ended the connection, looked at without reading from it."""
    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)[0] == _TCP_CLOSE


def test_a_client_that_stops_reading_its_answer_is_cut_off_while_others_are_served(
    url: str, blobs: LocalArtifactStore
) -> None:
    size = 32 << 20
    key = blobs.put(os.urandom(1 << 20) * 32)
    host, port = url.removeprefix("http://").split(":")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # fills at once: the server must wait
    sock.settimeout(30)
    with sock:
        sock.connect((host, int(port)))
        sock.sendall(f"GET /api/v1/blobs/{key} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        assert httpx.get(f"{url}/health", timeout=10).status_code == 200
        wait_until(lambda: _reset(sock), timeout=30)
        received = 0
        try:
            while chunk := sock.recv(1 << 20):
                received += len(chunk)
        except ConnectionResetError:
            pass
    assert received < size
    assert httpx.get(f"{url}/health", timeout=10).status_code == 200
