"""One codec between records (frozen dataclasses) and JSON values, for HTTP.

The server and the REST store exchange the records of :mod:`kitaru.records`
as JSON. :func:`to_wire` turns any record (or a list, tuple or dict of them)
into JSON values: datetimes as ISO 8601 text, ``bytes`` as base64 text, enums
as their values, tuples as lists. :func:`from_wire` reads them back into the
type it is given, driven by the dataclass's type hints, so a new record field
needs no new code here. Anything that does not fit the type is a
:class:`~kitaru.errors.KitaruUsageError` naming the field.

Example:
    >>> from kitaru.records import MemoryScope
    >>> import datetime as dt
    >>> scope = MemoryScope("flow", "agent", 2, 1, dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    >>> from_wire(MemoryScope, to_wire(scope)) == scope
    True
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import enum
import types
import typing
from collections.abc import Callable
from typing import Any, TypeVar

from kitaru.errors import KitaruUsageError

__all__ = ["from_wire", "to_wire"]

_T = TypeVar("_T")
_Decoder = Callable[[Any], Any]
_DECODERS: dict[Any, _Decoder] = {}
_PLAIN = (str, int, float, bool, type(None))
#: Exactly these types (not subclasses such as enums) are their own JSON form.
_EXACT_PLAIN = frozenset(_PLAIN)
#: The field names of each record class met so far (a record is written field by field).
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def to_wire(value: Any) -> Any:
    """Return ``value`` as JSON values (dicts, lists, text, numbers, booleans, ``None``)."""
    kind = type(value)
    if kind in _EXACT_PLAIN:
        return value
    names = _FIELD_NAMES.get(kind)
    if names is not None:
        return {name: to_wire(getattr(value, name)) for name in names}
    if isinstance(value, _PLAIN):
        return value.value if isinstance(value, enum.Enum) else value
    if isinstance(value, dict):
        return {str(key): to_wire(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_wire(item) for item in value]
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, enum.Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        names = _FIELD_NAMES[kind] = tuple(field.name for field in dataclasses.fields(value))
        return {name: to_wire(getattr(value, name)) for name in names}
    raise TypeError(f"{type(value).__name__} has no JSON form")


@typing.overload
def from_wire(kind: type[_T], value: Any, *, where: str = ...) -> _T: ...
@typing.overload
def from_wire(kind: Any, value: Any, *, where: str = ...) -> Any: ...
def from_wire(kind: Any, value: Any, *, where: str = "body") -> Any:
    """Return ``value`` (JSON values) as ``kind``; ``where`` names it in errors."""
    try:
        return _decoder(kind)(value)
    except _Misfit as misfit:
        path = where + "".join(misfit.path)
        raise KitaruUsageError(misfit.message.format(where=path)) from None


class _Misfit(Exception):
    """A value that does not fit; ``path`` grows as the error passes up through the records."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.path: list[str] = []

    def at(self, part: str) -> _Misfit:
        self.path.insert(0, part)
        return self


def _decoder(kind: Any) -> _Decoder:
    found = _DECODERS.get(kind)
    if found is None:
        found = _DECODERS[kind] = _build(kind)
    return found


