"""Checking an answer against its wait's JSON schema: the part every surface shares.

The JSON schema is stored with the wait, so this check needs no user code: the client,
the CLI, the runner's prompt and the server (which runs no user code) all make it, with
the same messages. Checking with the wait's own Python type, which needs its code, is
:mod:`kitaru._answers`.

Example:
    >>> validate_answer({"type": "integer"}, 3, wait_name="count")
    >>> validate_answer(None, "anything", wait_name="gate")
"""

from __future__ import annotations

import functools
import json
from typing import Any, Final

from kitaru.errors import KitaruWaitValidationError

__all__ = [
    "CHECKED_BY_SCHEMA",
    "CHECKED_BY_TYPE",
    "describe_validation_error",
    "validate_answer",
]

#: ``checked`` of an answer checked with the wait's own type.
CHECKED_BY_TYPE: Final = "type"
#: ``checked`` of an answer checked only against the JSON schema (the type could not be loaded).
CHECKED_BY_SCHEMA: Final = "schema"


@functools.cache
def _format_checker() -> Any:
    """JSON schema formats checked as pydantic parses them (``date-time`` as a ``datetime``...)."""
    import datetime
    import ipaddress
    import uuid

    import jsonschema
    from pydantic import TypeAdapter, ValidationError

    checker = jsonschema.FormatChecker()
    types: dict[str, Any] = {
        "date-time": datetime.datetime,
        "date": datetime.date,
        "time": datetime.time,
        "duration": datetime.timedelta,
        "uuid": uuid.UUID,
        "ipv4": ipaddress.IPv4Address,
        "ipv6": ipaddress.IPv6Address,
    }
    for name, tp in types.items():
        adapter = TypeAdapter(tp)

        def check(value: object, adapter: Any = adapter) -> bool:
            if isinstance(value, str):  # a format constrains strings only
                adapter.validate_python(value)
            return True

        checker.checks(name, raises=ValidationError)(check)
    return checker


def validate_answer(schema: dict[str, Any] | None, value: Any, *, wait_name: str) -> None:
    """Raise ``KitaruWaitValidationError`` when ``value`` does not match the wait's JSON schema.

    A wait without a schema (a continue/abort gate) takes any value. This is the
    one check of every answer, whichever surface gives it.
    """
    if schema is None:
        return
    import jsonschema

    try:
        jsonschema.validate(value, schema, format_checker=_format_checker())
    except jsonschema.ValidationError as exc:
        raise KitaruWaitValidationError(
            f"Input for wait {wait_name!r} does not match its schema: {exc.message}. "
            f"Expected: {json.dumps(schema)}. Nothing was recorded; the execution still waits."
        ) from None
    except jsonschema.SchemaError as exc:  # pragma: no cover - schemas come from pydantic
        raise KitaruWaitValidationError(f"Wait {wait_name!r} has an unusable schema: {exc.message}") from None


def describe_validation_error(exc: Exception) -> str:
    """One line per problem of a pydantic ``ValidationError`` (``field: message``)."""
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return str(exc)
    parts = []
    for error in errors():
        where = ".".join(str(p) for p in error.get("loc", ())) or "value"
        parts.append(f"{where}: {error.get('msg')}")
    return "; ".join(parts) or str(exc)
