"""Benchmark cases of kitaru.memory on the embedded SQLite store."""

from __future__ import annotations

import time
from pathlib import Path

from kitaru import flow, memory
from kitaru.testing import isolated_home

__all__ = ["set_get_in_flow_ms", "set_get_ms"]

_PAIRS = 500


def set_get_ms(tmp: Path, n: int = _PAIRS) -> float:
    """One ``memory.set`` + ``memory.get`` of a small value outside a flow (ms per pair)."""
    with isolated_home(tmp / "home"):
        memory.configure(scope="bench")
        memory.set("warm", 0)  # the store is open and its statements ready
        memory.get("warm")
        start = time.perf_counter()
        for i in range(n):
            memory.set("notes", {"step": i, "text": "a small note"})
            memory.get("notes")
        elapsed = time.perf_counter() - start
        memory.configure()
    return elapsed * 1000 / n


@flow
def _remembering(n: int) -> float:
    start = time.perf_counter()
    for i in range(n):
        memory.set("notes", {"step": i, "text": "a small note"})
        memory.get("notes")
    return (time.perf_counter() - start) * 1000 / n


def set_get_in_flow_ms(tmp: Path, n: int = _PAIRS) -> float:
    """The same pair in a flow body, where both are journaled with the execution (ms per pair)."""
    with isolated_home(tmp / "home"):
        _remembering.run(1).wait()
        return float(_remembering.run(n).wait())
