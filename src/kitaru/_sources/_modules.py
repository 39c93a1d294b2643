"""Loading the code a stored record names: modules, scripts, and what ``__main__`` means.

A module is imported only when each file that importing it runs lies in a
trusted place (:mod:`kitaru._sources._trust`); modules already imported are
used as they are. A script (a flow file run as ``python app.py``) is loaded
as a module named after its path (:func:`script_module_name`) and kept in
``sys.modules``, so its classes pickle and load like any module's; its
``if __name__ == "__main__":`` block does not run, and its directory is
appended to ``sys.path`` so its own imports of sibling modules work.

Types recorded as ``__main__:Foo`` belong to the script of the execution that
recorded them: while a value is loaded, :func:`scripts_from` says which script
that is, and :func:`main_module` finds its module (this process's own
``__main__`` when it is that script).

Example:
    >>> is_script_module(script_module_name("/tmp/app.py"))
    True
"""

from __future__ import annotations

import contextvars
import os
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from kitaru._sources._trust import CodeNotLoadable, require_trusted_path
from kitaru.records import SourceRef

__all__ = [
    "ScriptSource",
    "current_script",
    "import_trusted",
    "is_main_module",
    "is_script_module",
    "load_script",
    "lookup",
    "main_module",
    "script_module_name",
    "scripts_from",
    "source_script",
]

#: A script path, a callable returning one (looked up only when needed), or ``None``.
ScriptSource = str | Callable[[], str | None] | None

_PREFIX = "__kitaru_script_"
_locks_guard = threading.Lock()
_locks: dict[str, threading.RLock] = {}


def script_module_name(path: str) -> str:
    """The module name a script is loaded under: the same for one file in every process.

    Example:
        >>> script_module_name("/tmp/app.py").startswith("__kitaru_script_")
        True
    """
    import hashlib

    digest = hashlib.sha256(os.path.realpath(path).encode()).hexdigest()[:16]
    return f"{_PREFIX}{digest}__"


def is_script_module(name: str) -> bool:
    """Whether ``name`` is the module name of a script loaded by :func:`load_script`."""
    return name.startswith(_PREFIX) and name.endswith("__")


def is_main_module(name: str) -> bool:
    """Whether code of module ``name`` belongs to a script (``__main__`` or a loaded script)."""
    return name == "__main__" or is_script_module(name)


def source_script(source: Mapping[str, Any]) -> str | None:
    """The script path of a stored source reference whose flow was defined in a script.

    Example:
        >>> source_script({"module": "__main__", "qualname": "f", "path": "/p/app.py"})
        '/p/app.py'
        >>> source_script({"module": "app", "qualname": "f", "path": "/p/app.py"}) is None
        True
    """
    ref = SourceRef.from_dict(source)
    return ref.path if ref.module == "__main__" else None


def import_trusted(name: str, *, what: str, named_by: str) -> ModuleType:
    """Import module ``name`` when every file that runs for it lies in a trusted place.

    Each package on the way (``a``, ``a.b``, ``a.b.c``) is located before it is
    imported, and refused when its file is not trusted: its code never runs.

    Raises:
        CodeNotLoadable: the module is not importable here, not trusted, or its import failed.
    """
    module = sys.modules.get(name)
    if module is not None:
        return module
    import importlib
    import importlib.util

    parts = name.split(".")
    for end in range(1, len(parts) + 1):
        prefix = ".".join(parts[:end])
        if prefix in sys.modules:
            continue
        try:
            spec = importlib.util.find_spec(prefix)
        except Exception as exc:
            raise CodeNotLoadable(
                f"Cannot load {what}: looking up module {prefix!r} failed: {type(exc).__name__}: {exc}."
            ) from exc
        if spec is None:
            raise CodeNotLoadable(
                f"Cannot load {what}: no module named {prefix!r} can be imported in this process. Run "
                "this where the code that defines it is installed or importable (its project directory)."
            )
        if spec.has_location and spec.origin:  # built-in, frozen and namespace packages run no file
            require_trusted_path(spec.origin, what=what, named_by=named_by)
        try:
            importlib.import_module(prefix)
        except Exception as exc:
            raise CodeNotLoadable(
                f"Cannot load {what}: importing module {prefix!r} failed: {type(exc).__name__}: {exc}"
            ) from exc
    return sys.modules[name]


def _main_if(real: str) -> ModuleType | None:
    """This process's ``__main__`` when it is the script at ``real``."""
    main = sys.modules.get("__main__")
    main_file = getattr(main, "__file__", None)
    if isinstance(main_file, str) and os.path.realpath(main_file) == real:
        return main
    return None


def _ready(name: str) -> ModuleType | None:
    module = sys.modules.get(name)
    if module is None or getattr(module.__spec__, "_initializing", False):
        return None
    return module


