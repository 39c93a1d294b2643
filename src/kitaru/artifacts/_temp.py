"""The temporary files of blob writes, and removing those whose writer died.

A blob is written to ``root/.tmp/<host>-<pid>-<random>.tmp`` and then renamed
into place, so a writer killed mid-write leaves only such a file. ``<host>``
names this machine, boot and PID namespace: a file written under the same one
belongs to a process this one can see, and it is removed as soon as that
process is gone, whatever its age. A file of another host (or of an older
Kitaru, which wrote its temporary files beside the blobs) is removed only once
it has not been written to for a while. The file of a live writer is never
removed: a stopped or slow writer keeps its file.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> remove_stale(Path(tempfile.mkdtemp()) / TEMP_DIR, older_than=3600.0)
    0
"""

from __future__ import annotations

import functools
import os
import time
from pathlib import Path

from kitaru._leases import pid_alive
from kitaru._types import sha256_hex

__all__ = ["LEGACY_PREFIX", "SUFFIX", "TEMP_DIR", "is_temp_name", "remove_stale", "temp_name"]

#: The directory under the store's root that holds the files being written.
TEMP_DIR = ".tmp"
SUFFIX = ".tmp"
#: Older versions wrote ``.<name>.<random>.tmp`` beside the blob (keys are hex: a dot file is no blob).
LEGACY_PREFIX = "."


@functools.cache
def _this_host() -> str:
    """A short tag of this machine, boot and PID namespace: where a writer's PID means something."""
    parts = [os.uname().nodename if hasattr(os, "uname") else os.environ.get("COMPUTERNAME", "")]
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as boot:
            parts.append(boot.read().strip())
    except OSError:
        parts.append("")
    try:
        parts.append(os.readlink("/proc/self/ns/pid"))
    except OSError:
        parts.append("")
    return sha256_hex("\0".join(parts).encode())[:16]


def temp_name() -> str:
    """A new temporary file name for a write by this process."""
    return f"{_this_host()}-{os.getpid()}-{os.urandom(6).hex()}{SUFFIX}"


def is_temp_name(name: str) -> bool:
    """Whether a file name in a shard directory is an older version's temporary file."""
    return name.startswith(LEGACY_PREFIX) and name.endswith(SUFFIX)


def _local_writer(name: str) -> int | None:
    """The PID of the process that writes a file, when it ran on this host (else ``None``)."""
    host, _, rest = name.removesuffix(SUFFIX).partition("-")
    pid, _, _ = rest.partition("-")
    if host != _this_host() or not pid.isdigit():
        return None
    return int(pid)


def _is_stale(entry: os.DirEntry[str], cutoff: float) -> bool:
    pid = _local_writer(entry.name)
    if pid is not None:
        return not pid_alive(pid)  # a live writer keeps its file, however long it takes
    return entry.stat().st_mtime < cutoff


def remove_stale(
    directory: Path, *, older_than: float, limit: int | None = None, legacy: bool = False
) -> int:
    """Delete the temporary files in ``directory`` whose writer is gone; return how many.

    Args:
        directory: The temporary directory, or with ``legacy=True`` a shard directory.
        older_than: Seconds without a write after which the file of a writer this host
            cannot see (another machine, an older version) counts as abandoned.
        limit: Look at no more than this many entries (a bounded scan).
        legacy: Look only at older versions' dot files (age decides for them).

    Raises:
        OSError: The directory could not be listed (a missing one is empty).
    """
    cutoff = time.time() - older_than
    removed = 0
    try:
        entries = os.scandir(directory)
    except FileNotFoundError:
        return 0
    with entries:
        for seen, entry in enumerate(entries):
            if limit is not None and seen >= limit:
                break
            name = entry.name
            if not (is_temp_name(name) if legacy else name.endswith(SUFFIX)):
                continue
            try:
                stale = entry.stat().st_mtime < cutoff if legacy else _is_stale(entry, cutoff)
                if stale:
                    os.unlink(entry.path)
                    removed += 1
            except FileNotFoundError:  # renamed into place or removed by another process meanwhile
                continue
    return removed
