"""A TCP proxy on loopback that can lose a response: the request reaches the server, the
answer never reaches the client (as when a connection breaks at the wrong moment)."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from urllib.parse import urlsplit


class LosingProxy:
    """Relays connections to ``upstream``; :meth:`lose_next_response` drops one answer."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._lose = threading.Semaphore(0)
        self.lost = 0
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def lose_next_response(self) -> None:
        self._lose.release()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self._upstream)
            threading.Thread(target=self._pipe, args=(client, server, False), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, True), daemon=True).start()

    def _pipe(self, source: socket.socket, target: socket.socket, answers: bool) -> None:
        try:
            while chunk := source.recv(65536):
                if answers and self._lose.acquire(blocking=False):
                    self.lost += 1
                    break
                target.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()

    def close(self) -> None:
        self._closed = True
        self._listener.close()


@contextlib.contextmanager
def losing_proxy(upstream: str) -> Iterator[LosingProxy]:
    proxy = LosingProxy(upstream)
    try:
        yield proxy
    finally:
        proxy.close()