def _bad(expected: str, value: Any) -> _Misfit:
    shown = repr(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return _Misfit(f"{{where}} must be {expected}, got {shown.replace('{', '{{').replace('}', '}}')}.")


def _build(kind: Any) -> _Decoder:
    if kind is Any:
        return lambda value: value
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(kind)
        others = [_decoder(arg) for arg in args if arg is not type(None)]
        return _union(others, kind, nullable=len(others) < len(args))
    if origin in (tuple, list):
        return _sequence(kind, origin)
    if origin is dict:
        item = _decoder(typing.get_args(kind)[1])

        def mapping(value: Any) -> Any:
            if not isinstance(value, dict):
                raise _bad("an object", value)
            decoded = {}
            for key, entry in value.items():
                try:
                    decoded[key] = item(entry)
                except _Misfit as misfit:
                    raise misfit.at(f".{key}") from None
            return decoded

        return mapping
    if dataclasses.is_dataclass(kind):
        return _record(kind)
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return _enum(kind)
    if kind is dt.datetime:
        return _datetime
    if kind is bytes:
        return _bytes
    if kind is type(None):
        return _none
    if kind in (str, int, float, bool, dict, list):
        return _plain(kind)
    raise TypeError(f"no wire decoder for {kind!r}")


def _union(options: list[_Decoder], kind: Any, *, nullable: bool) -> _Decoder:
    def union(value: Any) -> Any:
        if value is None and nullable:
            return None
        first: _Misfit | None = None
        for option in options:
            try:
                return option(value)
            except _Misfit as misfit:
                first = first or misfit
        # A record's own misfit says more than "one of ..." (an optional record given wrong).
        if first is not None and first.path:
            raise first
        raise _bad(f"one of {kind}", value)

    return union


def _sequence(kind: Any, origin: Any) -> _Decoder:
    args = typing.get_args(kind)
    if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
        fixed = [_decoder(arg) for arg in args]

        def fixed_tuple(value: Any) -> Any:
            if not isinstance(value, list) or len(value) != len(fixed):
                raise _bad(f"a list of {len(fixed)} items", value)
            return tuple(
                _item(item, entry, i) for i, (item, entry) in enumerate(zip(fixed, value, strict=True))
            )

        return fixed_tuple
    item = _decoder(args[0] if args else Any)

    def sequence(value: Any) -> Any:
        if not isinstance(value, list):
            raise _bad("a list", value)
        return origin(_item(item, entry, i) for i, entry in enumerate(value))

    return sequence


def _item(decode: _Decoder, entry: Any, index: int) -> Any:
    try:
        return decode(entry)
    except _Misfit as misfit:
        raise misfit.at(f"[{index}]") from None


def _record(kind: Any) -> _Decoder:
    hints = typing.get_type_hints(kind)
    fields = [(field.name, _decoder(hints[field.name])) for field in dataclasses.fields(kind) if field.init]
    known = frozenset(name for name, _ in fields)
    required = {
        field.name
        for field in dataclasses.fields(kind)
        if field.init
        and field.default is dataclasses.MISSING
        and field.default_factory is dataclasses.MISSING
    }

    def record(value: Any) -> Any:
        if not isinstance(value, dict):
            raise _bad(f"a {kind.__name__} object", value)
        if not required <= value.keys():
            missing = ", ".join(sorted(required - value.keys()))
            raise _Misfit(f"{{where}} lacks the field(s) {missing}.")
        if not value.keys() <= known:
            unknown = ", ".join(sorted(value.keys() - known))
            raise _Misfit(f"{{where}} has unknown field(s) {unknown}.")
        decoded = {}
        for name, decode in fields:
            if name in value:
                try:
                    decoded[name] = decode(value[name])
                except _Misfit as misfit:
                    raise misfit.at(f".{name}") from None
        return kind(**decoded)

    return record


def _enum(kind: type[enum.Enum]) -> _Decoder:
    names = ", ".join(str(member.value) for member in kind)

    def decode(value: Any) -> Any:
        try:
            return kind(value)
        except ValueError:
            raise _bad(f"one of {names}", value) from None

    return decode


def _datetime(value: Any) -> dt.datetime:
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)
    raise _bad("an ISO 8601 date and time", value)


def _bytes(value: Any) -> bytes:
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            pass
    raise _bad("base64 text", value)


def _none(value: Any) -> None:
    if value is not None:
        raise _bad("null", value)


def _plain(kind: type) -> _Decoder:
    def decode(value: Any) -> Any:
        if value.__class__ is kind:
            return value
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise _bad(f"a {kind.__name__}", value)
        return value

    return decode
