"""A server restarted while a flow runs against it: the runner's requests fail on the
connection, are sent again until the server is back, and the execution completes with every
checkpoint recorded once."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests._helpers import wait_until

import kitaru
from kitaru._types import ExecutionStatus
from kitaru.config import reset_config
from kitaru.store.rest import RestStore
from kitaru.testing import reset_default_stores

STEPS = 30


@kitaru.checkpoint
def step(i: int) -> int:
    time.sleep(0.05)
    return i


@kitaru.flow
def steady() -> int:
    return sum(step(i) for i in range(STEPS))


def _up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


class _Server:
    def __init__(self, tmp: Path) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("KITARU_")}
        self.env["KITARU_HOME"] = str(tmp / "server-home")
        self.args = ["--store-url", f"sqlite:///{tmp / 'server.db'}", "--artifacts", str(tmp / "blobs")]
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [sys.executable, "-m", "kitaru", "server", "start", "--no-auth", "--port", str(self.port)]
        self.process = subprocess.Popen([*command, *self.args], env=self.env, stderr=subprocess.DEVNULL)
        wait_until(lambda: _up(self.url) or self.process.poll() is not None, timeout=60)
        assert self.process.poll() is None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[_Server]:
    served = _Server(tmp_path)
    served.start()
    yield served
    served.stop()
    reset_default_stores()
    reset_config()


def test_a_flow_completes_across_a_server_restart(server: _Server) -> None:
    kitaru.connect(server.url)
    handle = steady.run()
    observer = RestStore(server.url)
    wait_until(lambda: observer.count_calls(handle.exec_id) >= 5, timeout=30)
    assert observer.count_calls(handle.exec_id) < STEPS - 5  # the runner will meet a server that is gone
    server.stop()
    server.start()
    assert handle.wait(timeout=60) == sum(range(STEPS))
    journal = observer.load_journal(handle.exec_id)
    assert [call.invocation_id for call in journal] == ["step", *(f"step_{i}" for i in range(2, STEPS + 1))]
    assert all(call.attempt_count == 1 for call in journal)
    assert observer.get_execution(handle.exec_id).status is ExecutionStatus.COMPLETED
    observer.close()
