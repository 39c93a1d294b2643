"""Run the benchmark suite: prints a table and writes JSON (``bench/results/latest.json``).

Each figure is the median of several repetitions (each in a fresh data
directory, so the cache never serves a repetition from an earlier one); the
spread (min–max) is printed beside it so the machine's noise is visible.

Usage::

    python -m bench [--quick] [--json PATH] [--only NAME ...] [--no-growth] [--growth-repeats N]

The "grows with the work" table (executions of 1,000 to 30,000 calls, a store
of 100,000 executions; see ``bench/growth_cases.py``) takes a few minutes per
repetition; ``--no-growth`` skips it, ``--only growth`` runs only it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import (
    cases,
    cli_cases,
    growth_cases,
    lifecycle_cases,
    llm_cases,
    memory_cases,
    server_cases,
    worker_cases,
)

TARGETS = {
    "cli_help_ms": 100.0,
    "cli_executions_list_10k_ms": 150.0,
    "import_kitaru_ms": 50.0,
    "first_flow_fresh_process_ms": 60.0,
    "checkpoint_overhead_ms_n100": 0.35,
    "checkpoint_overhead_ms_n1000": 0.35,
    "checkpoint_1mib_ms": 5.0,
    "checkpoint_1mib_reused_ms": 5.0,
    "rerun_completed_1000_s": 0.5,
    "submit_100_s": 0.06,
    "input_to_next_checkpoint_ms": 100.0,
    "resume_1000_first_live_ms": 500.0,
    "memory_set_get_ms": 1.0,
    "llm_call_overhead_ms": 1.0,
    "checkpoint_rest_ms_n100": 2.0,
    "checkpoint_rest_1mib_ms": 15.0,
    "cli_executions_list_10k_rest_ms": 300.0,
    "worker_first_checkpoint_ms": 100.0,
    "worker_takeover_s": 3.0,  # the lease (2 s) + 1 s
}


def measure(name: str, fn: Callable[[Path], float], repeats: int) -> dict[str, Any]:
    values = []
    for i in range(repeats):
        with tempfile.TemporaryDirectory(prefix=f"kitaru-bench-{name}-") as tmp:
            values.append(fn(Path(tmp)))
        print(f"  {name}: run {i + 1}/{repeats} = {values[-1]:.4g}", file=sys.stderr, flush=True)
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "runs": values,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 repetitions instead of 5")
    parser.add_argument("--json", default="bench/results/latest.json", help="where to write the JSON results")
    parser.add_argument("--only", nargs="*", help="run only these benchmarks (names as in the table)")
    parser.add_argument("--no-growth", action="store_true", help="skip the 'grows with the work' table")
    parser.add_argument("--growth-repeats", type=int, default=3, help="repetitions of the growth table")
    args = parser.parse_args(argv)
    repeats = 3 if args.quick else 5
    growth = not args.no_growth and (not args.only or "growth" in args.only)

    benchmarks: list[tuple[str, str, Callable[[Path], float]]] = [
        ("import_kitaru_ms", "import kitaru (ms, fresh process)", cases.import_time_ms),
        (
            "first_flow_fresh_process_ms",
            "import + first empty flow, fresh process (ms, in-process)",
            cases.first_flow_fresh_process_ms,
        ),
        (
            "first_flow_fresh_process_as_run_here_ms",
            "import + first empty flow, no bytecode cache (ms)",
            cases.first_flow_fresh_process_as_run_here_ms,
        ),
        ("sqlite_commit_us", "bare SQLite commit, WAL+NORMAL (µs, floor)", cases.sqlite_commit_us),
        ("empty_flow_ms", "empty flow: run() + wait() (ms)", cases.empty_flow_ms),
        ("checkpoint_overhead_ms_n100", "per checkpoint, 100 sequential (ms)", cases.per_checkpoint_ms(100)),
        (
            "checkpoint_overhead_ms_n1000",
            "per checkpoint, 1,000 sequential (ms)",
            cases.per_checkpoint_ms(1000),
        ),
        ("checkpoint_1mib_ms", "per checkpoint returning 1 MiB, 20 calls (ms)", cases.one_mib_ms),
        (
            "checkpoint_1mib_reused_ms",
            "per reused checkpoint of 1 MiB: retry, 20 calls (ms)",
            cases.one_mib_reused_ms,
        ),
        (
            "rerun_completed_1000_s",
            "re-run 1,000 completed checkpoints: retry, all reused (s)",
            cases.rerun_1000_s,
        ),
        ("submit_100_s", "100 .submit() + results (s)", cases.submit_100_s),
        (
            "checkpoint_rest_ms_n100",
            "per checkpoint through the REST store, 100 seq. (ms)",
            server_cases.per_checkpoint_rest_ms,
        ),
        (
            "checkpoint_rest_1mib_ms",
            "per 1 MiB checkpoint through the REST store, 20 (ms)",
            server_cases.one_mib_rest_ms,
        ),
        ("memory_set_get_ms", "memory.set + memory.get, small value (ms)", memory_cases.set_get_ms),
        (
            "memory_set_get_in_flow_ms",
            "memory.set + get in a flow body, journaled (ms)",
            memory_cases.set_get_in_flow_ms,
        ),
        (
            "input_to_next_checkpoint_ms",
            "input() to next checkpoint, runner polling (ms)",
            lifecycle_cases.input_to_next_checkpoint_ms,
        ),
        (
            "resume_1000_first_live_ms",
            "input() after runner left, 1,000 done: 1st live (ms)",
            lifecycle_cases.resume_1000_first_live_ms,
        ),
        (
            "recovery_50_at_40_s",
            "retry 50-ckpt failed at 40, new process, wall (s)",
            lifecycle_cases.recovery_50_at_40_s,
        ),
        (
            "process_import_kitaru_s",
            "bare python -c 'import kitaru' process, wall (s)",
            lifecycle_cases.process_import_kitaru_s,
        ),
        ("llm_raw_sdk_call_ms", "raw OpenAI SDK call, local fake server (ms)", llm_cases.llm_raw_call_ms),
        (
            "llm_call_overhead_ms",
            "llm() in a flow body, added to the SDK call (ms)",
            llm_cases.llm_overhead_ms,
        ),
        ("cli_help_ms", "kitaru --help, whole process, installed (ms)", cli_cases.help_ms),
        ("cli_help_as_run_here_ms", "kitaru --help, no bytecode cache (ms)", cli_cases.help_as_run_here_ms),
        (
            "cli_executions_list_10k_ms",
            "kitaru executions list, 10,000 executions (ms)",
            cli_cases.executions_list_10k_ms,
        ),
        (
            "cli_executions_list_10k_json_ms",
            "executions list -o json, 10,000 executions (ms)",
            cli_cases.executions_list_10k_json_ms,
        ),
        (
            "cli_executions_list_10k_rest_ms",
            "executions list, 10,000, against a server (ms)",
            server_cases.executions_list_10k_rest_ms,
        ),
        (
            "server_8_runners_checkpoints_per_s",
            "8 runner processes, seq-100, server on PostgreSQL (ckpt/s)",
            server_cases.throughput_checkpoints_per_s,
        ),
        (
            "server_8_runners_p99_checkpoint_ms",
            "the same: p99 latency of a checkpoint (ms)",
            server_cases.throughput_p99_checkpoint_ms,
        ),
        (
            "cli_executions_list_10k_as_run_here_ms",
            "executions list, 10,000, no bytecode cache (ms)",
            cli_cases.executions_list_10k_as_run_here_ms,
        ),
        *worker_cases.BENCHMARKS,
    ]
    if args.only:
        benchmarks = [b for b in benchmarks if b[0] in args.only]
    results: dict[str, Any] = {}
    for key, _, fn in benchmarks:
        results[key] = measure(key, fn, repeats)

    floor_us = results.get("sqlite_commit_us", {}).get("median")
    print()
    print(f"{'benchmark':<52} {'median':>10} {'min':>10} {'max':>10} {'target':>8}  ratio to floor")
    for key, label, _ in benchmarks:
        r = results[key]
        target = TARGETS.get(key)
        ratio = ""
        if floor_us and key.startswith("checkpoint_overhead"):
            ratio = f"{r['median'] * 1000 / floor_us:.1f}× one commit"
        verdict = "" if target is None else ("ok" if r["median"] <= target else "MISS")
        target_text = "" if target is None else f"≤{target:g}"
        print(
            f"{label:<52} {r['median']:>10.4g} {r['min']:>10.4g} {r['max']:>10.4g} "
            f"{target_text:>8} {verdict:>4} {ratio}"
        )

    growth_results = growth_cases.run(args.growth_repeats) if growth else {}
    if growth_results:
        print()
        print(f"{'grows with the work':<52} {'median':>10} {'min':>10} {'max':>10} {'target':>8}")
        for key, label, target in growth_cases.ROWS:
            r = growth_results[key]
            verdict = "" if target is None else ("ok" if r["median"] <= target else "MISS")
            target_text = "" if target is None else f"≤{target:g}"
            print(
                f"{label:<52} {r['median']:>10.4g} {r['min']:>10.4g} {r['max']:>10.4g} "
                f"{target_text:>8} {verdict:>4}"
            )

    payload = {
        "machine": {
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "repeats": repeats,
        "targets": TARGETS,
        "results": results,
        "growth": growth_results,
        "growth_targets": {key: target for key, _, target in growth_cases.ROWS if target is not None},
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(payload, indent=2))
    print(f"\nJSON written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
