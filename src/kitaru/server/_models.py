"""Pydantic models of the records, generated from their dataclasses, for the API's schema.

The records stay plain dataclasses (:mod:`kitaru.records`); :func:`wire_model` derives a
pydantic model from each, field by field, with the JSON form :mod:`kitaru._wire` gives it
(``bytes`` as base64 text, tuples as lists). FastAPI validates request bodies with these
models (a bad body is a 422 before any store is touched) and documents every body and
response in ``/openapi.json``; :func:`kitaru._wire.from_wire` then builds the records.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import types
import typing
from functools import cache
from typing import Any

import pydantic

from kitaru._wire import to_wire

__all__ = ["ErrorBody", "ErrorDetail", "wire_model", "wire_type"]


class ErrorDetail(pydantic.BaseModel):
    """What went wrong: the Kitaru error class and its message (as the local store says it)."""

    type: str
    message: str
    fields: dict[str, Any] = pydantic.Field(
        default_factory=dict, description="The error's attributes (e.g. a fenced write's epochs)."
    )


class ErrorBody(pydantic.BaseModel):
    """The body of every error response."""

    error: ErrorDetail


@cache
def wire_model(kind: type) -> type[pydantic.BaseModel]:
    """Return the pydantic model of the JSON form of the record class ``kind``."""
    hints = typing.get_type_hints(kind)
    fields: dict[str, Any] = {}
    for field in dataclasses.fields(kind):
        annotation = wire_type(hints[field.name])
        if field.default is not dataclasses.MISSING:
            fields[field.name] = (annotation, pydantic.Field(default=to_wire(field.default)))
        elif field.default_factory is not dataclasses.MISSING:
            fields[field.name] = (annotation, pydantic.Field(default_factory=field.default_factory))
        else:
            fields[field.name] = (annotation, ...)
    doc = (kind.__doc__ or kind.__name__).strip().split("\n\n")[0]
    model: type[pydantic.BaseModel] = pydantic.create_model(
        kind.__name__,
        __doc__=doc,
        __config__=pydantic.ConfigDict(extra="forbid"),
        **fields,
    )
    return model


def wire_type(kind: Any) -> Any:
    """Return the annotation of ``kind``'s JSON form (records as their wire models)."""
    origin = typing.get_origin(kind)
    args = typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        return typing.Union[tuple(wire_type(arg) for arg in args)]  # noqa: UP007 - built from parts
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return list[wire_type(args[0])]  # type: ignore[misc]
        # A pair as a list of its items (schema tools handle ``prefixItems`` unevenly).
        items: Any = list[typing.Union[tuple(wire_type(arg) for arg in args)]]  # type: ignore[misc]  # noqa: UP007
        return typing.Annotated[items, pydantic.Field(min_length=len(args), max_length=len(args))]
    if origin is list:
        return list[wire_type(args[0])]  # type: ignore[misc]
    if origin is dict:
        return dict[str, wire_type(args[1])]  # type: ignore[misc]
    if dataclasses.is_dataclass(kind) and isinstance(kind, type):
        return wire_model(kind)
    if kind is bytes:
        return typing.Annotated[str, pydantic.Field(json_schema_extra={"contentEncoding": "base64"})]
    if kind is int:
        # What the databases store (64-bit); a larger number is a 422, not a driver's overflow.
        return typing.Annotated[int, pydantic.Field(ge=-(2**63), le=2**63 - 1)]
    if kind in (dt.datetime, str, float, bool, type(None)) or kind is Any:
        return kind
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return kind
    raise TypeError(f"no wire type for {kind!r}")
