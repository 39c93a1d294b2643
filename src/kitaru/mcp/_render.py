"""Values as a model reads them: text stays text, JSON-able values become JSON, anything else
its ``repr``; long ones are cut with a note saying how much was left out and how to see more."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

__all__ = ["DEFAULT_MAX_CHARS", "render_value"]

#: How many characters of a value a tool returns unless asked for more (``max_chars``).
DEFAULT_MAX_CHARS = 20_000


def _plain(value: Any) -> Any:
    """A JSON-able form of records, pydantic models and dataclasses; the value itself otherwise."""
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return value


def render_value(value: Any, *, max_chars: int = DEFAULT_MAX_CHARS) -> dict[str, Any]:
    """Return ``{"format", "text", "truncated"}`` (and ``"value"``, the JSON value itself, when it
    is JSON and shown whole; ``"note"`` when cut).

    ``format`` is ``"text"`` for a string, ``"json"`` for a JSON-able value, ``"bytes"`` for
    bytes (their size and first bytes in hex) and ``"repr"`` for anything else.

    Example:
        >>> render_value({"answer": 42})["text"]
        '{"answer": 42}'
        >>> render_value("x" * 50, max_chars=10)["note"]
        'Showing the first 10 of 50 characters; call again with a larger max_chars to see more.'
    """
    shown: Any = None
    if isinstance(value, str):
        kind, text = "text", value
    elif isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        kind, text = "bytes", f"{len(raw)} bytes: {raw[:64].hex()}" + ("…" if len(raw) > 64 else "")
    else:
        plain = _plain(value)
        try:
            text = json.dumps(plain, ensure_ascii=False, allow_nan=False)
            kind, shown = "json", plain
        except (TypeError, ValueError):
            kind, text = "repr", repr(value)
    rendered: dict[str, Any] = {"format": kind, "truncated": False}
    if len(text) > max_chars:
        rendered.update(
            text=text[:max_chars],
            truncated=True,
            note=(
                f"Showing the first {max_chars} of {len(text)} characters; call again with a larger "
                "max_chars to see more."
            ),
        )
        return rendered
    rendered["text"] = text
    if shown is not None:
        rendered["value"] = shown
    return rendered
