"""Stable content fingerprints of values, for cache keys of checkpoint arguments.

The fingerprint is the sha256 of a canonical, type-tagged encoding: a tuple
and a list differ, ``1``, ``1.0`` and ``True`` differ, and the order of dict
keys does not matter. Values that cannot be encoded canonically give ``None``,
and a call whose arguments have no fingerprint is never served from the cache.

Example:
    >>> fingerprint({"a": 1, "b": 2}) == fingerprint({"b": 2, "a": 1})
    True
    >>> fingerprint((1,)) == fingerprint([1])
    False
    >>> fingerprint(object()) is None
    True
"""

from __future__ import annotations

import sys
from enum import Enum
from typing import Any, Final

from kitaru._types import sha256_hex
from kitaru.serde._base import type_path_of
from kitaru.serde._registry import find_custom

__all__ = ["fingerprint"]

# Bump when the encoding changes, so old cache keys stop matching.
_VERSION: Final = "kitaru-fp1|"
_BYTES_INLINE: Final = 1024  # longer bytes are encoded by their own digest


class _Unsupported(Exception):
    """Raised inside the encoder when a value has no canonical encoding."""


def fingerprint(value: Any) -> str | None:
    """Return a stable sha256 hex digest of ``value``, or ``None`` if unsupported.

    Supported: JSON-native values, tuples, sets, bytes, enums, pydantic models
    (class path and dump), dataclasses (class path and fields), numpy arrays
    (dtype, shape, data) and values with a registered serializer, nested freely.

    Example:
        >>> len(fingerprint(((1, "a"), {})) or "")
        64
    """
    parts = [_VERSION]
    try:
        _encode(value, parts)
    except (_Unsupported, RecursionError):
        return None
    return sha256_hex("".join(parts).encode("utf-8", "surrogatepass"))


def _encode(value: Any, out: list[str]) -> None:
    # Every encoding is self-delimiting (a tag, then a length or a terminator),
    # so concatenating them is unambiguous.
    cls = type(value)
    if cls is str:
        out.append(f"s{len(value)}:{value}")
    elif cls is int:
        out.append(f"i{value:x};")
    elif cls is tuple or cls is list:
        out.append(f"{'t' if cls is tuple else 'l'}{len(value)}(")
        for item in value:
            _encode(item, out)
        out.append(")")
    elif cls is dict:
        out.append(f"d{len(value)}(")
        if value:
            _encode_items(value, out)
        out.append(")")
    elif value is None:
        out.append("N")
    elif cls is bool:
        out.append("T" if value else "F")
    elif cls is float:
        out.append(f"f{value.hex()};")
    else:
        _encode_other(value, cls, out)


def _encode_items(value: dict[Any, Any], out: list[str]) -> None:
    # Pairs in a canonical order: by key when all keys are str (the usual
    # case, and cheap), else by each pair's own encoding.
    for key in value:
        if type(key) is not str:
            out.extend(sorted(_encode_pair(k, v) for k, v in value.items()))
            return
    keys = sorted(value)
    for key in keys:
        out.append(f"s{len(key)}:{key}")
        _encode(value[key], out)


def _encode_pair(key: Any, value: Any) -> str:
    pair: list[str] = []
    _encode(key, pair)
    _encode(value, pair)
    return "".join(pair)


def _encode_one(value: Any) -> str:
    single: list[str] = []
    _encode(value, single)
    return "".join(single)


def _tagged_path(tag: str, cls: type) -> str:
    path = type_path_of(cls)
    return f"{tag}{len(path)}:{path}"


def _digest(data: bytes) -> str:
    return f"{len(data)}:{sha256_hex(data)};"


def _encode_other(value: Any, cls: type, out: list[str]) -> None:
    if cls is bytes or cls is bytearray:
        tag = "b" if cls is bytes else "y"
        if len(value) <= _BYTES_INLINE:
            out.append(f"{tag}{len(value)}:{value.hex()};")
        else:
            out.append(f"{tag.upper()}{_digest(value)}")
    elif cls is set or cls is frozenset:
        out.append(f"{'S' if cls is set else 'Z'}{len(value)}(")
        out.extend(sorted(_encode_one(item) for item in value))
        out.append(")")
    elif (custom := find_custom(cls)) is not None and custom.can_serialize(value):
        try:
            data = custom.dumps(value)
        except Exception as exc:
            raise _Unsupported from exc
        out.append(_tagged_path("x", cls))
        out.append(f"{len(custom.name)}:{custom.name}{_digest(bytes(data))}")
    elif isinstance(value, Enum):
        out.append(_tagged_path("e", cls))
        out.append(f"{len(value.name)}:{value.name}")
    else:
        _encode_library(value, cls, out)


def _encode_library(value: Any, cls: type, out: list[str]) -> None:
    pydantic_main = sys.modules.get("pydantic.main")
    if pydantic_main is not None and isinstance(value, pydantic_main.BaseModel):
        try:
            dumped = value.model_dump(mode="json")
        except Exception as exc:
            raise _Unsupported from exc
        out.append(_tagged_path("p", cls))
        _encode(dumped, out)
        return
    if hasattr(cls, "__dataclass_fields__") and not isinstance(value, type):
        import dataclasses

        fields = dataclasses.fields(value)
        out.append(_tagged_path("c", cls))
        out.append(f"{len(fields)}(")
        for field in fields:
            out.append(f"{len(field.name)}:{field.name}")
            _encode(getattr(value, field.name), out)
        out.append(")")
        return
    np = sys.modules.get("numpy")
    if np is not None and (cls is np.ndarray or isinstance(value, np.generic)):
        array = np.ascontiguousarray(value)
        if array.dtype.hasobject:
            raise _Unsupported
        descr = repr(array.dtype.descr)
        out.append(_tagged_path("n", cls))
        out.append(f"{len(descr)}:{descr}{array.shape!r}{_digest(array.tobytes())}")
        return
    raise _Unsupported
