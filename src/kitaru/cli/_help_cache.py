"""``kitaru --help`` without loading the command-line libraries, from a derived cache.

The root help page is rendered by cyclopts (which, with rich and attrs, costs
most of the start-up of ``kitaru --help``). The page depends only on the
command catalog, the installed Kitaru and cyclopts, and the output's width,
so the rendered text is kept in the user's cache directory under a key of
exactly those inputs: the bytes of the module that defines the catalog, the
Kitaru version, where cyclopts is installed and when, and the terminal
settings. Any change of them renders the page again. Only output to a pipe
or file is cached (a terminal gets rich's colours, rendered live).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["ROOT_HELP", "cache_path", "cached_root_help", "store_root_help"]

#: The command lines that ask for the root help page.
ROOT_HELP = (["--help"], ["-h"])


def _key() -> str | None:
    import hashlib
    import importlib.util

    from kitaru import __version__

    spec = importlib.util.find_spec("cyclopts")
    if spec is None or spec.origin is None:
        return None
    catalog = Path(__file__).with_name("_app.py")
    digest = hashlib.sha256()
    digest.update(catalog.read_bytes())
    digest.update(Path(__file__).read_bytes())
    origin = Path(spec.origin)
    for part in (__version__, str(origin), str(origin.stat().st_mtime_ns), sys.version):
        digest.update(part.encode() + b"\0")
    for descriptor in (0, 1, 2):  # rich takes the width of the first of these that is a terminal
        try:
            digest.update(f"size={tuple(os.get_terminal_size(descriptor))}\0".encode())
            break
        except (AttributeError, ValueError, OSError):
            continue
    for name in ("COLUMNS", "LINES", "TERM", "NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        digest.update(f"{name}={os.environ.get(name)}\0".encode())
    return digest.hexdigest()[:32]


def cache_path() -> Path | None:
    """Return the file that holds the root help page for the current inputs, ``None`` when none applies."""
    if sys.stdout.isatty():
        return None
    key = _key()
    if key is None:
        return None
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "kitaru" / f"root-help-{key}.txt"


def cached_root_help(tokens: list[str]) -> str | None:
    """Return the cached root help page when ``tokens`` ask for it and it is cached."""
    if tokens not in ROOT_HELP or os.environ.get("KITARU_NO_HELP_CACHE"):
        return None
    path = cache_path()
    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


def store_root_help(text: str) -> None:
    """Keep ``text`` (the root help page just rendered) for the next ``kitaru --help``."""
    path = cache_path()
    if path is None or not text:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(path)
    except OSError:
        pass  # a cache that cannot be written is only slower
