"""A real Kitaru server (uvicorn) on a free loopback port, in a thread of the test process."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from tests._helpers import wait_until

from kitaru.artifacts.base import ArtifactStore
from kitaru.server import create_app
from kitaru.store.base import MetadataStore


@contextlib.contextmanager
def running_server(
    store: MetadataStore,
    artifacts: ArtifactStore,
    *,
    auth: Any = None,
    http: Any = "auto",
    wrap: Callable[[Any], Any] | None = None,
    **options: Any,
) -> Iterator[str]:
    """Serve ``store`` and ``artifacts`` on 127.0.0.1 (a free port); yield the base URL
    (``http``: uvicorn's HTTP protocol class; ``wrap``: an ASGI wrapper around the app)."""
    app: Any = create_app(store, artifacts, auth=auth, **options)
    if wrap is not None:
        app = wrap(app)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False, http=http)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, timeout=20)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        sock.close()


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def answers(url: str) -> bool:
    """Whether the Kitaru server at ``url`` answers its health check."""
    try:
        return httpx.get(f"{url}/health", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


class ServerProcess:
    """``kitaru server start --no-auth`` in a subprocess, on a free port, with its own data
    directory; ``store_url`` defaults to a SQLite file in ``tmp``."""

    def __init__(self, tmp: Path, *, store_url: str | None = None, args: tuple[str, ...] = ()) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("KITARU_")}
        self.env["KITARU_HOME"] = str(tmp / "server-home")
        store_url = store_url or f"sqlite:///{tmp / 'server.db'}"
        self.args = ["--store-url", store_url, "--artifacts", str(tmp / "blobs"), *args]
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [sys.executable, "-m", "kitaru", "server", "start", "--no-auth", "--port", str(self.port)]
        self.process = subprocess.Popen([*command, *self.args], env=self.env, stderr=subprocess.DEVNULL)
        process = self.process
        wait_until(lambda: answers(self.url) or process.poll() is not None, timeout=60)
        assert process.poll() is None

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Send ``sig`` to the server (SIGKILL: one process, so not with ``--workers``) and
        wait for it to end."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=30)
