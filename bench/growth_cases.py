"""Benchmark cases of cost as the work grows: long executions and big stores.

One repetition builds one store and measures on it, in this order:

1. per checkpoint of executions of 1,000, 10,000 and 30,000 sequential calls
   (the last one stays: "the 30k execution");
2. 100,000 ended executions written straight through the store API, older
   than the 30k execution (no flows run);
3. on that store: ``executions.get()`` of the 30k execution (all calls, in
   process), a page of 50 of its calls from the middle, ``kitaru executions
   get`` (whole process, it shows a page), ``executions.list()`` and
   ``kitaru executions list`` among the 100,000, and a replay of the 30k
   execution from its last call (``flow.replay(...).wait()``) in a new
   process: time to the first live call and peak RSS above the RSS before the
   replay (the kernel's high-water mark ``VmHWM``, reset just before the
   replay, minus the resident size then; it includes SQLite's page caches and
   the allocator's slack; ``ru_maxrss`` would not do: it keeps the peak of the
   parent that forked the process, here the bench itself), and in another new process the
   peak of Python's allocations during the replay (``tracemalloc``; not timed);
4. a 30,000-call execution that failed at its last call, retried in place
   (``KitaruClient().executions.retry``) in a new process: time to the first
   live call (the one that failed) and the peak RSS delta, measured as for the replay.

Each repetition returns a dict of numbers; ``run`` returns the stats per key.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

from bench import cli_cases
from kitaru import KitaruClient, checkpoint, flow
from kitaru._types import ExecutionStatus, new_id
from kitaru.records import ExecutionRecord
from kitaru.store.sql._rows import execution_params
from kitaru.testing import isolated_home

#: (key, label, target or None) in table order.
ROWS: list[tuple[str, str, float | None]] = [
    ("per_checkpoint_ms_n1000", "per checkpoint, 1,000 sequential (ms)", None),
    ("per_checkpoint_ms_n10000", "per checkpoint, 10,000 sequential (ms)", None),
    ("per_checkpoint_ms_n30000", "per checkpoint, 30,000 sequential (ms)", None),
    ("get_30k_calls_ms", "executions.get(), 30,000 calls (ms)", 1000.0),
    ("page_30k_calls_ms", "list_checkpoints(offset=15000, limit=50) (ms)", None),
    ("cli_get_30k_calls_ms", "kitaru executions get, 30,000 calls, process (ms)", 1000.0),
    ("list_100k_ms", "executions.list(), 100,000 executions (ms)", None),
    ("cli_list_100k_ms", "kitaru executions list, 100,000 executions (ms)", None),
    ("replay_30k_first_live_ms", "replay of 30,000 calls from the last: 1st live (ms)", 1000.0),
    ("replay_30k_peak_rss_mib", "replay of 30,000 calls: peak RSS delta (MiB)", 100.0),
    ("replay_30k_traced_peak_mib", "replay of 30,000 calls: tracemalloc peak (MiB)", 100.0),
    ("retry_30k_first_live_ms", "retry in place after 30,000 done calls: 1st live (ms)", 1000.0),
    ("retry_30k_peak_rss_mib", "retry in place after 30,000 done calls: peak RSS delta (MiB)", 100.0),
]

_LIVE: list[float] = []
_CALLS = (1_000, 10_000, 30_000)
_EXECUTIONS = 100_000


@checkpoint
def grow_step(i: int) -> int:
    _LIVE.append(time.perf_counter())
    return i + 1


@flow
def grow(n: int) -> int:
    total = 0
    for i in range(n):
        total += grow_step(i)
    return total


@checkpoint
def finish(total: int) -> int:
    _LIVE.append(time.perf_counter())
    if os.environ.get(FAIL_FINISH) == "1":
        raise RuntimeError("the planned failure of the bench, so that the execution can be retried")
    return total


@flow
def grow_and_finish(n: int) -> int:
    total = 0
    for i in range(n):
        total += grow_step(i)
    return finish(total)


@flow
def grow_empty() -> None:
    return None


#: Set to "1" while the execution to retry is built: its last call fails.
FAIL_FINISH = "KITARU_BENCH_FAIL_FINISH"


REPLAY_SCRIPT = textwrap.dedent(
    """
    import json, resource, sys, time, tracemalloc

    from bench import growth_cases
    from kitaru import KitaruClient

    def rss() -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * resource.getpagesize()

    def peak_rss() -> int:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:"))

    client = KitaruClient()
    client.executions.get(sys.argv[1], checkpoints=False)  # open the store outside the timing
    traced = sys.argv[3] == "traced"
    if traced:
        tracemalloc.start()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset VmHWM to the resident size now
    before = rss()
    start = time.perf_counter()
    if sys.argv[2] == "retry":
        exec_id = client.executions.retry(sys.argv[1]).exec_id
        while not client.executions.get(exec_id, checkpoints=False).status.is_terminal:
            time.sleep(0.01)
    else:
        handle = growth_cases.grow.replay(sys.argv[1], from_=sys.argv[2])
        handle.wait(timeout=3600)
        exec_id = handle.exec_id
    first_live = growth_cases._LIVE[0] - start
    peak = peak_rss()
    traced_peak = tracemalloc.get_traced_memory()[1] / 2**20 if traced else None
    status = client.executions.get(exec_id, checkpoints=False).status.value
    print(json.dumps({"first_live_ms": first_live * 1000, "peak_rss_mib": (peak - before) / 2**20,
                      "traced_peak_mib": traced_peak, "status": status}))
    """
)


def _ms(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def _per_checkpoint_ms(n: int) -> tuple[float, str]:
    base = _ms(lambda: grow_empty.run().wait())
    handle = grow.run(n)
    total = _ms(lambda: handle.wait(timeout=3600))
    return (total - base) / n, handle.exec_id


def _replay_in_new_process(
    home: Path, exec_id: str, n: int | None, *, traced: bool = False
) -> dict[str, Any]:
    """Replay ``exec_id`` from call ``grow_step_<n>`` (``n=None``: retry it in place) in a new process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KITARU_")}
    env["KITARU_HOME"] = str(home)
    root = Path(__file__).resolve().parent.parent
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), env.get("PYTHONPATH", "")) if p)
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            REPLAY_SCRIPT,
            exec_id,
            "retry" if n is None else f"grow_step_{n}",
            "traced" if traced else "plain",
        ],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the replay (or retry) process failed: {done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if result["status"] != "completed":
        raise RuntimeError(f"the replay (or retry) ended {result['status']}")
    return result


def one_repetition(tmp: Path) -> dict[str, float]:
    """Build the store in ``tmp`` and take every measurement once."""
    home = tmp / "home"
    out: dict[str, float] = {}
    with isolated_home(home):
        grow_empty.run().wait()  # open the store and warm up outside the timing
        exec_id = ""
        for n in _CALLS:
            out[f"per_checkpoint_ms_n{n}"], exec_id = _per_checkpoint_ms(n)
        os.environ[FAIL_FINISH] = "1"
        try:
            failed = grow_and_finish.run(_CALLS[-1])
            with contextlib.suppress(Exception):  # planned: its last call fails
                failed.wait(timeout=3600)
        finally:
            del os.environ[FAIL_FINISH]
    fill_store(home, _EXECUTIONS)
    with isolated_home(home):
        client = KitaruClient()
        client.executions.list(limit=1)
        out["get_30k_calls_ms"] = _ms(lambda: client.executions.get(exec_id))
        page = client.executions.list_checkpoints
        out["page_30k_calls_ms"] = _ms(lambda: page(exec_id, offset=15_000, limit=50))
        out["list_100k_ms"] = _ms(lambda: client.executions.list())
    env = cli_cases._env(tmp, bytecode=True)
    command = cli_cases.kitaru_command()
    wall_ms = cli_cases._median_wall_ms
    out["cli_get_30k_calls_ms"] = wall_ms([*command, "executions", "get", exec_id], env, tmp)
    out["cli_list_100k_ms"] = wall_ms([*command, "executions", "list"], env, tmp)
    replay = _replay_in_new_process(home, exec_id, _CALLS[-1])
    out["replay_30k_first_live_ms"] = replay["first_live_ms"]
    out["replay_30k_peak_rss_mib"] = replay["peak_rss_mib"]
    # Again with tracemalloc (slower, so not timed): the peak of Python's own allocations.
    out["replay_30k_traced_peak_mib"] = _replay_in_new_process(home, exec_id, _CALLS[-1], traced=True)[
        "traced_peak_mib"
    ]
    retry = _replay_in_new_process(home, failed.exec_id, None)
    out["retry_30k_first_live_ms"] = retry["first_live_ms"]
    out["retry_30k_peak_rss_mib"] = retry["peak_rss_mib"]
    return out


def fill_store(home: Path, n: int) -> None:
    """Write ``n`` ended executions, older than everything else, in one transaction per
    1,000 through the store's own insert statement (no flows run)."""
    from kitaru._connect import default_stores

    statuses = cli_cases.STATUSES
    with isolated_home(home):
        store: Any = default_stores().metadata
        start = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
        for first in range(0, n, 1000):
            records = []
            for i in range(first, min(n, first + 1000)):
                created = start + dt.timedelta(seconds=i)
                status = statuses[i % len(statuses)]
                records.append(
                    ExecutionRecord(
                        exec_id=new_id(),
                        flow_name=f"flow_{i % 7}",
                        status=status,
                        created_at=created,
                        updated_at=created,
                        started_at=created,
                        ended_at=None if status is ExecutionStatus.WAITING else created,
                        spec={"options": {"cache": False, "retries": 0, "stack": "default"}},
                        source={"module": "bench", "qualname": f"flow_{i % 7}", "path": None},
                        run_count=1,
                    )
                )
            with store._writing() as cur:
                store._s.insert_execution.execute_many(cur, [execution_params(r) for r in records])


def run(repeats: int) -> dict[str, dict[str, Any]]:
    """Run ``repeats`` repetitions; return median, min, max and runs per key."""
    runs: dict[str, list[float]] = {key: [] for key, _, _ in ROWS}
    for i in range(repeats):
        with tempfile.TemporaryDirectory(prefix="kitaru-bench-growth-") as tmp:
            start = time.perf_counter()
            values = one_repetition(Path(tmp))
        for key, value in values.items():
            runs[key].append(value)
        print(
            f"  grows with the work: run {i + 1}/{repeats} ({time.perf_counter() - start:.0f} s)",
            file=sys.stderr,
            flush=True,
        )
    return {
        key: {"median": statistics.median(v), "min": min(v), "max": max(v), "runs": v}
        for key, v in runs.items()
        if v
    }
