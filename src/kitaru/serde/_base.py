"""The serialized-value record, the serializer protocol and type-path helpers.

A *type path* is ``"module:qualname"`` of a class, e.g. ``"builtins:int"``. It
is stored next to every serialized value so loading can rebuild the same type.

Example:
    >>> type_path_of(int)
    'builtins:int'
    >>> resolve_type("builtins:int") is int
    True
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from kitaru._sources import (
    current_script,
    import_trusted,
    is_main_module,
    is_script_module,
    lookup,
    main_module,
)
from kitaru._types import Record
from kitaru.errors import KitaruStateError

__all__ = [
    "SerializedValue",
    "Serializer",
    "remember_type",
    "resolve_type",
    "type_path_of",
]


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class SerializedValue(Record):
    """A value turned into bytes, with what is needed to load it back.

    Attributes:
        serializer: Registry name of the serializer that wrote ``data``
            (``"json"``, ``"pydantic"``, ``"pickle"``, ``"custom:..."``).
        type_path: ``"module:qualname"`` of the value's type.
        data: The encoded value.

    Example:
        >>> SerializedValue("json", "builtins:int", b"1").serializer
        'json'
    """

    serializer: str
    type_path: str
    data: bytes


@runtime_checkable
class Serializer(Protocol):
    """Turns values of some types into bytes and back.

    A serializer may also define ``visualize(value) -> str | bytes | None``,
    returning markdown, HTML or an image that a dashboard shows for the value;
    it is optional and looked up with ``getattr``.

    Example:
        >>> class Upper:
        ...     name = "upper"
        ...     def can_serialize(self, value: object) -> bool:
        ...         return isinstance(value, str)
        ...     def dumps(self, value: str) -> bytes:
        ...         return value.upper().encode()
        ...     def loads(self, data: bytes, type_path: str) -> str:
        ...         return data.decode()
        >>> isinstance(Upper(), Serializer)
        True
    """

    name: str

    def can_serialize(self, value: Any) -> bool:
        """Whether this serializer handles ``value``."""
        ...

    def dumps(self, value: Any) -> bytes:
        """Encode ``value``; raise any exception when it cannot."""
        ...

    def loads(self, data: bytes, type_path: str) -> Any:
        """Decode bytes written by :meth:`dumps` for a value of type ``type_path``."""
        ...


def type_path_of(cls: type) -> str:
    """Return ``"module:qualname"`` of a class.

    A class of a script (run as ``__main__``, or loaded by path in another
    process) gets the module ``__main__``: loading resolves it in the script of
    the value's execution.

    Example:
        >>> from collections import OrderedDict
        >>> type_path_of(OrderedDict)
        'collections:OrderedDict'
    """
    module = cls.__module__
    if is_script_module(module):
        module = "__main__"
    return f"{module}:{cls.__qualname__}"


# Classes whose values were serialized in this process, by type path. Loading
# looks here first, so classes that cannot be imported by path (defined inside
# a function, parametrized generics, redefined in a notebook) still load in the
# process that wrote them. Weak values: an unused class can be collected.
_known_types: weakref.WeakValueDictionary[str, type] = weakref.WeakValueDictionary()


def remember_type(cls: type) -> str:
    """Record ``cls`` so :func:`resolve_type` finds it in this process; return its path.

    Example:
        >>> remember_type(int)
        'builtins:int'
    """
    path = type_path_of(cls)
    if _known_types.get(path) is not cls:
        _known_types[path] = cls
    return path


def resolve_type(path: str) -> type:
    """Return the class named by a ``"module:qualname"`` type path.

    The module is imported only from a place this process trusts (see
    :mod:`kitaru._sources`). ``__main__`` means the script of the execution
    whose value is being loaded, when that is known (``deserialize(script=...)``),
    else this process's own ``__main__``.

    Raises:
        KitaruStateError: The path is malformed, the module cannot be imported (or
            is not trusted), or it has no such class.

    Example:
        >>> resolve_type("collections:OrderedDict").__name__
        'OrderedDict'
    """
    module_name, sep, qualname = path.partition(":")
    if not sep or not module_name or not qualname:
        raise KitaruStateError(f"Invalid type path {path!r}: expected 'module:qualname'.")
    what = f"the type {path}"
    if is_main_module(module_name):
        script = current_script()
        known = _known_types.get(path) if script is None else None
        if known is not None:
            return known
        module = main_module(module_name, what=what)
    else:
        known = _known_types.get(path)
        if known is not None:
            return known
        module = import_trusted(module_name, what=what, named_by="a stored value's type path")
    obj = lookup(module, qualname, what=what)
    if not isinstance(obj, type):
        raise KitaruStateError(f"The type path {path!r} names {type(obj).__name__!s}, not a class.")
    return obj
