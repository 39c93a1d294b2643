"""Runner identities and orphan detection, shared by the runtime and the client.

A runner id is ``host:pid:token``. A ``running`` (or held ``waiting``)
execution is orphaned when its runner is gone: on this host, when its process
no longer exists; elsewhere, when its heartbeat is older than the lease.
"""

from __future__ import annotations

import datetime as dt
import math
import os

from kitaru._types import ExecutionStatus, utcnow
from kitaru.errors import KitaruUsageError
from kitaru.records import ExecutionRecord

__all__ = [
    "heartbeat_seconds",
    "is_orphaned",
    "lease_seconds",
    "lease_settings",
    "new_runner_id",
    "pid_alive",
]


def _host_name() -> str:
    # The host name without loading socket: uname's node name is what gethostname() returns on POSIX.
    if hasattr(os, "uname"):
        return os.uname().nodename
    import socket

    return socket.gethostname()


_HOST = _host_name()


_DEFAULT_HEARTBEAT = 2.0
_DEFAULT_LEASE = 30.0
_HEARTBEAT_ENV = "KITARU_HEARTBEAT_SECONDS"
_LEASE_ENV = "KITARU_LEASE_SECONDS"
_parsed: dict[tuple[str, str], float] = {}


def _seconds(var: str, default: float) -> float:
    """The number of seconds set in ``var`` (the default when unset or empty), validated."""
    raw = os.environ.get(var)
    if raw is None or not raw.strip():
        return default
    value = _parsed.get((var, raw))
    if value is not None:
        return value
    try:
        value = float(raw.strip())
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise KitaruUsageError(
            f"environment variable {var}={raw!r} is not a number of seconds greater than 0. "
            f"Set it to a positive number (e.g. {default:g}), or unset it for the default of {default:g} s."
        )
    _parsed[(var, raw)] = value
    return value


def heartbeat_seconds() -> float:
    """How often a runner renews its lease (``KITARU_HEARTBEAT_SECONDS``, default 2).

    Raises:
        KitaruUsageError: The variable is not a finite number of seconds greater than 0.
    """
    return _seconds(_HEARTBEAT_ENV, _DEFAULT_HEARTBEAT)


def lease_seconds() -> float:
    """How old a heartbeat may be before its runner counts as gone (``KITARU_LEASE_SECONDS``, default 30).

    Raises:
        KitaruUsageError: The variable is not a finite number of seconds greater than 0.
    """
    return _seconds(_LEASE_ENV, _DEFAULT_LEASE)


def lease_settings() -> tuple[float, float]:
    """Return ``(heartbeat, lease)`` seconds for a runner, checked together: the lease must
    be at least twice the heartbeat interval, or one late beat would make a live runner
    look gone. A runner checks them before it starts anything.

    Raises:
        KitaruUsageError: Either variable is invalid, or the lease is too short for the heartbeat.
    """
    heartbeat, lease = heartbeat_seconds(), lease_seconds()
    if lease < 2 * heartbeat:

        def shown(var: str, value: float) -> str:
            return f"{var}={value:g}" if os.environ.get(var, "").strip() else f"{var}={value:g} (the default)"

        raise KitaruUsageError(
            f"{shown(_LEASE_ENV, lease)} must be at least twice {shown(_HEARTBEAT_ENV, heartbeat)}: "
            "a runner renews its lease once per heartbeat, and one late beat must not make it look gone. "
            f"Raise {_LEASE_ENV} or lower {_HEARTBEAT_ENV}."
        )
    return heartbeat, lease


def new_runner_id() -> str:
    """A new runner id for one run of an execution in this process."""
    return f"{_HOST}:{os.getpid()}:{os.urandom(6).hex()}"


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists on this host and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            state = stat.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


def is_orphaned(record: ExecutionRecord, *, now: dt.datetime | None = None) -> bool:
    """Whether the execution is held by a runner that is gone."""
    if record.status not in (ExecutionStatus.RUNNING, ExecutionStatus.WAITING, ExecutionStatus.PENDING):
        return False
    if record.runner_id is None:
        return False
    host, _, rest = record.runner_id.partition(":")
    pid_text = rest.partition(":")[0]
    if host == _HOST and pid_text.isdigit():
        return not pid_alive(int(pid_text))
    beat = record.heartbeat_at or record.updated_at
    return ((now or utcnow()) - beat).total_seconds() > lease_seconds()
