"""Ctrl-C while executions run in this process: cancel them first, exit at once second.

While an execution started from the main thread runs in this process, SIGINT
is handled here, and only when Python's default handler was in place (a
program with its own handler keeps it):

- the first Ctrl-C asks every execution running here to cancel: each stops at
  its next checkpoint or wait and ends ``cancelled`` (``handle.wait()`` then
  raises a :class:`~kitaru.errors.KitaruExecutionError` saying so); one line on
  stderr names the executions and says that a second Ctrl-C exits at once;
- a second Ctrl-C, while one of them still runs, exits the process at once
  (status 130) and says which executions are left orphaned and how to end them.

With nothing running here, Ctrl-C does what it did before: the previous
handler is restored (by :func:`release_when_idle`, or by the handler itself).

Example:
    >>> from kitaru.runtime.interrupt import installed
    >>> installed()
    False
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from dataclasses import dataclass
from types import FrameType
from typing import Any

from kitaru.runtime.context import running_here
from kitaru.store.base import MetadataStore

__all__ = ["EXIT_AT_ONCE_STATUS", "installed", "release_when_idle", "track"]

EXIT_AT_ONCE_STATUS = 130
"""The exit status of a process left at once by a second Ctrl-C (128 + SIGINT)."""


@dataclass(eq=False)
class _Run:
    exec_id: str
    flow_name: str
    store: MetadataStore
    done: threading.Event
    interrupted: bool = False


_lock = threading.RLock()  # the handler runs in the main thread, possibly inside track()
_runs: list[_Run] = []
_previous: Any = None
"""The SIGINT handler replaced while ours is installed (``None``: not installed)."""


def installed() -> bool:
    """Whether this module handles SIGINT right now."""
    return _previous is not None


def track(exec_id: str, flow_name: str, store: MetadataStore, done: threading.Event) -> None:
    """Follow an execution that starts running in this process until ``done`` is set.

    Called where the run is launched. In the main thread this installs the
    Ctrl-C handling of this module while any followed execution runs.
    """
    with _lock:
        _runs[:] = [run for run in _runs if not run.done.is_set()]
        _runs.append(_Run(exec_id, flow_name, store, done))
    _install()


def release_when_idle() -> None:
    """Restore the previous SIGINT handler once no followed execution runs (main thread only)."""
    global _previous
    if threading.current_thread() is not threading.main_thread():
        return
    with _lock:
        if _previous is None or any(not run.done.is_set() for run in _runs):
            return
        if signal.getsignal(signal.SIGINT) is _on_interrupt:
            signal.signal(signal.SIGINT, _previous)
        _previous = None
        _runs.clear()


def _install() -> None:
    global _previous
    if threading.current_thread() is not threading.main_thread():
        return
    with _lock:
        if _previous is not None:
            return
        current = signal.getsignal(signal.SIGINT)
        if current is not signal.default_int_handler:
            return  # the program handles Ctrl-C itself
        signal.signal(signal.SIGINT, _on_interrupt)
        _previous = current


def _say(line: str) -> None:
    """Tell the terminal, past log capture when it runs (its module is loaded then: this runs in
    a signal handler, which neither imports nor waits for a lock)."""
    capture = sys.modules.get("kitaru.runtime.fd_capture")
    if capture is not None:
        capture.write_terminal(2, line + "\n", wait=False)  # never raises
        return
    stream = sys.__stderr__ or sys.stderr
    with contextlib.suppress(OSError, ValueError):  # a closed stderr must not stop the cancel
        print(line, file=stream, flush=True)


def _ids(runs: list[_Run]) -> str:
    return ", ".join(run.exec_id for run in runs)


def _cancel(run: _Run, reason: str) -> None:
    """Ask one execution to stop: at once in this process, durably in the store."""
    run.interrupted = True
    ctx = running_here(run.exec_id)
    if ctx is not None:
        ctx.request_cancel(reason)

    def durable() -> None:  # not in the handler itself: it may have interrupted a store call
        try:
            run.store.request_cancel(run.exec_id)
        except Exception as exc:
            _say(f"kitaru: could not record the cancel of execution {run.exec_id}: {exc}")

    threading.Thread(target=durable, name=f"kitaru-cancel-{run.exec_id[:8]}", daemon=True).start()


def _on_interrupt(signum: int, frame: FrameType | None) -> None:
    with _lock:
        active = [run for run in _runs if not run.done.is_set()]
        previous = _previous
    if not active:
        release_when_idle()
        if callable(previous):
            previous(signum, frame)
            return
        raise KeyboardInterrupt
    fresh = [run for run in active if not run.interrupted]
    if fresh:
        reason = f"Ctrl-C in process {os.getpid()} asked to cancel it"
        for run in fresh:
            _cancel(run, reason)
        noun = "execution" if len(fresh) == 1 else "executions"
        _say(
            f"kitaru: Ctrl-C: cancelling {noun} {_ids(fresh)}; it stops at its next checkpoint or wait "
            "and ends 'cancelled'. Press Ctrl-C again to exit at once."
        )
        return
    noun = "execution" if len(active) == 1 else "executions"
    commands = "; ".join(f"kitaru executions cancel {run.exec_id}" for run in active)
    _say(
        f"kitaru: second Ctrl-C: exiting at once. {noun.capitalize()} {_ids(active)} did not stop and "
        f"{'is' if len(active) == 1 else 'are'} left orphaned (status 'running', no runner); "
        f"end {'it' if len(active) == 1 else 'them'} with: {commands}"
    )
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError, AttributeError):
            stream.flush()
    os._exit(EXIT_AT_ONCE_STATUS)
