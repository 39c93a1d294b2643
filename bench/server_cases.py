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
def _server(tmp: Path, store_url: str | None = None, *extra: str, fill: int = 0) -> Iterator[tuple[str, str]]:
    """``kitaru server start`` on ``store_url`` (default: a SQLite file in ``tmp``), with
    ``fill`` ended executions in its store; yields its URL and an API key."""
    import httpx

    env = {k: v for k, v in os.environ.items() if not k.startswith("KITARU_")}
    env["KITARU_HOME"] = str(tmp / "server-home")
    store_url = store_url or f"sqlite:///{tmp / 'server.db'}"
    store = ["--store-url", store_url]
    if fill:
        from bench.cli_cases import fill as fill_executions
        from kitaru.store import open_store

        opened = open_store(store_url)
        try:
            fill_executions(opened, fill)
        finally:
            opened.close()
    kitaru_cli = [sys.executable, "-m", "kitaru"]
    created = subprocess.run(
        [*kitaru_cli, "server", "api-key", "create", "bench", *store, "-o", "json"],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    token = json.loads(created.stdout)["item"]["token"]
    port = _free_port()
    process = subprocess.Popen(
        [*kitaru_cli, "server", "start", "--port", str(port), *store, "--artifacts", str(tmp / "blobs"),
         *extra],
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


def executions_list_10k_rest_ms(tmp: Path) -> float:
    """``kitaru executions list`` (text, piped) against a server of 10,000 executions,
    installed: median whole-process wall time (ms)."""
    from bench.cli_cases import _env, _median_wall_ms, kitaru_command

    with _server(tmp, fill=10_000) as (url, token):
        env = {**_env(tmp, bytecode=True), "KITARU_SERVER_URL": url, "KITARU_API_KEY": token}
        return _median_wall_ms([*kitaru_command(), "executions", "list"], env, tmp)


_RUNNER = """
import json, sys, time
import kitaru

MARKS = []

@kitaru.checkpoint
def step(i):
    return i

@kitaru.flow
def seq(n):
    total = 0
    for i in range(n):
        total += step(i)
        MARKS.append(time.perf_counter())
    return total

kitaru.connect(sys.argv[1], api_key=sys.argv[2])
seq.run(1).wait()  # warm: connection, imports
print("ready", flush=True)
sys.stdin.readline()
latencies = []
started = time.perf_counter()
for _ in range(int(sys.argv[3])):
    MARKS.clear()
    MARKS.append(time.perf_counter())
    seq.run(100).wait()
    latencies += [b - a for a, b in zip(MARKS, MARKS[1:])]
print(json.dumps({"wall": time.perf_counter() - started, "latencies": latencies}))
"""


def throughput_8_runners(tmp: Path, *, flows: int = 5, workers: int = 4) -> dict[str, float]:
    """8 runner processes, each ``flows`` seq-100 flows, against one server (``workers``
    worker processes) on a throwaway PostgreSQL: checkpoints/s over all runners, and the
    p50/p99 latency of a checkpoint (from one checkpoint's return to the next one's)."""
    from tests._postgres import postgres_cluster

    with postgres_cluster() as cluster, _server(tmp, cluster.url, "--workers", str(workers)) as (url, key):
        env = {k: v for k, v in os.environ.items() if not k.startswith("KITARU_")}
        env["KITARU_HOME"] = str(tmp / "runner-home")
        runners = [
            subprocess.Popen(
                [sys.executable, "-c", _RUNNER, url, key, str(flows)],
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(8)
        ]
        for runner in runners:
            assert runner.stdout is not None and runner.stdout.readline().strip() == "ready"
        t = time.perf_counter()
        for runner in runners:
            assert runner.stdin is not None
            runner.stdin.write("go\n")
            runner.stdin.flush()
        outputs = [json.loads(runner.communicate(timeout=600)[0].splitlines()[-1]) for runner in runners]
        wall = time.perf_counter() - t
    latencies = sorted(value for out in outputs for value in out["latencies"])
    return {
        "checkpoints_per_s": 8 * flows * 100 / wall,
        "p50_checkpoint_ms": latencies[len(latencies) // 2] * 1000,
        "p99_checkpoint_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
    }


def throughput_checkpoints_per_s(tmp: Path) -> float:
    """8 runner processes of seq-100 flows against one server on PostgreSQL: checkpoints/s."""
    return throughput_8_runners(tmp)["checkpoints_per_s"]


def throughput_p99_checkpoint_ms(tmp: Path) -> float:
    """The same run: the p99 latency of one checkpoint (ms)."""
    return throughput_8_runners(tmp)["p99_checkpoint_ms"]
