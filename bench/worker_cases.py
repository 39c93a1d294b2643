"""Benchmark cases of ``kitaru worker``: executions run on the worker target, claimed by
worker processes from a server on PostgreSQL (one throwaway cluster per benchmark process,
a fresh database per repetition), all on loopback.

- throughput: 40 executions of 50 trivial checkpoints submitted at once, served by 1, 2 or
  4 workers (one slot each): executions/s and checkpoints/s, and the CPU time per
  checkpoint of the server process and of the workers (from ``/proc``);
- latency: ``flow.run()`` on the worker target to the first checkpoint starting on an
  idle worker (median of 15 submissions, one at a time);
- takeover: a worker SIGKILLed in the middle of an execution; the time until another
  worker runs its next checkpoint, with a lease of 2 s (heartbeat 0.5 s).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.server_cases import _server

EXECUTIONS, CHECKPOINTS = 40, 50
LEASE, HEARTBEAT = 2.0, 0.5

_FLOWS = """
import os
import time

import kitaru


@kitaru.checkpoint
def trivial(i: int) -> int:
    return i


@kitaru.flow
def many(n: int) -> int:
    return sum(trivial(i) for i in range(n))


@kitaru.checkpoint
def stamp(log: str, i: int) -> int:
    with open(log, "a") as f:
        f.write(f"{time.time()} {os.getpid()} {i}\\n")
    return i


@kitaru.flow
def stamped(log: str, n: int, pause: float) -> int:
    total = 0
    for i in range(n):
        total += stamp(log, i)
        time.sleep(pause)
    return total
"""

_cluster: Any = None


def _postgres() -> Any:
    """The benchmark process's throwaway PostgreSQL cluster (started once, stopped at exit)."""
    global _cluster
    if _cluster is None:
        from tests._postgres import postgres_cluster

        manager = postgres_cluster()
        _cluster = manager.__enter__()
        atexit.register(manager.__exit__, None, None, None)
    return _cluster


