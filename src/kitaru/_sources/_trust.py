"""The places this process trusts to load code from, when a store row names it.

A store row names code: an execution's source reference (a script path or a
module), an artifact's type path, a wait's type. Loading it runs that code, and
a store may be shared, so code named by a row is loaded only from:

- the **project root**: the nearest directory holding a ``pyproject.toml`` or a
  ``.kitaru/`` directory, walking up from the current directory (without one,
  the current directory itself);
- the **installed code** of this Python: the standard library, site-packages
  and the directories that ``.pth`` files there add (editable installs), but
  not other ``sys.path`` entries such as ``PYTHONPATH``;
- an **allow-list**: ``KITARU_TRUSTED_PATHS`` (``os.pathsep``-separated; relative
  entries from the current directory) and ``trusted_paths`` (a list) in
  ``[tool.kitaru]`` of the nearest ``pyproject.toml`` (relative to that file).

Example:
    >>> from kitaru._sources import trusted_places
    >>> [label for _, label in trusted_places()][0]  # doctest: +SKIP
    'the project root'
"""

from __future__ import annotations

import functools
import os
import threading
from pathlib import Path
from typing import Any

from kitaru.errors import KitaruStateError, KitaruUsageError

__all__ = [
    "TRUSTED_PATHS_ENV",
    "CodeNotLoadable",
    "find_pyproject",
    "parse_trusted_paths",
    "project_root",
    "require_trusted_path",
    "tool_table",
    "trusted_by",
    "trusted_places",
]

#: Environment variable listing further places code may be loaded from (``os.pathsep``-separated).
TRUSTED_PATHS_ENV = "KITARU_TRUSTED_PATHS"
# What marks a project root: the project file, or the data directory `kitaru init` makes.
_ROOT_MARKERS = ("pyproject.toml", ".kitaru")


class CodeNotLoadable(KitaruStateError):
    """Code a stored record names cannot be loaded in this process: it is not found, not
    trusted here, or it failed to import. Another process (with that code, in its project)
    can load it: a retry there works, the data is not at fault."""


