"""A wait's type, described in JSON and rebuilt in another process.

A wait's type (``schema=`` of ``wait()``) is recorded as a small JSON
description (:func:`describe_type`), from which :func:`rebuild_type` makes the
same type where the answer is given: classes by type path, and ``list[...]``,
``dict[...]``, ``tuple[...]``, unions, ``Optional`` and ``Literal`` of JSON
values around them. Other forms (``Annotated``, constrained or generic
aliases, forward references) are not described: ``None``.

Example:
    >>> import datetime
    >>> describe_type(list[datetime.datetime])
    {'class': 'builtins:list', 'args': [{'class': 'datetime:datetime'}]}
    >>> rebuild_type(describe_type(int | None))
    typing.Optional[int]
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from typing import Any

from kitaru.errors import KitaruStateError
from kitaru.serde._base import resolve_type, type_path_of

__all__ = ["describe_type", "rebuild_type"]

_NONE = "builtins:NoneType"
_LITERALS = (str, int, bool)


class _NotDescribed(Exception):
    pass


def describe_type(tp: Any) -> dict[str, Any] | None:
    """A JSON description of ``tp`` that :func:`rebuild_type` turns back into it, or
    ``None`` when ``tp`` has a form that is not described."""
    try:
        return _describe(tp)
    except _NotDescribed:
        return None


def _describe(tp: Any) -> dict[str, Any]:
    if tp is None or tp is type(None):
        return {"class": _NONE}
    if tp is typing.Any:
        return {"any": True}
    origin = typing.get_origin(tp)
    if origin is None:
        if not isinstance(tp, type):
            raise _NotDescribed
        path = type_path_of(tp)
        if "<locals>" in path or "[" in path:  # defined in a function, or a parametrized generic model
            raise _NotDescribed
        return {"class": path}
    args = typing.get_args(tp)
    if origin is typing.Literal:
        if not all(a is None or type(a) in _LITERALS for a in args):
            raise _NotDescribed
        return {"literal": list(args)}
    if origin is typing.Union or origin is types.UnionType:
        return {"union": [_describe(a) for a in args]}
    if not isinstance(origin, type):
        raise _NotDescribed  # Annotated, ...
    if not args:  # a bare alias such as typing.List
        return {"class": _describe(origin)["class"]}
    described = [{"ellipsis": True} if a is Ellipsis else _describe(a) for a in args]
    return {"class": _describe(origin)["class"], "args": described}


def rebuild_type(ref: Mapping[str, Any]) -> Any:
    """Make the type a :func:`describe_type` description stands for, in this process.

    Raises:
        KitaruStateError: the description is malformed, or a class in it cannot be
            loaded here (:class:`~kitaru._sources.CodeNotLoadable`).
    """
    try:
        return _rebuild(ref)
    except KitaruStateError:
        raise
    except Exception as exc:
        raise KitaruStateError(
            f"The recorded type {ref!r} cannot be rebuilt: {type(exc).__name__}: {exc}"
        ) from exc


def _rebuild(ref: Any) -> Any:
    if not isinstance(ref, Mapping):
        raise TypeError("a type description is a JSON object")
    if ref.get("any"):
        return typing.Any
    if "literal" in ref:
        return typing.Literal[tuple(ref["literal"])]
    if "union" in ref:
        return typing.Union[tuple(_rebuild(a) for a in ref["union"])]  # noqa: UP007
    path = ref["class"]
    cls = type(None) if path == _NONE else resolve_type(path)
    args = ref.get("args")
    if not args:
        return cls
    return cls[tuple(Ellipsis if a == {"ellipsis": True} else _rebuild(a) for a in args)]  # type: ignore[index]
