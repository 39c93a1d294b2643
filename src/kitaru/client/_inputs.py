"""Checking answers to pending waits against their JSON schema."""

from __future__ import annotations

import json
from typing import Any

from kitaru.errors import KitaruWaitValidationError

__all__ = ["validate_answer"]


def validate_answer(schema: dict[str, Any] | None, value: Any, *, wait_name: str) -> None:
    """Raise ``KitaruWaitValidationError`` when ``value`` does not fit the wait's JSON schema.

    A wait without a schema (a continue/abort gate) takes any value.
    """
    if schema is None:
        return
    import jsonschema

    try:
        jsonschema.validate(value, schema)
    except jsonschema.ValidationError as exc:
        raise KitaruWaitValidationError(
            f"Input for wait {wait_name!r} does not match its schema: {exc.message}. "
            f"Expected: {json.dumps(schema)}. Nothing was recorded; the execution still waits."
        ) from None
    except jsonschema.SchemaError as exc:  # pragma: no cover - schemas come from pydantic
        raise KitaruWaitValidationError(f"Wait {wait_name!r} has an unusable schema: {exc.message}") from None