def find_pyproject(start: Path | None = None) -> Path | None:
    """Return the nearest ``pyproject.toml`` walking up from ``start`` (the current directory).

    Example:
        >>> find_pyproject()  # doctest: +SKIP
        PosixPath('/home/ada/project/pyproject.toml')
    """
    here = start or Path.cwd()
    for folder in (here, *here.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


_toml_lock = threading.Lock()
_toml_cache: dict[str, tuple[tuple[int, int], dict[str, Any]]] = {}


def tool_table(path: Path) -> dict[str, Any]:
    """Return ``[tool.kitaru]`` of the ``pyproject.toml`` at ``path`` (cached until it changes).

    A file that never mentions ``kitaru`` has no such table and is not parsed.

    Raises:
        KitaruUsageError: the file is not valid TOML, or the table is not a table.
    """
    stat = path.stat()
    stamp = (stat.st_mtime_ns, stat.st_size)
    cached = _toml_cache.get(str(path))
    if cached is not None and cached[0] == stamp:
        return cached[1]
    text = path.read_text(encoding="utf-8")
    if "kitaru" in text:
        import tomllib

        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise KitaruUsageError(f"{path} is not valid TOML: {exc}. Fix the file.") from None
        table = data.get("tool", {}).get("kitaru", {})
    else:  # no [tool.kitaru] in any spelling: nothing to parse (a few ms on every first run)
        table = {}
    if not isinstance(table, dict):
        raise KitaruUsageError(f"{path}: [tool.kitaru] must be a table, got {table!r}.")
    with _toml_lock:
        _toml_cache[str(path)] = (stamp, table)
    return table


def project_root(start: Path | None = None) -> Path:
    """The nearest directory holding ``pyproject.toml`` or ``.kitaru/``, walking up from
    ``start`` (the current directory); without one, ``start`` itself.

    Example:
        >>> project_root()  # doctest: +SKIP
        PosixPath('/home/ada/project')
    """
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if any((folder / marker).exists() for marker in _ROOT_MARKERS):
            return folder
    return here


def parse_trusted_paths(value: Any, *, source: str, base: Path) -> tuple[Path, ...]:
    """Validate an allow-list of trusted paths and return them resolved.

    ``value`` is an ``os.pathsep``-separated string (the environment) or a list of
    strings (``[tool.kitaru]``); relative entries are taken from ``base``. Every
    entry must name an existing file or directory.

    Raises:
        KitaruUsageError: naming ``source``, for a value of the wrong kind, an empty
            entry or a path that does not exist.

    Example:
        >>> parse_trusted_paths("/", source="KITARU_TRUSTED_PATHS", base=Path("/"))
        (PosixPath('/'),)
    """
    if isinstance(value, str):
        if not value.strip():
            return ()
        entries = value.split(os.pathsep)
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        entries = list(value)
    else:
        raise KitaruUsageError(f"{source}: trusted_paths must be a list of paths (strings), got {value!r}.")
    paths = []
    for entry in entries:
        if not entry.strip():
            raise KitaruUsageError(
                f"{source}={value!r} has an empty entry; list each trusted directory or file once, "
                f"separated by {os.pathsep!r} (an empty entry would be ambiguous)."
            )
        path = Path(entry.strip()).expanduser()
        resolved = (base / path if not path.is_absolute() else path).resolve()
        if not resolved.exists():
            raise KitaruUsageError(
                f"{source}: the trusted path {entry!r} does not exist ({resolved}). Fix or remove it."
            )
        paths.append(resolved)
    return tuple(paths)


@functools.cache
def _installed() -> tuple[str, ...]:
    """The directories of this Python's installed code (computed once per process)."""
    import site
    import sysconfig

    paths = sysconfig.get_paths()
    dirs = {paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib") if paths.get(key)}
    site_dirs = set(getattr(site, "getsitepackages", list)())
    if site.ENABLE_USER_SITE:
        site_dirs.add(site.getusersitepackages())
    site_dirs |= {paths[key] for key in ("purelib", "platlib") if paths.get(key)}
    dirs |= site_dirs
    for site_dir in site_dirs:
        dirs |= _pth_entries(site_dir)
    return tuple(sorted({os.path.realpath(d) for d in dirs}))


def _pth_entries(site_dir: str) -> set[str]:
    """The directories ``.pth`` files in ``site_dir`` add to ``sys.path`` (as ``site`` reads them)."""
    found: set[str] = set()
    try:
        names = sorted(n for n in os.listdir(site_dir) if n.endswith(".pth"))
    except OSError:
        return found
    for name in names:
        try:
            with open(os.path.join(site_dir, name), encoding="utf-8", errors="replace") as handle:
                lines = handle.read().splitlines()
        except OSError:
            continue
        for line in lines:
            if not line.strip() or line.startswith(("#", "import ", "import\t")):
                continue
            entry = os.path.join(site_dir, line.rstrip())
            if os.path.isdir(entry):
                found.add(entry)
    return found


def trusted_places() -> list[tuple[Path, str]]:
    """The places this process loads code from, each with what made it trusted.

    Raises:
        KitaruUsageError: ``KITARU_TRUSTED_PATHS`` or ``trusted_paths`` in
            ``[tool.kitaru]`` is invalid (naming which).
    """
    cwd = Path.cwd()
    places = [(project_root(cwd), "the project root")]
    env = os.environ.get(TRUSTED_PATHS_ENV)
    if env is not None:
        source = f"environment variable {TRUSTED_PATHS_ENV}"
        places += [(p, source) for p in parse_trusted_paths(env, source=source, base=cwd)]
    pyproject = find_pyproject(cwd)
    if pyproject is not None:
        table = tool_table(pyproject)
        listed = table.get("trusted_paths", table.get("trusted-paths"))
        if listed is not None:
            source = f"trusted_paths in [tool.kitaru] in {pyproject}"
            places += [(p, source) for p in parse_trusted_paths(listed, source=source, base=pyproject.parent)]
    places += [(Path(d), "the installed packages of this Python") for d in _installed()]
    return places


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def trusted_by(path: str | os.PathLike[str]) -> str | None:
    """Say which trusted place holds ``path`` (``None``: none does)."""
    real = os.path.realpath(path)
    for root, label in trusted_places():
        if _inside(real, os.path.realpath(root)):
            return label
    return None


def require_trusted_path(path: str | os.PathLike[str], *, what: str, named_by: str) -> None:
    """Raise :class:`CodeNotLoadable` unless ``path`` lies in a place this process trusts.

    ``what`` says what would be loaded (``"flow 'report'"``), ``named_by`` which
    record named it (``"the source reference of execution 0199…"``).
    """
    if trusted_by(path) is not None:
        return
    root = project_root()
    pyproject = find_pyproject() or root / "pyproject.toml"
    raise CodeNotLoadable(
        f"Refusing to load {what} from {os.fspath(path)} (named by {named_by}): it lies outside the "
        f"places this process trusts to load code from (the project root {root}, the installed "
        f"packages of this Python, and the paths in {TRUSTED_PATHS_ENV}), and loading it would run "
        f"its code. If you trust it, run this from its project directory, or add its directory to "
        f"{TRUSTED_PATHS_ENV} (separated by {os.pathsep!r}) or to trusted_paths in [tool.kitaru] "
        f"of {pyproject}."
    )
