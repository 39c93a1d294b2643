"""Routes of blobs: the artifact store's content-addressed bytes, streamed both ways.

An upload larger than a few MiB (or of unknown length) is never held whole: the artifact
store hashes it while writing it somewhere temporary and stores it under its key only when
the hash matches. A download is streamed too, and a ``Range: bytes=N-`` request resumes
one. When the blobs live in object storage, the server also hands out short-lived signed
URLs, so runners can read and write the bucket directly.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import anyio
import anyio.from_thread
import anyio.to_thread
from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from kitaru.artifacts.base import ArtifactStore, SignedUrlArtifactStore
from kitaru.errors import KitaruStateError, KitaruUsageError
from kitaru.server._errors import error_body
from kitaru.server._schemas import (
    BlobDeletionBody,
    BlobListResult,
    BlobTrafficResult,
    SignedUrlResult,
    SizesResult,
)
from kitaru.server._uploads import uploads_router

__all__ = ["blobs_router"]

_KEY = re.compile(r"^[0-9a-f]{64}$")
_RANGE = re.compile(r"^bytes=(\d{1,19})-(\d{0,19})$")
_OCTETS = "application/octet-stream"
_BINARY = {_OCTETS: {"schema": {"type": "string", "format": "binary"}}}
#: Uploads with a known length up to this size are read whole (the fast path of small blobs).
_WHOLE_UPLOAD = 8 << 20
#: How long a signed URL stays valid, in seconds.
SIGNED_URL_SECONDS = 900.0


#: Blobs up to this size are read and checked whole before their answer starts.
_WHOLE_BELOW = 8 << 20


def _check_key(key: str) -> str:
    if not _KEY.match(key):
        raise KitaruUsageError(f"Blob key {key!r} is not a sha256 hex digest (64 lowercase hex digits).")
    return key


class _Traffic:
    """Blob bytes this process carried, and signed URLs it handed out (counted from threads)."""

    def __init__(self) -> None:
        self.received = self.sent = self.signed = 0
        self._lock = threading.Lock()

    def add(self, *, received: int = 0, sent: int = 0, signed: int = 0) -> None:
        with self._lock:
            self.received += received
            self.sent += sent
            self.signed += signed


def blobs_router(artifacts: ArtifactStore, *, max_blob_bytes: int, uploads_dir: Path) -> APIRouter:
    """Return the routes of blobs over ``artifacts``; uploads above ``max_blob_bytes`` are refused;
    resumable uploads keep their bytes so far in ``uploads_dir``."""
    router = APIRouter(prefix="/blobs", tags=["blobs"])
    traffic = _Traffic()

    def count(received: int) -> None:
        traffic.add(received=received)

    router.include_router(uploads_router(artifacts, uploads_dir, max_blob_bytes=max_blob_bytes, count=count))

    def too_large(key: str) -> KitaruUsageError:
        return KitaruUsageError(
            f"Blob {key} is larger than this server accepts ({max_blob_bytes} bytes); nothing was "
            "stored. Save smaller values, or serve with a larger create_app(max_blob_bytes=...)."
        )

    @router.get(
        "/traffic",
        response_model=BlobTrafficResult,
        summary="Blob bytes this server process received and sent, and signed URLs it handed out",
    )
    def blob_traffic() -> Any:
        return {"bytes_received": traffic.received, "bytes_sent": traffic.sent, "signed_urls": traffic.signed}

    @router.put(
        "/{key}",
        status_code=204,
        summary="Store a blob (the body: its bytes, streamed; the key: their sha256)",
        openapi_extra={"requestBody": {"content": _BINARY}},
    )
    async def put_blob(key: str, request: Request) -> Response:
        _check_key(key)
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) <= _WHOLE_UPLOAD:
            data = await request.body()
            await anyio.to_thread.run_sync(lambda: artifacts.put_stream([data], sha256=key))
            traffic.add(received=len(data))
            return Response(status_code=204)
        body = request.stream()
        received = 0

        async def next_chunk() -> bytes:
            chunk: bytes = await body.__anext__()
            return chunk

        def chunks() -> Iterator[bytes]:
            nonlocal received
            while True:
                try:
                    chunk = anyio.from_thread.run(next_chunk)
                except StopAsyncIteration:
                    return
                received += len(chunk)
                if received > max_blob_bytes:
                    raise too_large(key)
                yield chunk

        try:
            await anyio.to_thread.run_sync(lambda: artifacts.put_stream(chunks(), sha256=key))
        finally:
            traffic.add(received=received)
        return Response(status_code=204)

    @router.get(
        "/{key}",
        response_class=Response,
        summary="The bytes of a blob, streamed (Range: bytes=N- resumes a download)",
        responses={
            200: {"content": _BINARY, "description": "The whole blob."},
            206: {"content": _BINARY, "description": "The requested range of the blob."},
            416: {"description": "The range starts past the end of the blob."},
        },
    )
    def get_blob(key: str, range: str | None = Header(default=None)) -> Response:
        _check_key(key)
        wanted = _RANGE.match(range.strip()) if range else None
        start = int(wanted.group(1)) if wanted else 0
        size = artifacts.blob_size(key) if start else None
        if size is not None and start >= size:
            return JSONResponse(
                error_body(
                    "KitaruUsageError", f"Range {range!r} starts past the end of blob {key} ({size} bytes)."
                ),
                status_code=416,
                headers={"content-range": f"bytes */{size}"},
            )
        size, chunks = artifacts.read_stream(key, start=start)
        end = size - 1
        if wanted and wanted.group(2):
            end = min(end, int(wanted.group(2)))
        if wanted and end < start:  # an empty blob, or a range that ends before it starts
            return JSONResponse(
                error_body(
                    "KitaruUsageError", f"Range {range!r} selects no bytes of blob {key} ({size} bytes)."
                ),
                status_code=416,
                headers={"content-range": f"bytes */{size}"},
            )
        headers = {"content-length": str(end - start + 1), "accept-ranges": "bytes"}
        if wanted:
            headers["content-range"] = f"bytes {start}-{end}/{size}"
        elif size <= _WHOLE_BELOW:
            # A small blob is read (and checked) before the answer starts: a corrupt one is then
            # refused with its error, not cut off mid-answer.
            body = b"".join(chunks)
            traffic.add(sent=len(body))
            return Response(body, media_type=_OCTETS, headers=headers)
        return StreamingResponse(
            _counted(chunks, end - start + 1, traffic),
            status_code=206 if wanted else 200,
            media_type=_OCTETS,
            headers=headers,
        )

    @router.head(
        "/{key}",
        status_code=200,
        summary="Whether a blob is stored (200, its size as Content-Length) or not (404)",
    )
    def blob_exists(key: str) -> Response:
        size = artifacts.blob_size(_check_key(key))
        if size is None:
            return Response(status_code=404)
        return Response(status_code=200, headers={"content-length": str(size), "accept-ranges": "bytes"})

    @router.get(
        "/{key}/signed-url",
        response_model=SignedUrlResult,
        summary="A short-lived URL to GET or PUT a blob straight in the object storage",
    )
    def signed_url(key: str, method: Literal["GET", "PUT"] = "GET") -> Any:
        _check_key(key)
        if not isinstance(artifacts, SignedUrlArtifactStore):
            raise KitaruStateError(
                f"This server keeps its blobs in {artifacts.uri}, not in object storage, so it cannot hand "
                "out URLs to reach them directly. Unset direct_artifacts (the stack's setting or "
                "KITARU_DIRECT_ARTIFACTS) to send blobs through the server, or start the server with "
                "--artifacts s3://bucket/prefix."
            )
        url = artifacts.signed_url(method, key, expires_in=SIGNED_URL_SECONDS)
        traffic.add(signed=1)
        return {"url": url, "method": method, "expires_in": SIGNED_URL_SECONDS}

    @router.get("", response_model=BlobListResult, summary="Every stored blob with its size")
    def list_blobs(stored_before: float | None = None) -> Any:
        return {"blobs": list(artifacts.list_blobs(stored_before=stored_before))}

    @router.post("/deletions", response_model=SizesResult, summary="Delete blobs")
    def delete_blobs(body: BlobDeletionBody) -> Any:
        for key in body.keys:
            _check_key(key)
        return {"sizes": artifacts.delete(body.keys, unless_stored_after=body.unless_stored_after)}

    return router


def _counted(chunks: Iterator[bytes], length: int, traffic: _Traffic) -> Iterator[bytes]:
    """Yield ``length`` bytes of ``chunks`` (a range may end before the blob), counting them."""
    left = length
    for chunk in chunks:
        if left <= 0:
            break
        piece = chunk[:left]
        left -= len(piece)
        traffic.add(sent=len(piece))
        yield piece
