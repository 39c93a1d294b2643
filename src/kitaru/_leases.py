"""Runner identities and orphan detection, shared by the runtime and the client.

A runner id is ``host:pid:token``. A ``running`` (or held ``waiting``)
execution is orphaned when its runner is gone: on this host, when its process
no longer exists; elsewhere, when its heartbeat is older than the lease.
"""

from __future__ import annotations

import datetime as dt
import os

from kitaru._types import ExecutionStatus, utcnow
from kitaru.records import ExecutionRecord

__all__ = ["heartbeat_seconds", "is_orphaned", "lease_seconds", "new_runner_id", "pid_alive"]


def _host_name() -> str:
    # The host name without loading socket: uname's node name is what gethostname() returns on POSIX.
    if hasattr(os, "uname"):
        return os.uname().nodename
    import socket

    return socket.gethostname()


_HOST = _host_name()


def heartbeat_seconds() -> float:
    """How often a runner renews its lease (``KITARU_HEARTBEAT_SECONDS``, default 2)."""
    return float(os.environ.get("KITARU_HEARTBEAT_SECONDS", "2"))


def lease_seconds() -> float:
    """How old a heartbeat may be before its runner counts as gone (``KITARU_LEASE_SECONDS``, default 30)."""
    return float(os.environ.get("KITARU_LEASE_SECONDS", "30"))


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
