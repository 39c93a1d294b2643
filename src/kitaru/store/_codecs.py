"""The conversions between stored values and Python values, without SQLAlchemy.

The SQL schema's column types (:mod:`kitaru.store.schema`) hand these
functions to SQLAlchemy, and the SQLite statements compiled ahead of time
(:mod:`kitaru.store.sql._sqlite_plans`) run them directly, so both paths convert
values with the same code. :data:`BIND` and :data:`RESULT` name them for the
compiled plans; a test checks that every name matches SQLAlchemy's own
conversion of that type.

Example:
    >>> json_bind({"a": [1, 2]})
    '{"a":[1,2]}'
    >>> json_result("[]")
    []
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

__all__ = [
    "BIND",
    "RESULT",
    "bool_bind",
    "bool_result",
    "json_bind",
    "json_result",
    "sqlite_bind_timestamp",
    "sqlite_result_timestamp",
]

_UTC = dt.UTC
# One encoder instance: json.dumps with options would build a new one per value.
_encode_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
# The decoder's scanner (set in its constructor, not declared by the stubs).
_scan_json: Callable[[str, int], tuple[Any, int]] = getattr(json.JSONDecoder(), "scan_once")  # noqa: B009
_EMPTY_JSON: dict[type, str] = {dict: "{}", list: "[]", tuple: "[]"}


def sqlite_bind_timestamp(value: dt.datetime | None) -> str | None:
    """Return ``value`` as naive UTC text, ``YYYY-MM-DD HH:MM:SS.ffffff`` (SQLite's timestamps)."""
    if value is None:
        return None
    if value.__class__ is dt.datetime and value.tzinfo is _UTC:
        # The common case (``utcnow()``), without asking for the offset.
        return value.isoformat(" ", "microseconds")[:26]
    if not isinstance(value, dt.datetime):
        raise TypeError(f"expected a datetime, got {type(value).__name__}")
    offset = value.utcoffset()
    if offset is None:
        return value.isoformat(" ", "microseconds")
    if offset:
        value = value.astimezone(_UTC)
    # Drop the "+00:00" suffix: "YYYY-MM-DD HH:MM:SS.ffffff" is 26 characters.
    return value.isoformat(" ", "microseconds")[:26]


def sqlite_result_timestamp(value: str | None) -> dt.datetime | None:
    """Return a SQLite timestamp (naive UTC text) as an aware UTC datetime."""
    if value is None:
        return None
    # Parsing the zone is faster than replacing it afterwards.
    return dt.datetime.fromisoformat(value + "+00:00")


def json_bind(value: Any) -> str | None:
    """Serialize ``value`` to compact JSON text; ``None`` stays ``None`` (SQL ``NULL``)."""
    if value is None:
        return None
    if not value and type(value) in _EMPTY_JSON:
        return _EMPTY_JSON[type(value)]
    return _encode_json(value)


def json_result(value: str | None) -> Any:
    """Parse JSON text written by :func:`json_bind`."""
    if value is None:
        return None
    if value == "{}":
        return {}
    if value == "[]":
        return []
    try:
        # The scanner alone: text written here has no surrounding whitespace to skip.
        return _scan_json(value, 0)[0]
    except StopIteration:
        return json.loads(value)


def bool_bind(value: Any) -> int | None:
    """Return a boolean as the integer SQLite stores; anything but a boolean is a ``TypeError``."""
    if value is None:
        return None
    if value not in (True, False):
        raise TypeError(f"Not a boolean value: {value!r}")
    return int(value)


def bool_result(value: Any) -> bool | None:
    """Return a stored integer as a boolean."""
    return None if value is None else value == 1


#: Conversions of bound values by the name the compiled plans use.
BIND: dict[str, Callable[[Any], Any]] = {
    "timestamp": sqlite_bind_timestamp,
    "json": json_bind,
    "bool": bool_bind,
}
#: Conversions of result values by the name the compiled plans use.
RESULT: dict[str, Callable[[Any], Any]] = {
    "timestamp": sqlite_result_timestamp,
    "json": json_result,
    "bool": bool_result,
}
