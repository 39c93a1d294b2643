"""A real Kitaru server (uvicorn) on a free loopback port, in a thread of the test process."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from typing import Any

import uvicorn
from tests._helpers import wait_until

from kitaru.artifacts.base import ArtifactStore
from kitaru.server import create_app
from kitaru.store.base import MetadataStore


@contextlib.contextmanager
def running_server(
    store: MetadataStore, artifacts: ArtifactStore, *, auth: Any = None, **options: Any
) -> Iterator[str]:
    """Serve ``store`` and ``artifacts`` on 127.0.0.1 (a free port); yield the base URL."""
    app = create_app(store, artifacts, auth=auth, **options)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
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
