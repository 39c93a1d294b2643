"""A registered serializer's ``visualize()`` output, computed when a value is saved.

The dashboard shows values without running user code (the server never imports it),
so the runner asks the value's serializer for a picture of it when it stores the value,
and the picture travels in the artifact's metadata under ``{"kitaru": {"visualization":
...}}``. What ``visualize(value)`` may return:

- a ``str``: HTML when it starts with a tag (``<``), markdown otherwise;
- ``bytes``: an image (PNG, JPEG, GIF or WebP, recognized by its first bytes);
- ``None``: nothing to show.

Example:
    >>> describe_visualization("**bold**")
    {'media_type': 'text/markdown', 'text': '**bold**'}
    >>> describe_visualization("<b>bold</b>")["media_type"]
    'text/html'
"""

from __future__ import annotations

import base64
from typing import Any, Final

from kitaru.serde._base import SerializedValue
from kitaru.serde._builtin import BUILTIN_SERIALIZERS
from kitaru.serde._registry import get_serializer

__all__ = ["MAX_VISUALIZATION_BYTES", "describe_visualization", "image_type", "visualization"]

#: The largest visualization kept (its text as UTF-8, or its image bytes); a larger one is
#: recorded by its size only.
MAX_VISUALIZATION_BYTES: Final = 256 * 1024

_BUILTIN_NAMES: Final = frozenset(s.name for s in BUILTIN_SERIALIZERS)
_IMAGES: Final = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def image_type(data: bytes) -> str | None:
    """The media type of an image in a format every browser shows, from its first bytes.

    Example:
        >>> image_type(b"GIF89a...")
        'image/gif'
        >>> image_type(b"hello") is None
        True
    """
    for magic, media_type in _IMAGES:
        if data.startswith(magic):
            return media_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def describe_visualization(shown: object) -> dict[str, Any] | None:
    """What ``visualize()`` returned, as JSON for an artifact's metadata (``None``: nothing).

    Example:
        >>> describe_visualization(b"GIF89a...")["media_type"]
        'image/gif'
    """
    if shown is None:
        return None
    if isinstance(shown, str):
        media_type = "text/html" if shown.lstrip().startswith("<") else "text/markdown"
        size = len(shown.encode("utf-8", "replace"))
        if size > MAX_VISUALIZATION_BYTES:
            return _omitted(media_type, size)
        return {"media_type": media_type, "text": shown}
    if isinstance(shown, bytes | bytearray | memoryview):
        data = bytes(shown)
        found = image_type(data)
        if found is None:
            return {
                "error": f"visualize() returned {len(data)} bytes that are not a PNG, JPEG, GIF or WebP "
                "image; return one of those, or markdown or HTML text."
            }
        if len(data) > MAX_VISUALIZATION_BYTES:
            return _omitted(found, len(data))
        return {"media_type": found, "base64": base64.b64encode(data).decode("ascii"), "size": len(data)}
    return {
        "error": f"visualize() returned a {type(shown).__name__}; it must return markdown or HTML text "
        "(str), image bytes (PNG, JPEG, GIF, WebP) or None."
    }


def _omitted(media_type: str, size: int) -> dict[str, Any]:
    return {
        "media_type": media_type,
        "size": size,
        "error": f"The visualization is {size} bytes, larger than the {MAX_VISUALIZATION_BYTES} kept; "
        "make visualize() return a smaller one.",
    }


def visualization(value: object, serialized: SerializedValue) -> dict[str, Any] | None:
    """The visualization of ``value`` by the serializer that wrote ``serialized``, described
    for an artifact's metadata; ``None`` when that serializer has no ``visualize()`` (the
    built-ins have none) or it returned ``None``. A failing ``visualize()`` is recorded as
    an ``error``: it never fails the save.

    Example:
        >>> from kitaru.serde import serialize
        >>> visualization(3, serialize(3)) is None
        True
    """
    if serialized.serializer in _BUILTIN_NAMES:
        return None
    show = getattr(get_serializer(serialized.serializer), "visualize", None)
    if not callable(show):
        return None
    try:
        shown = show(value)
    except Exception as exc:
        return {
            "error": f"visualize() of the serializer {serialized.serializer!r} failed: "
            f"{type(exc).__name__}: {exc}"
        }
    return describe_visualization(shown)
