"""Flows with isolated checkpoints for the subprocess backend's tests: module-level, so the
isolated process imports them by their source reference (``tests._isolated_flows``)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from kitaru import checkpoint, flow


@checkpoint
def here() -> int:
    """The runner's process."""
    return os.getpid()


@checkpoint(runtime="isolated")
def elsewhere(label: str) -> dict[str, object]:
    """The isolated call's process, and the argument it got."""
    return {"pid": os.getpid(), "label": label}


@checkpoint(runtime="isolated")
async def elsewhere_async(number: int) -> int:
    """An async isolated call."""
    return number * 2


@flow
def split() -> dict[str, object]:
    """One inline and two isolated calls."""
    return {"runner": here(), "isolated": elsewhere("given"), "doubled": elsewhere_async(21)}


@checkpoint(runtime="isolated")
def refuse(reason: str) -> None:
    """Fail in the isolated process."""
    raise LookupError(reason)


@flow
def failing() -> None:
    """An isolated call that fails."""
    refuse("not there")


@checkpoint(runtime="isolated")
def linger(pid_file: str) -> None:
    """Write its process id, then run until stopped."""
    Path(pid_file).write_text(str(os.getpid()), encoding="utf-8")
    time.sleep(600)


@flow
def lingering(pid_file: str) -> None:
    """One isolated call that runs until the execution is cancelled."""
    linger(pid_file)
