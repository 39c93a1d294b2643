"""Find a flow again from an execution's source reference.

Every flow registers itself here when it is defined, so a process that defined
it continues its executions directly. Another process imports it: by module
and qualname, or, for a script run as ``__main__``, by running the script's
file under another name (so its ``if __name__ == "__main__":`` block does not
run).
"""

from __future__ import annotations

import importlib
import threading
from typing import Any

from kitaru.errors import KitaruStateError
from kitaru.records import SourceRef
from kitaru.runtime.engine import FlowEntry

__all__ = ["load_flow", "register_flow"]

_lock = threading.Lock()
_registry: dict[tuple[str, str], FlowEntry] = {}
_scripts: dict[str, dict[str, Any]] = {}
SCRIPT_MODULE = "__kitaru_main__"


def register_flow(target: FlowEntry) -> None:
    """Remember a flow defined in this process under its module and qualname."""
    func = target.func
    with _lock:
        _registry[(func.__module__, func.__qualname__)] = target


def _lookup(namespace: Any, qualname: str) -> Any:
    obj = namespace
    for part in qualname.split("."):
        obj = obj[part] if isinstance(obj, dict) else getattr(obj, part)
    return obj


def _as_target(obj: Any, where: str) -> FlowEntry:
    target = getattr(obj, "_entry", None)
    if not isinstance(target, FlowEntry):
        raise KitaruStateError(f"{where} is not a Kitaru flow (found {type(obj).__name__}).")
    return target


def load_flow(source: dict[str, Any], *, flow_name: str) -> FlowEntry:
    """Return the flow of an execution, defined in this process or imported.

    Raises:
        KitaruStateError: when the code cannot be found, saying what was looked for.
    """
    ref = SourceRef.from_dict(source)
    module, qualname, path = ref.module, ref.qualname or flow_name, ref.path
    found = _registry.get((module, qualname))
    if found is None and module == "__main__":
        found = _registry.get((SCRIPT_MODULE, qualname))
    if found is not None:
        return found
    if "<locals>" in qualname:
        raise KitaruStateError(
            f"Flow {flow_name!r} was defined inside a function ({module}:{qualname}); only the process "
            "that defined it can continue its executions. Define flows at module level to continue "
            "them from another process."
        )
    if module == "__main__":
        if not path:
            raise KitaruStateError(
                f"Flow {flow_name!r} was defined in an interactive session; its code cannot be loaded "
                "by another process."
            )
        namespace = _run_script(path, flow_name)
        return _as_target(_lookup(namespace, qualname), f"{path}:{qualname}")
    try:
        imported = importlib.import_module(module)
        obj = _lookup(imported, qualname)
    except (ImportError, AttributeError, KeyError) as exc:
        raise KitaruStateError(
            f"Cannot load flow {flow_name!r} from {module}:{qualname}: {exc}. Run this from the project "
            "whose code defines the flow (with it on the import path)."
        ) from exc
    return _as_target(obj, f"{module}:{qualname}")


def _run_script(path: str, flow_name: str) -> dict[str, Any]:
    import runpy

    with _lock:
        cached = _scripts.get(path)
    if cached is not None:
        return cached
    try:
        namespace = runpy.run_path(path, run_name=SCRIPT_MODULE)
    except FileNotFoundError as exc:
        raise KitaruStateError(
            f"Cannot load flow {flow_name!r}: its script {path} no longer exists."
        ) from exc
    with _lock:
        _scripts[path] = namespace
    return namespace
