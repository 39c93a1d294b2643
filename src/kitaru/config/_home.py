"""The data directory and the small JSON files Kitaru keeps in it.

The data directory is ``KITARU_HOME`` when set, else a ``.kitaru/`` directory
found walking up from the current directory (made by ``kitaru init``), else the
user data directory. Besides the store (``kitaru.db``, ``artifacts/``) it holds
``config.json`` (stacks, the active stack, model aliases) and the encrypted
secrets. Files are written atomically (a temporary file renamed into place)
under an advisory lock, so a crash or a concurrent writer never leaves half a
file; reads are cached per process until the file changes. What Kitaru creates
here is private to the user (directories 0700, files 0600: see
:mod:`kitaru._files`), and a data directory that cannot be used (``KITARU_HOME``
naming a file, a directory this user may not write) is a ``KitaruUsageError``
that says which and what to do.

Example:
    >>> from kitaru.config._home import resolve_home
    >>> resolve_home()  # doctest: +SKIP
    PosixPath('/home/ada/project/.kitaru')
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import stat
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from kitaru._files import PRIVATE_FILE_MODE, make_private_dirs
from kitaru.errors import KitaruBackendError, KitaruError, KitaruUsageError

__all__ = [
    "CONFIG_FILE",
    "PROJECT_DIR",
    "home_source",
    "locked",
    "read_config",
    "read_json",
    "resolve_home",
    "update_config",
    "user_data_dir",
    "write_json",
]

#: The project-local data directory that ``kitaru init`` creates.
PROJECT_DIR = ".kitaru"
#: Stacks, the active stack and model aliases, inside the data directory.
CONFIG_FILE = "config.json"

_cache_lock = threading.Lock()
_cache: dict[str, tuple[tuple[int, int], Any]] = {}


def _project_dir() -> Path | None:
    cwd = Path.cwd()
    for folder in (cwd, *cwd.parents):
        candidate = folder / PROJECT_DIR
        if candidate.is_dir():
            return candidate
    return None


def resolve_home() -> Path:
    """Return the data directory: ``KITARU_HOME``, else a ``.kitaru/`` found walking up
    from the current directory, else the user data directory.

    Example:
        >>> resolve_home().name  # doctest: +SKIP
        '.kitaru'
    """
    env = os.environ.get("KITARU_HOME")
    if env:
        return _usable(Path(env).expanduser().resolve(), f"KITARU_HOME={env}")
    project = _project_dir()
    if project is not None:
        return project
    folder = user_data_dir()
    return _usable(folder, f"The user data directory {folder}")


def _usable(folder: Path, what: str) -> Path:
    """``folder`` when it is a directory or can become one (it is created when first written)."""
    try:
        mode = folder.stat().st_mode
    except FileNotFoundError:
        return folder
    except NotADirectoryError:
        problem = "is not a directory: a part of its path is a file"
    except OSError as exc:
        problem = f"cannot be used: {exc.strerror or exc}"
    else:
        if stat.S_ISDIR(mode):
            return folder
        problem = "is not a directory"
    raise KitaruUsageError(
        f"{what} {problem}. Kitaru keeps its data (executions, artifacts, settings) in a directory: "
        "set KITARU_HOME to a directory this user may write (it is created when missing), or run "
        "`kitaru init` in your project."
    )


def user_data_dir() -> Path:
    """Return the user data directory of Kitaru (platformdirs' ``user_data_dir``).

    On Linux it is computed here as platformdirs does (``$XDG_DATA_HOME/kitaru``,
    else ``~/.local/share/kitaru``), which spares loading platformdirs when a
    process starts; a test compares the two.
    """
    if sys.platform == "linux":
        base = os.environ.get("XDG_DATA_HOME", "").strip() or os.path.expanduser("~/.local/share")
        return Path(base) / "kitaru"
    import platformdirs

    return Path(platformdirs.user_data_dir("kitaru", appauthor=False))


def home_source() -> str:
    """Say why :func:`resolve_home` chose the data directory it returns.

    Example:
        >>> home_source()  # doctest: +SKIP
        'KITARU_HOME'
    """
    if os.environ.get("KITARU_HOME"):
        return "KITARU_HOME"
    project = _project_dir()
    if project is not None:
        return f"project directory (kitaru init) found at {project.parent}"
    return "user data directory"


def read_json(path: Path, *, default: Callable[[], Any]) -> Any:
    """Return the parsed JSON file at ``path`` (``default()`` when it does not exist).

    The parsed value is cached until the file's modification time or size changes;
    callers must not mutate it.

    Raises:
        KitaruUsageError: the file is not valid JSON (naming the file).
    """
    key = str(path)
    try:
        status = path.stat()
    except FileNotFoundError:
        return default()
    except OSError as exc:
        raise _unusable(path, exc, "read") from None
    stamp = (status.st_mtime_ns, status.st_size)
    cached = _cache.get(key)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise KitaruUsageError(
            f"{path} is not valid JSON ({exc.msg} at line {exc.lineno}). Fix or remove the file."
        ) from None
    except OSError as exc:
        raise _unusable(path, exc, "read") from None
    with _cache_lock:
        _cache[key] = (stamp, value)
    return value


def _unusable(path: Path, exc: OSError, action: str) -> KitaruError:
    """The error for a file of the data directory that cannot be read or written."""
    reason = exc.strerror or str(exc)
    if exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.EEXIST, errno.EISDIR):
        return KitaruBackendError(f"Cannot {action} {path}: {reason}. Check the disk, then try again.")
    return KitaruUsageError(
        f"Cannot {action} {path}: {reason}. The data directory {path.parent} ({home_source()}) must be a "
        "directory this user may read and write: fix its permissions, or set KITARU_HOME to "
        "another directory."
    )


def write_json(path: Path, value: Any, *, mode: int = PRIVATE_FILE_MODE) -> None:
    """Write ``value`` as JSON to ``path`` atomically (temporary file, fsync, rename).

    The file gets ``mode`` (the user's only, by default: a store URL may hold a password).

    Raises:
        KitaruUsageError: the directory cannot be created or written (naming it).
    """
    try:
        make_private_dirs(path.parent)
        _write_json(path, value, mode)
    except OSError as exc:
        raise _unusable(path, exc, "write") from None


def _write_json(path: Path, value: Any, mode: int) -> None:
    import tempfile

    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(value, handle, indent=2, sort_keys=True)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an advisory lock beside ``path`` (``path.lock``) for a read-modify-write.

    Raises:
        KitaruUsageError: the lock file cannot be created (naming it).
    """
    lock = path.with_name(path.name + ".lock")
    try:
        make_private_dirs(path.parent)
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, PRIVATE_FILE_MODE)
    except OSError as exc:
        raise _unusable(lock, exc, "create") from None
    handle = os.fdopen(fd, "r+b")
    try:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX: rely on the atomic rename alone
            yield
            return
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    finally:
        handle.close()


def _empty_config() -> dict[str, Any]:
    return {"version": 1}


def read_config(home: Path | None = None) -> dict[str, Any]:
    """Return the contents of ``config.json`` in the data directory (``{}``-like when missing).

    Example:
        >>> read_config().get("active_stack", "default")  # doctest: +SKIP
        'default'
    """
    path = (home or resolve_home()) / CONFIG_FILE
    value = read_json(path, default=_empty_config)
    if not isinstance(value, dict):
        raise KitaruUsageError(f"{path} must hold a JSON object; fix or remove the file.")
    return value


def update_config(change: Callable[[dict[str, Any]], Any], home: Path | None = None) -> Any:
    """Apply ``change`` to a copy of ``config.json`` under the lock and write it back.

    ``change`` mutates the dict it is given and may return a value, which is returned.
    """
    path = (home or resolve_home()) / CONFIG_FILE
    with locked(path):
        current = json.loads(json.dumps(read_config(path.parent)))  # a deep copy
        result = change(current)
        write_json(path, current)
    return result
