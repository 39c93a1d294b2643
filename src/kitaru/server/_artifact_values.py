"""The stored bytes of an artifact's value, whole or their first bytes, for the dashboard.

``GET /api/v1/artifacts/{id}/value?max_bytes=N`` answers the serialized value (inline in
its row, or its blob) as it is stored: the server never deserializes it (that would run
user code). Headers say the whole size (``X-Kitaru-Size``), whether the answer was cut at
``max_bytes`` (``X-Kitaru-Truncated``), and how it was serialized (``X-Kitaru-Serializer``,
``X-Kitaru-Type``); the content type is JSON for the JSON-based serializers, the image's own
type for bytes that are a PNG, JPEG, GIF or WebP image, else octets. ``download=true`` asks
the browser to save it under the artifact's name.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final
from urllib.parse import quote

from fastapi import APIRouter, Query, Response
from fastapi.responses import StreamingResponse

from kitaru.artifacts.base import ArtifactStore
from kitaru.records import ArtifactRecord
from kitaru.store.base import MetadataStore

__all__ = ["artifact_values_router"]

_JSON_SERIALIZERS: Final = frozenset({"json", "pydantic", "dataclass"})
_OCTETS: Final = "application/octet-stream"
_IMAGES: Final = (
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"GIF87a", "image/gif", ".gif"),
    (b"GIF89a", "image/gif", ".gif"),
)


def _media_type(record: ArtifactRecord, head: bytes) -> tuple[str, str]:
    """The content type of a stored value and the file extension it is saved with."""
    if record.serializer in _JSON_SERIALIZERS:
        return "application/json", ".json"
    if record.serializer == "bytes":
        for magic, media_type, ext in _IMAGES:
            if head.startswith(magic):
                return media_type, ext
        if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
            return "image/webp", ".webp"
    return _OCTETS, ".bin"


def _first(chunks: Iterator[bytes], limit: int) -> bytes:
    """The first ``limit`` bytes of a stream of chunks, reading no further than needed."""
    parts: list[bytes] = []
    left = limit
    for chunk in chunks:
        parts.append(chunk[:left])
        left -= len(parts[-1])
        if left <= 0:
            break
    close = getattr(chunks, "close", None)
    if callable(close):
        close()
    return b"".join(parts)


def artifact_values_router(store: MetadataStore, artifacts: ArtifactStore) -> APIRouter:
    """Return the route of artifact values over ``store`` (rows) and ``artifacts`` (blobs)."""
    router = APIRouter(prefix="/artifacts", tags=["artifacts"])

    @router.get(
        "/{artifact_id}/value",
        response_class=Response,
        summary="The stored bytes of an artifact's value (its first max_bytes, when given)",
        responses={200: {"content": {_OCTETS: {"schema": {"type": "string", "format": "binary"}}}}},
    )
    def artifact_value(
        artifact_id: str,
        max_bytes: int | None = Query(default=None, ge=0),
        download: bool = False,
    ) -> Response:
        record = store.get_artifact(artifact_id)
        headers = {
            "x-kitaru-size": str(record.size),
            "x-kitaru-serializer": record.serializer,
            "x-kitaru-type": record.type_path,
            "cache-control": "no-store",
        }
        if record.data is not None:
            data = record.data if max_bytes is None else record.data[:max_bytes]
            chunks: Iterator[bytes] | None = None
        else:
            key = record.blob_key or record.sha256
            size, stream = artifacts.read_stream(key)
            if max_bytes is None or max_bytes >= size:
                chunks = stream
                data = b""
            else:
                data, chunks = _first(stream, max_bytes), None
        truncated = max_bytes is not None and max_bytes < record.size
        headers["x-kitaru-truncated"] = "true" if truncated else "false"
        if chunks is not None:  # the whole blob, streamed (checked against its key at its end)
            first = next(chunks, b"")
            media_type, ext = _media_type(record, first)
            if download:
                headers["content-disposition"] = _attachment(record.name, ext)
            return StreamingResponse(_chain(first, chunks), media_type=media_type, headers=headers)
        media_type, ext = _media_type(record, data[:16])
        if download:
            headers["content-disposition"] = _attachment(record.name, ext)
        return Response(data, media_type=media_type, headers=headers)

    return router


def _chain(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from rest


def _attachment(name: str, ext: str) -> str:
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in name) or "artifact"
    if not safe.endswith(ext):
        safe += ext
    return f"attachment; filename=\"{safe}\"; filename*=UTF-8''{quote(safe)}"
