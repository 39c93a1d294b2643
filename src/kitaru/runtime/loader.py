"""Find a flow again from an execution's source reference.

Every flow registers itself here when it is defined, so a process that defined
it continues its executions directly. Another process loads it through
:mod:`kitaru._sources`, and only from a place it trusts (its project root, its
installed packages, ``KITARU_TRUSTED_PATHS``): a module by name, or, for a
script run as ``__main__``, the script's file as a module of its own (its
``if __name__ == "__main__":`` block does not run).
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any

from kitaru._sources import import_trusted, load_script, lookup, script_module_name
from kitaru.errors import KitaruStateError
from kitaru.records import SourceRef
from kitaru.runtime.engine import FlowEntry

__all__ = ["load_flow", "register_flow"]

_lock = threading.Lock()
_registry: dict[tuple[str, str], FlowEntry] = {}


def register_flow(target: FlowEntry) -> None:
    """Remember a flow defined in this process under its module and qualname."""
    func = target.func
    with _lock:
        _registry[(func.__module__, func.__qualname__)] = target


def _as_target(obj: Any, where: str) -> FlowEntry:
    target = getattr(obj, "_entry", None)
    if not isinstance(target, FlowEntry):
        raise KitaruStateError(f"{where} is not a Kitaru flow (found {type(obj).__name__}).")
    return target


def _defined_here(module: str, qualname: str, path: str | None) -> FlowEntry | None:
    """The flow when this process defined it: a script's flow only when it is that same script."""
    if module != "__main__" or path is None:
        return _registry.get((module, qualname))
    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    if isinstance(main_file, str) and os.path.realpath(main_file) == os.path.realpath(path):
        return _registry.get(("__main__", qualname))
    return _registry.get((script_module_name(path), qualname))


def load_flow(source: dict[str, Any], *, flow_name: str, exec_id: str | None = None) -> FlowEntry:
    """Return the flow of an execution, defined in this process or loaded from a trusted place.

    Raises:
        KitaruStateError: when the code cannot be found or is not trusted here
            (``CodeNotLoadable``), saying what was looked for and what to do.
    """
    ref = SourceRef.from_dict(source)
    module, qualname, path = ref.module, ref.qualname or flow_name, ref.path
    found = _defined_here(module, qualname, path)
    if found is not None:
        return found
    if "<locals>" in qualname:
        raise KitaruStateError(
            f"Flow {flow_name!r} was defined inside a function ({module}:{qualname}); only the process "
            "that defined it can continue its executions. Define flows at module level to continue "
            "them from another process."
        )
    what = f"flow {flow_name!r}"
    named_by = "the source reference of " + ("the execution" if exec_id is None else f"execution {exec_id}")
    if module == "__main__":
        if not path:
            raise KitaruStateError(
                f"Flow {flow_name!r} was defined in an interactive session; its code cannot be loaded "
                "by another process."
            )
        loaded = load_script(path, what=what, named_by=named_by)
        return _as_target(lookup(loaded, qualname, what=what), f"{path}:{qualname}")
    imported = import_trusted(module, what=f"{what} ({module}:{qualname})", named_by=named_by)
    return _as_target(lookup(imported, qualname, what=what), f"{module}:{qualname}")
