"""Reading what users give the client as text: JSON values and answers to pending waits.

Both are read the strict way (:mod:`kitaru._strict_json`): ``NaN`` and
``Infinity`` are refused, as no JSON reader but Python's takes them.

Example:
    >>> parse_json_text('{"topic": "agents"}', what="--args")
    {'topic': 'agents'}
"""

from __future__ import annotations

import json
from typing import Any

from kitaru._answers import validate_answer
from kitaru._strict_json import NonFiniteNumberError, loads_strict
from kitaru.errors import KitaruUsageError

__all__ = ["parse_json_text", "validate_answer"]


def parse_json_text(text: str, *, what: str) -> Any:
    """Return the value of the JSON ``text``; ``what`` names where it came from in errors.

    Raises:
        KitaruUsageError: ``text`` is not JSON, or holds ``NaN``/``Infinity`` (the message
            starts with ``"{what} is not valid JSON"`` and says why).

    Example:
        >>> parse_json_text("[1, NaN]", what="--args")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        kitaru.errors.KitaruUsageError: --args is not valid JSON: NaN is not a JSON value ...
    """
    try:
        return loads_strict(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}" if exc.lineno > 1 else f"column {exc.colno}"
        raise KitaruUsageError(f"{what} is not valid JSON ({exc.msg} at {where}).") from None
    except NonFiniteNumberError as exc:
        raise KitaruUsageError(f"{what} is not valid JSON: {exc}.") from None
