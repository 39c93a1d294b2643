"""Flows the Ray tests run on the cluster: module-level, so a runner actor imports them by
their source reference (``tests._ray_flows``, inside the project the tests run from)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from kitaru import checkpoint, flow


def _note(log: str, line: str) -> None:
    with open(log, "a", encoding="utf-8") as f:
        f.write(line + "\n")


@checkpoint
def step(log: str, number: int) -> int:
    """Count its runs in ``log``."""
    _note(log, f"step {number}")
    return number


@checkpoint
def gate(log: str, marker: str) -> int:
    """Count its runs, then hold until ``marker`` exists (the test decides when it passes)."""
    _note(log, f"gate {os.getpid()}")
    while not Path(marker).exists():
        time.sleep(0.05)
    return 10


@flow
def counting(log: str, marker: str) -> int:
    """Two steps, a gate, a last step."""
    total = step(log, 1) + step(log, 2)
    total += gate(log, marker)
    return total + step(log, 3)


@checkpoint
def runner_pid() -> int:
    """The process of the execution's runner."""
    return os.getpid()


@checkpoint(runtime="isolated", resources={"num_cpus": 1, "resources": {"kitaru_test": 1}})
def isolated_info(label: str) -> dict[str, Any]:
    """Where an isolated call ran: its process and the Ray resources it was given."""
    import ray

    return {
        "label": label,
        "pid": os.getpid(),
        "resources": ray.get_runtime_context().get_assigned_resources(),
    }


@flow
def isolation() -> dict[str, Any]:
    """An inline call and an isolated one."""
    return {"runner": runner_pid(), "isolated": isolated_info("asked")}


@checkpoint(runtime="isolated")
def hold(pid_file: str) -> None:
    """Write its process id, then run until it is stopped."""
    Path(pid_file).write_text(str(os.getpid()), encoding="utf-8")
    time.sleep(600)


@flow
def held(pid_file: str) -> None:
    """One isolated call that runs until the execution is cancelled."""
    hold(pid_file)


@flow
def asking(log: str) -> int:
    """Ask for a number (the runner leaves after one second without an answer), then use it."""
    import kitaru

    first = step(log, 1)
    answer = kitaru.wait(schema=int, name="number", timeout=1)
    return first + answer + where(log)


@checkpoint
def where(log: str) -> int:
    """Note the process that runs it."""
    _note(log, f"where {os.getpid()}")
    return 0


@checkpoint(runtime="isolated")
def refuse(reason: str) -> None:
    """Fail in its Ray task."""
    raise LookupError(reason)


@flow
def refusing() -> None:
    """An isolated call that fails."""
    refuse("no such row")


def unreachable_stores(description: dict[str, Any]) -> Any:
    """Open no stores: what a node that cannot reach them does."""
    raise OSError("the store is not reachable from this node")