def _database(tmp: Path) -> str:
    from tests._postgres import create_database

    return create_database(_postgres().url, f"bench_{abs(hash(str(tmp))) % 10**9}")  # type: ignore[no-any-return]


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of ``pid`` and its live descendants."""
    ticks = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError):
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            stats[int(entry)] = fields
            children.setdefault(int(fields[1]), []).append(int(entry))
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        fields = stats.get(current)
        if fields is not None:
            total += (int(fields[11]) + int(fields[12])) / ticks
        todo += children.get(current, [])
    return total


def _server_pid(url: str) -> int:
    port = url.rsplit(":", 1)[1]
    found = subprocess.run(["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True, check=False)
    marker = "pid="
    text = found.stdout
    return int(text[text.index(marker) + len(marker) :].split(",")[0])


@contextlib.contextmanager
def _setup(
    tmp: Path, workers: int, **env_extra: str
) -> Iterator[tuple[Any, list[subprocess.Popen[bytes]], str]]:
    """A server on a fresh PostgreSQL database, ``workers`` worker processes serving it, and
    the flows' module imported here; yields the module, the workers and the server URL."""
    import importlib.util

    import kitaru
    from kitaru.testing import isolated_home

    code = tmp / "code"
    code.mkdir()
    (code / "bench_worker_flows.py").write_text(textwrap.dedent(_FLOWS))
    with _server(tmp, _database(tmp)) as (url, key), isolated_home(tmp / "home"):
        env = {k: v for k, v in os.environ.items() if not k.startswith("KITARU_")}
        env.update(
            KITARU_HOME=str(tmp / "worker-home"),
            KITARU_SERVER_URL=url,
            KITARU_API_KEY=key,
            PYTHONPATH=str(code),
            KITARU_LEASE_SECONDS=str(LEASE),
            KITARU_HEARTBEAT_SECONDS=str(HEARTBEAT),
            **env_extra,
        )
        processes = [
            subprocess.Popen(
                [sys.executable, "-m", "kitaru", "worker"],
                cwd=code,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for _ in range(workers)
        ]
        spec = importlib.util.spec_from_file_location("bench_worker_flows", code / "bench_worker_flows.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["bench_worker_flows"] = module
        spec.loader.exec_module(module)
        os.environ["KITARU_EXECUTION_TARGET"] = "worker"
        try:
            kitaru.connect(url, api_key=key)
            module.many.run(1).wait(timeout=120)  # every worker imported and connected
            for _ in range(2 * workers):
                module.many.run(1).wait(timeout=120)
            yield module, processes, url
        finally:
            os.environ.pop("KITARU_EXECUTION_TARGET", None)
            for process in processes:
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            for process in processes:
                process.wait(timeout=60)
            sys.modules.pop("bench_worker_flows", None)


def throughput(tmp: Path, workers: int) -> dict[str, float]:
    """40 executions of 50 trivial checkpoints on ``workers`` workers: rates and CPU per checkpoint."""
    with _setup(tmp, workers) as (flows, processes, url):
        server = _server_pid(url)
        server_cpu, worker_cpu = _cpu_seconds(server), sum(_cpu_seconds(p.pid) for p in processes)
        t = time.perf_counter()
        handles = [flows.many.run(CHECKPOINTS) for _ in range(EXECUTIONS)]
        for handle in handles:
            handle.wait(timeout=600)
        wall = time.perf_counter() - t
        server_cpu = _cpu_seconds(server) - server_cpu
        worker_cpu = sum(_cpu_seconds(p.pid) for p in processes) - worker_cpu
    checkpoints = EXECUTIONS * CHECKPOINTS
    return {
        "executions_per_s": EXECUTIONS / wall,
        "checkpoints_per_s": checkpoints / wall,
        "server_cpu_ms_per_checkpoint": server_cpu * 1000 / checkpoints,
        "worker_cpu_ms_per_checkpoint": worker_cpu * 1000 / checkpoints,
    }


def first_checkpoint_ms(tmp: Path) -> float:
    """``flow.run()`` on the worker target to the first checkpoint starting on an idle worker (ms)."""
    delays = []
    with _setup(tmp, 1) as (flows, _, _url):
        for n in range(15):
            log = tmp / f"first-{n}.log"
            time.sleep(0.2)  # the worker is idle: waiting in its claim
            t = time.time()
            flows.stamped.run(str(log), 1, 0.0).wait(timeout=60)
            delays.append((float(log.read_text().split()[0]) - t) * 1000)
    return statistics.median(delays)


def takeover_s(tmp: Path) -> float:
    """A worker SIGKILLed in the middle of an execution: seconds until another worker runs
    the execution's next checkpoint (lease 2 s)."""
    log = tmp / "takeover.log"
    with _setup(tmp, 2) as (flows, processes, _url):
        handle = flows.stamped.run(str(log), 400, 0.02)
        deadline = time.monotonic() + 60
        while not log.exists() or len(log.read_text().splitlines()) < 10:
            if time.monotonic() > deadline:
                raise RuntimeError("the execution did not start")
            time.sleep(0.01)
        holder = int(log.read_text().splitlines()[-1].split()[1])
        victim = next(p for p in processes if p.pid == holder)
        victim.send_signal(signal.SIGKILL)
        killed = time.time()
        victim.wait()
        while True:
            lines = [line.split() for line in log.read_text().splitlines()]
            after = [float(t) for t, pid, _ in lines if int(pid) != holder]
            if after:
                break
            if time.monotonic() > deadline + 60:
                raise RuntimeError("no worker took the execution over")
            time.sleep(0.01)
        import kitaru  # the execution goes on: cancel it so the workers stop quickly

        kitaru.KitaruClient().executions.cancel(handle.exec_id)
    return min(after) - killed


_runs: dict[int, list[dict[str, float]]] = {}
_read: dict[tuple[int, str], int] = {}


def _rate(workers: int, key: str) -> Any:
    """One figure of :func:`throughput`; the figures of one worker count come from the same
    runs (the first figure asked for runs them, the others read them in the same order)."""

    def case(tmp: Path) -> float:
        runs = _runs.setdefault(workers, [])
        index = _read.get((workers, key), 0)
        _read[(workers, key)] = index + 1
        if index >= len(runs):
            runs.append(throughput(tmp, workers))
        return runs[index][key]

    return case


FIGURES = {
    "executions_per_s": "executions/s",
    "checkpoints_per_s": "checkpoints/s",
    "server_cpu_ms_per_checkpoint": "server CPU per checkpoint (ms)",
    "worker_cpu_ms_per_checkpoint": "workers' CPU per checkpoint (ms)",
}

#: ``(name, label, case)`` of every worker benchmark, for ``python -m bench``.
BENCHMARKS: list[tuple[str, str, Any]] = [
    (f"workers_{n}_{key}", f"{n} worker(s), PostgreSQL+server: {label}", _rate(n, key))
    for n in (1, 2, 4)
    for key, label in FIGURES.items()
] + [
    ("worker_first_checkpoint_ms", "run() to 1st checkpoint on an idle worker (ms)", first_checkpoint_ms),
    ("worker_takeover_s", "worker SIGKILLed: next checkpoint elsewhere, lease 2 s (s)", takeover_s),
]
