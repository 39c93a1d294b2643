"""Reading JSON that people type or pipe in: standard JSON only.

Python's :mod:`json` reads ``NaN``, ``Infinity`` and ``-Infinity`` (and turns
``1e999`` into infinity), none of which is JSON: a value holding one cannot be
shown by a JSON schema form, stored as PostgreSQL ``jsonb`` or read back by
another JSON reader. Every place a user gives Kitaru JSON text (the CLI's
``--args``, ``--value`` and ``--overrides``, and answers typed at a wait's
prompt) reads it with :func:`loads_strict`.

Example:
    >>> loads_strict('{"n": 1.5}')
    {'n': 1.5}
    >>> loads_strict("NaN")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    kitaru._strict_json.NonFiniteNumberError: NaN is not a JSON value (JSON has no NaN ...
"""

from __future__ import annotations

import json
import math
from typing import Any

__all__ = ["NonFiniteNumberError", "loads_strict"]


class NonFiniteNumberError(ValueError):
    """JSON text held ``NaN``, ``Infinity``, ``-Infinity`` or a number too large for a float."""

    def __init__(self, token: str) -> None:
        self.token = token
        if token in ("NaN", "Infinity", "-Infinity"):
            what = f"{token} is not a JSON value (JSON has no NaN or Infinity)"
        else:
            what = f"{token} is too large for a number (it would become infinity)"
        super().__init__(f"{what}; use a finite number or null")


def _constant(token: str) -> Any:
    raise NonFiniteNumberError(token)


def _finite(token: str) -> float:
    value = float(token)
    if not math.isfinite(value):
        raise NonFiniteNumberError(token)
    return value


def loads_strict(text: str | bytes) -> Any:
    """Parse JSON text, refusing what standard JSON does not have.

    Raises:
        json.JSONDecodeError: ``text`` is not JSON.
        NonFiniteNumberError: ``text`` holds ``NaN``, ``Infinity``, ``-Infinity`` or a
            number that overflows a float.

    Example:
        >>> loads_strict("[1, 2.5, null]")
        [1, 2.5, None]
    """
    return json.loads(text, parse_constant=_constant, parse_float=_finite)
