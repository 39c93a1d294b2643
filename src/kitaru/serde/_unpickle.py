"""Unpickling that imports what a pickle names by the rules of type paths.

A class or function a pickle names is imported only from a place this process
trusts, and ``__main__`` (or a script another process loaded) means the script
of the execution the value belongs to, as :func:`kitaru.serde.resolve_type`
does. Whether a pickle may be loaded at all is decided before (``deserialize``).

Example:
    >>> import pickle
    >>> load_pickle(pickle.dumps((1, 2)))
    (1, 2)
"""

from __future__ import annotations

import io
import pickle
import sys
from typing import Any

from kitaru._sources import import_trusted, is_main_module, lookup, main_module

__all__ = ["load_pickle"]


class _Unpickler(pickle.Unpickler):
    """Finds the classes and functions a pickle names by the rules of type paths."""

    def find_class(self, module: str, name: str) -> Any:
        what = f"{module}.{name} (named in a pickled value)"
        if is_main_module(module):
            return lookup(main_module(module, what=what), name, what=what)
        if module not in sys.modules:
            import_trusted(module, what=what, named_by="a stored pickle")
        return super().find_class(module, name)


def load_pickle(data: bytes) -> Any:
    """Unpickle ``data``, importing what it names only from trusted places."""
    return _Unpickler(io.BytesIO(data)).load()