def load_script(path: str, *, what: str, named_by: str | None) -> ModuleType:
    """Return the module of the script at ``path``, loading it once per process.

    ``named_by`` names the record that names the script (``None``: the user gave the
    path directly, e.g. ``kitaru run FILE``); a script a record names is loaded only
    from a trusted place. This process's own ``__main__`` is returned when it is
    that script.

    Raises:
        CodeNotLoadable: the script is not trusted, no longer exists, or raised.
    """
    real = os.path.realpath(path)
    main = _main_if(real)
    if main is not None:
        return main
    name = script_module_name(real)
    module = _ready(name)
    if module is not None:
        return module
    if named_by is not None:
        require_trusted_path(real, what=what, named_by=named_by)
    with _locks_guard:
        lock = _locks.setdefault(name, threading.RLock())
    with lock:
        module = sys.modules.get(name)  # loaded meanwhile, or being loaded by this thread
        if module is not None:
            return module
        return _exec_script(path, real, name, what=what)


def _exec_script(path: str, real: str, name: str, *, what: str) -> ModuleType:
    import importlib.util

    if not os.path.isfile(real):
        raise CodeNotLoadable(f"Cannot load {what}: its script {path} no longer exists.")
    spec = importlib.util.spec_from_file_location(name, real)
    if spec is None or spec.loader is None:
        raise CodeNotLoadable(f"Cannot load {what}: {path} is not a Python file.")
    module = importlib.util.module_from_spec(spec)
    folder = os.path.dirname(real)
    if folder not in sys.path:
        sys.path.append(folder)  # as `python FILE` finds its sibling modules (appended: shadows nothing)
    spec._initializing = True  # type: ignore[attr-defined]  # as importlib marks a module being loaded
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:
        sys.modules.pop(name, None)
        if isinstance(exc, Exception):
            raise CodeNotLoadable(
                f"Cannot load {what}: running its script {path} failed: {type(exc).__name__}: {exc}"
            ) from exc
        raise
    finally:
        spec._initializing = False  # type: ignore[attr-defined]
    return module


def lookup(module: ModuleType, qualname: str, *, what: str) -> Any:
    """Return the object at ``qualname`` (``Outer.Inner``) in ``module``.

    Raises:
        CodeNotLoadable: it was defined inside a function, or the module has no such name.
    """
    if "<locals>" in qualname:
        raise CodeNotLoadable(
            f"Cannot load {what}: it was defined inside a function ({qualname}); only the process that "
            "defined it can load it. Define it at module level."
        )
    obj: Any = module
    try:
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except AttributeError:
        where = getattr(module, "__file__", None) or module.__name__
        raise CodeNotLoadable(
            f"Cannot load {what}: {where} defines no {qualname!r}. The code changed since it was "
            "recorded, or this process loaded other code under that name."
        ) from None
    return obj


class _Script:
    """The script that ``__main__`` means for the values being loaded (looked up once)."""

    __slots__ = ("_path", "_source", "named_by")

    def __init__(self, source: str | Callable[[], str | None], named_by: str) -> None:
        self._source = source
        self._path: str | bool | None = False  # False: not looked up yet
        self.named_by = named_by

    def path(self) -> str | None:
        if self._path is False:
            self._path = self._source if isinstance(self._source, str) else self._source()
        return self._path  # type: ignore[return-value]


_current: contextvars.ContextVar[_Script | None] = contextvars.ContextVar("kitaru_script", default=None)


@contextmanager
def scripts_from(source: ScriptSource, *, named_by: str) -> Iterator[None]:
    """Within the block, ``__main__`` in a type path or a pickle means the script ``source``.

    ``named_by`` says which record names that script (for error messages).
    """
    if source is None:
        yield
        return
    token = _current.set(_Script(source, named_by))
    try:
        yield
    finally:
        _current.reset(token)


def current_script() -> str | None:
    """The script :func:`scripts_from` names here, if any."""
    script = _current.get()
    return None if script is None else script.path()


def main_module(name: str, *, what: str) -> ModuleType:
    """The module that ``name`` (``__main__`` or a loaded script's module name) means here.

    A loaded script's module is itself when this process loaded it; otherwise the
    script :func:`scripts_from` names (loaded if needed, from a trusted place);
    without one, ``__main__`` is this process's own.

    Raises:
        CodeNotLoadable: the script cannot be loaded, or nothing says which script it is.
    """
    if is_script_module(name):
        loaded = sys.modules.get(name)
        if loaded is not None:
            return loaded
    script = _current.get()
    path = None if script is None else script.path()
    if script is not None and path is not None:
        return load_script(path, what=what, named_by=script.named_by)
    if name == "__main__":
        return sys.modules["__main__"]
    raise CodeNotLoadable(
        f"Cannot load {what}: it is defined in a script that another process loaded ({name}), and "
        "nothing names that script here. Load the value through its execution (kitaru.load() or "
        "KitaruClient), whose source reference names the script."
    )
