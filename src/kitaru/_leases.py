"""Runner identities and orphan detection, shared by the runtime and the client.

A runner renews a lease on the execution it runs: its heartbeat, every
``KITARU_HEARTBEAT_SECONDS``. An execution held by a runner (``running``,
``pending``, or ``waiting`` while its runner polls) is *orphaned* when its
runner is gone:

- its heartbeat is older than the lease (``KITARU_LEASE_SECONDS``), whatever
  else is known: a stopped or stalled process holds nothing (its writes are
  fenced off once another runner claims the execution);
- or, before that, when the runner is certainly dead: its process ran on this
  host, in this boot and in this PID namespace, and no process with its PID
  and its start time exists any more. Anything less certain (another
  namespace with the same host name, a runner id without these fields) waits
  for the lease.

A runner id reads ``host:pid:token:boot:pidns:start`` (see :class:`RunnerIdentity`);
ids of the older form ``host:pid:token`` count by their lease only.

Example:
    >>> identity = RunnerIdentity.parse("box:41:0123456789ab")
    >>> (identity.host, identity.pid, identity.boot)
    ('box', 41, '')
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import os

from kitaru._types import ExecutionStatus, Record, utcnow
from kitaru.errors import KitaruUsageError
from kitaru.records import ExecutionRecord

__all__ = [
    "RunnerIdentity",
    "heartbeat_seconds",
    "is_orphaned",
    "lease_seconds",
    "lease_settings",
    "new_runner_id",
    "pid_alive",
    "runner_gone",
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


@dataclasses.dataclass(frozen=True, slots=True, eq=False, repr=False)
class RunnerIdentity(Record):
    """What a runner id says about the process that runs an execution.

    ``boot`` (the first 16 hex digits of the kernel's boot id), ``pid_ns`` (the
    inode of the process's PID namespace) and ``start`` (its start time in
    clock ticks since boot, field 22 of ``/proc/PID/stat``) are empty where
    the system does not tell them, and in ids of the older ``host:pid:token`` form.

    Example:
        >>> str(RunnerIdentity("box", 41, "0123456789ab", "9f86d081884c7d65", "4026531836", "1234"))
        'box:41:0123456789ab:9f86d081884c7d65:4026531836:1234'
    """

    host: str
    pid: int
    token: str
    boot: str = ""
    pid_ns: str = ""
    start: str = ""

    def __str__(self) -> str:
        return f"{self.host}:{self.pid}:{self.token}:{self.boot}:{self.pid_ns}:{self.start}"

    @classmethod
    def parse(cls, runner_id: str) -> RunnerIdentity | None:
        """Read a runner id of either form; ``None`` when it is neither."""
        parts = runner_id.rsplit(":", 5)
        if len(parts) == 6 and _looks_new(parts):
            host, pid, token, boot, pid_ns, start = parts
            return cls(host, int(pid), token, boot, pid_ns, start)
        parts = runner_id.rsplit(":", 2)
        if len(parts) == 3 and parts[1].isdigit():
            return cls(parts[0], int(parts[1]), parts[2])
        return None

    @property
    def certain(self) -> bool:
        """Whether this host can say for sure that the process is gone: same host,
        same boot, same PID namespace, and the process's start time is known."""
        if not (self.boot and self.pid_ns and self.start):
            return False
        here = _this_process()
        return (self.host, self.boot, self.pid_ns) == (_HOST, here.boot, here.pid_ns)


def _looks_new(parts: list[str]) -> bool:
    _, pid, token, boot, pid_ns, start = parts
    return pid.isdigit() and bool(token) and all(not p or p.isalnum() for p in (boot, pid_ns, start))


@dataclasses.dataclass(frozen=True, slots=True, eq=False, repr=False)
class _Process(Record):
    pid: int
    boot: str
    pid_ns: str
    start: str


_this: _Process | None = None


def _this_process() -> _Process:
    """This process's boot, PID namespace and start time, read once per process (a forked
    child reads its own)."""
    global _this
    pid = os.getpid()
    known = _this
    if known is None or known.pid != pid:
        known = _this = _Process(pid, _boot_id(), _pid_namespace(), _start_time(pid))
    return known


def _boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as f:
            return f.read().strip().replace("-", "")[:16]
    except OSError:
        return ""


def _pid_namespace() -> str:
    try:
        link = os.readlink("/proc/self/ns/pid")  # "pid:[4026531836]"
    except OSError:
        return ""
    inode = link.rpartition("[")[2].rstrip("]")
    return inode if inode.isdigit() else ""


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of ``/proc/PID/stat`` after the command name (state first), or ``None``."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _start_time(pid: int) -> str:
    fields = _stat_fields(pid)
    # Field 22 of the line; the list starts at field 3 (the state).
    return fields[19] if fields is not None and len(fields) > 19 and fields[19].isdigit() else ""


def new_runner_id(token: str | None = None) -> str:
    """A new runner id for one run of an execution in this process.

    ``token`` (letters and digits) names the run instead of a random one: a runner that Ray
    restarts in a new process keeps its token, so it recognises the runs of its earlier
    processes.

    Example:
        >>> RunnerIdentity.parse(new_runner_id()).pid == os.getpid()
        True
    """
    here = _this_process()
    token = token or os.urandom(6).hex()
    return str(RunnerIdentity(_HOST, here.pid, token, here.boot, here.pid_ns, here.start))


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists in this PID namespace and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    fields = _stat_fields(pid)
    return fields is None or fields[0] not in ("Z", "X")


def runner_gone(runner_id: str) -> bool:
    """Whether the runner's process is certainly gone: only when :attr:`RunnerIdentity.certain`
    (same host, boot and PID namespace) and no live process has its PID and start time."""
    identity = RunnerIdentity.parse(runner_id)
    if identity is None or not identity.certain:
        return False
    if not pid_alive(identity.pid):
        return True
    return _start_time(identity.pid) not in ("", identity.start)  # the PID was reused


def is_orphaned(record: ExecutionRecord, *, now: dt.datetime | None = None) -> bool:
    """Whether the execution is held by a runner that is gone: its heartbeat is older than
    the lease, or its process is certainly dead (:func:`runner_gone`).

    Raises:
        KitaruUsageError: ``KITARU_LEASE_SECONDS`` is not valid.
    """
    if record.status not in (ExecutionStatus.RUNNING, ExecutionStatus.WAITING, ExecutionStatus.PENDING):
        return False
    if record.runner_id is None:
        return False
    beat = record.heartbeat_at or record.updated_at
    if ((now or utcnow()) - beat).total_seconds() > lease_seconds():
        return True
    return runner_gone(record.runner_id)
