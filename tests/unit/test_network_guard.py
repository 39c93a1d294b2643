from __future__ import annotations

import socket
import subprocess
import sys

import pytest


def test_a_connection_outside_loopback_is_refused_in_process() -> None:
    # TEST-NET-1 (RFC 5737): never routed, and the guard refuses it before any packet leaves.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock, pytest.raises(ConnectionRefusedError):
        sock.connect(("192.0.2.1", 9))
    _netguard = sys.modules["kitaru_test_netguard"]
    assert _netguard.VIOLATIONS and "192.0.2.1" in _netguard.VIOLATIONS[-1]
    _netguard.VIOLATIONS.pop()  # this test provoked it on purpose


def test_subprocesses_get_the_guard_and_loopback_stays_open() -> None:
    code = (
        "import socket\n"
        "srv = socket.socket(); srv.bind(('127.0.0.1', 0)); srv.listen(1)\n"
        "socket.create_connection(srv.getsockname()).close()\n"
        "try:\n"
        "    socket.getaddrinfo('example.com', 443)\n"
        "except ConnectionRefusedError as exc:\n"
        "    print('refused:', exc)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "refused: network access outside loopback refused in tests" in result.stdout
