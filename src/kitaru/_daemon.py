"""``kitaru server start --detach`` / ``server stop`` / ``server status``: a local daemon.

A detached server is ``kitaru server start`` in a process of its own session, its output
going to ``server.log`` in the data directory, with ``server.json`` there saying where it
runs (pid, URL, store). One detached server per data directory; a port that answers
already is refused too.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kitaru._files import PRIVATE_FILE_MODE, make_private_dirs
from kitaru._types import Record
from kitaru.config import resolve_home
from kitaru.config._home import read_json, write_json
from kitaru.errors import KitaruBackendError, KitaruStateError

__all__ = ["DaemonState", "daemon_state", "start_daemon", "stop_daemon"]

_STATE = "server.json"
_LOG = "server.log"
#: Seconds ``start_daemon`` waits for the server to answer, and ``stop_daemon`` for it to end.
_START_WAIT = 60.0
_STOP_WAIT = 30.0


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class DaemonState(Record):
    """A detached server of a data directory: where it runs and whether it answers."""

    pid: int
    url: str
    store: str
    log: str
    started_at: str
    running: bool
    healthy: bool


def daemon_state(home: Path | None = None) -> DaemonState | None:
    """Return the detached server of the data directory, or ``None`` when none was started
    (a server that ended without ``kitaru server stop`` shows ``running=False``)."""
    home = home or resolve_home()
    found = read_json(home / _STATE, default=dict)
    if not found:
        return None
    try:
        pid, url = int(found["pid"]), str(found["url"])
        store, log, started_at = str(found["store"]), str(found["log"]), str(found["started_at"])
    except (KeyError, TypeError, ValueError):
        return None
    running = _alive(pid)
    return DaemonState(pid, url, store, log, started_at, running, running and _healthy(url))


def start_daemon(argv: list[str], *, host: str, port: int, store: str) -> DaemonState:
    """Start ``kitaru server start ARGV`` detached; return its state once it answers.

    Raises:
        KitaruStateError: a detached server of this data directory runs, or ``port`` is taken.
        KitaruBackendError: the server ended or did not answer in time (its log's end shown).
    """
    home = resolve_home()
    running = daemon_state(home)
    if running is not None and running.running:
        raise KitaruStateError(
            f"A Kitaru server of data directory {home} runs already (pid {running.pid}, {running.url}). "
            "See it with `kitaru server status`; stop it first with `kitaru server stop`."
        )
    if _port_taken(host, port):
        raise KitaruStateError(
            f"Port {port} on {host} is taken by another process. Pick another with --port, or stop "
            "what listens there."
        )
    log_path = home / _LOG
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}"
    command = [sys.executable, "-m", "kitaru", "server", "start", *argv]
    make_private_dirs(home)
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_FILE_MODE)
    try:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
        )
    finally:
        os.close(log)
    started_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    state = {"pid": process.pid, "url": url, "store": store, "log": str(log_path), "started_at": started_at}
    write_json(home / _STATE, state)
    deadline = time.monotonic() + _START_WAIT
    while process.poll() is None and not _healthy(url):
        if time.monotonic() > deadline:
            _end(process.pid)
            break
        time.sleep(0.1)
    if process.poll() is not None:
        (home / _STATE).unlink(missing_ok=True)
        raise KitaruBackendError(
            f"The Kitaru server did not start (exit code {process.returncode}); the end of {log_path}:\n"
            + _tail(log_path)
        )
    return DaemonState(process.pid, url, store, str(log_path), started_at, True, True)


def stop_daemon(home: Path | None = None) -> DaemonState | None:
    """Stop the detached server of the data directory (SIGTERM, then wait for it to end);
    return what ran, or ``None`` when nothing did.

    Raises:
        KitaruBackendError: it did not end in time.
    """
    home = home or resolve_home()
    state = daemon_state(home)
    if state is None:
        return None
    if state.running and not _end(state.pid):
        raise KitaruBackendError(
            f"The Kitaru server (pid {state.pid}) did not stop within {_STOP_WAIT:.0f} s of SIGTERM. "
            f"See {state.log}; end it with: kill -9 {state.pid}"
        )
    (home / _STATE).unlink(missing_ok=True)
    return state


def _end(pid: int) -> bool:
    """Send SIGTERM to ``pid`` and wait for it to end; whether it did."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + _STOP_WAIT
    while _alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _alive(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError):
        if os.waitpid(pid, os.WNOHANG)[0] == pid:  # our own child that ended
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            answered: Any = response.status
            return bool(answered == 200)
    except (urllib.error.URLError, OSError):
        return False


def _port_taken(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1" if host in ("0.0.0.0", "") else host, port)) == 0


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
