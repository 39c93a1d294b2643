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

import importlib
import weakref
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from kitaru.errors import KitaruStateError

__all__ = [
    "SerializedValue",
    "Serializer",
    "remember_type",
    "resolve_type",
    "type_path_of",
]


@dataclass(frozen=True, slots=True)
class SerializedValue:
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

    Example:
        >>> from collections import OrderedDict
        >>> type_path_of(OrderedDict)
        'collections:OrderedDict'
    """
    return f"{cls.__module__}:{cls.__qualname__}"


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

    Raises:
        KitaruStateError: The module cannot be imported or has no such class.

    Example:
        >>> resolve_type("collections:OrderedDict").__name__
        'OrderedDict'
    """
    known = _known_types.get(path)
    if known is not None:
        return known
    module_name, sep, qualname = path.partition(":")
    if not sep or not module_name or not qualname:
        raise KitaruStateError(f"Invalid type path {path!r}: expected 'module:qualname'.")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except Exception as exc:
        raise KitaruStateError(
            f"Cannot import the type {path!r} to load a value: {type(exc).__name__}: {exc}. "
            "Make sure the module that defines it is importable here (same code and "
            "dependencies as the process that saved the value), and that the class is "
            "defined at module level."
        ) from exc
    if not isinstance(obj, type):
        raise KitaruStateError(f"The type path {path!r} names {type(obj).__name__!s}, not a class.")
    return obj
