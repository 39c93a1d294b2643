"""Benchmark cases through a Kitaru server: a flow in this process, its store a REST store
talking to ``kitaru server start`` in another process (SQLite behind it) on loopback."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import kitaru
from bench import cases
from kitaru.testing import isolated_home


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _server(tmp: Path) -> Iterator[tuple[str, str]]:
    """``kitaru server start`` on a SQLite file in ``tmp``; yields its URL and an API key."""
    import httpx

    env = {k: v for k, v in os.environ.items() if not k.startswith("KITARU_")}
    env["KITARU_HOME"] = str(tmp / "server-home")
    store = ["--store-url", f"sqlite:///{tmp / 'server.db'}"]
    kitaru_cli = [sys.executable, "-m", "kitaru"]
    created = subprocess.run(
        [*kitaru_cli, "server", "api-key", "create", "bench", *store, "-o", "json"],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    token = json.loads(created.stdout)["item"]["token"]
    port = _free_port()
    process = subprocess.Popen(
        [*kitaru_cli, "server", "start", "--port", str(port), *store, "--artifacts", str(tmp / "blobs")],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{url}/health").status_code == 200:
                    break
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the benchmark's server did not start")
            time.sleep(0.05)
        yield url, token
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)


def _through_server(tmp: Path, flow: kitaru.flow, n: int) -> float:  # type: ignore[valid-type]
    with _server(tmp) as (url, token), isolated_home(tmp / "home"):
        kitaru.connect(url, api_key=token)
        cases.empty.run().wait()
        t = time.perf_counter()
        cases.empty.run().wait()
        base = time.perf_counter() - t
        t = time.perf_counter()
        flow.run(n).wait()
        total = time.perf_counter() - t
    return (total - base) / n * 1000


def per_checkpoint_rest_ms(tmp: Path) -> float:
    """Per checkpoint of a small value, 100 sequential, through the REST store (ms)."""
    return _through_server(tmp, cases.sequential, 100)


def one_mib_rest_ms(tmp: Path) -> float:
    """Per checkpoint returning 1 MiB, 20 calls, through the REST store (ms)."""
    if not cases._BLOBS:
        cases._BLOBS.extend(os.urandom(cases.MIB) for _ in range(20))
    return _through_server(tmp, cases.big_values, 20)
