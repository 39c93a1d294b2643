"""Loopback-only network guard for the test run and every Python process it starts.

The test configuration puts this directory first on ``PYTHONPATH``, so Python
imports this module at start-up in the pytest process and in each subprocess
(CLI runs, crash-test children, flow scripts). An audit hook refuses any socket
connection, datagram or name lookup that would leave the machine: connecting
to a non-loopback address raises ``ConnectionRefusedError`` naming it, and the
pytest process records it so the test that did it fails.
"""

from __future__ import annotations

import ipaddress
import os
import sys
from typing import Any

__all__ = ["VIOLATIONS", "is_local"]

VIOLATIONS: list[str] = []
_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", ""}


def is_local(host: Any) -> bool:
    """Whether ``host`` (a name or an address) stays on this machine."""
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    if not isinstance(host, str):
        return False
    name = host.split("%", 1)[0].strip("[]").lower()
    if name in _LOCAL_NAMES or name.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if event == "socket.getaddrinfo":
        host = args[0]
    elif event in ("socket.connect", "socket.sendto"):
        address = args[1]
        if not isinstance(address, tuple):  # AF_UNIX path or abstract socket
            return
        host = address[0]
    else:
        return
    if is_local(host):
        return
    message = f"network access outside loopback refused in tests: {event} to {host!r}"
    VIOLATIONS.append(message)
    print(f"kitaru test guard: {message}", file=sys.stderr)
    raise ConnectionRefusedError(message)


if os.environ.get("KITARU_TEST_NETGUARD") == "1":
    sys.addaudithook(_hook)
