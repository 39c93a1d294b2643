"""Routes of blobs: the artifact store's content-addressed bytes."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from kitaru.artifacts.base import ArtifactStore
from kitaru.errors import KitaruUsageError
from kitaru.server._schemas import BlobDeletionBody, BlobListResult, SizesResult

__all__ = ["blobs_router"]

_KEY = re.compile(r"^[0-9a-f]{64}$")
_OCTETS = "application/octet-stream"


def _check_key(key: str) -> str:
    if not _KEY.match(key):
        raise KitaruUsageError(f"Blob key {key!r} is not a sha256 hex digest (64 lowercase hex digits).")
    return key


def blobs_router(artifacts: ArtifactStore, *, max_blob_bytes: int) -> APIRouter:
    """Return the routes of blobs over ``artifacts``; uploads above ``max_blob_bytes`` are refused."""
    router = APIRouter(prefix="/blobs", tags=["blobs"])

    @router.put(
        "/{key}",
        status_code=204,
        summary="Store a blob (the body: its bytes; the key: their sha256)",
        openapi_extra={
            "requestBody": {"content": {_OCTETS: {"schema": {"type": "string", "format": "binary"}}}}
        },
    )
    async def put_blob(key: str, request: Request) -> Response:
        _check_key(key)
        digest = hashlib.sha256()
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_blob_bytes:
                raise KitaruUsageError(
                    f"Blob {key} is larger than this server accepts ({max_blob_bytes} bytes); "
                    "start the server with a larger --max-blob-bytes."
                )
            digest.update(chunk)
            chunks.append(chunk)
        if digest.hexdigest() != key:
            raise KitaruUsageError(
                f"The uploaded bytes have sha256 {digest.hexdigest()}, not {key}: nothing was stored. "
                "Upload the blob again."
            )
        data = b"".join(chunks)
        await run_in_threadpool(artifacts.put, data, sha256=key)
        return Response(status_code=204)

    @router.get(
        "/{key}",
        response_class=Response,
        summary="The bytes of a blob",
        responses={200: {"content": {_OCTETS: {"schema": {"type": "string", "format": "binary"}}}}},
    )
    def get_blob(key: str) -> Response:
        return Response(artifacts.get(_check_key(key)), media_type=_OCTETS)

    @router.head("/{key}", status_code=200, summary="Whether a blob is stored (200) or not (404)")
    def blob_exists(key: str) -> Response:
        return Response(status_code=200 if artifacts.exists(_check_key(key)) else 404)

    @router.get("", response_model=BlobListResult, summary="Every stored blob with its size")
    def list_blobs(stored_before: float | None = None) -> Any:
        return {"blobs": list(artifacts.list_blobs(stored_before=stored_before))}

    @router.post("/deletions", response_model=SizesResult, summary="Delete blobs")
    def delete_blobs(body: BlobDeletionBody) -> Any:
        for key in body.keys:
            _check_key(key)
        return {"sizes": artifacts.delete(body.keys, unless_stored_after=body.unless_stored_after)}

    return router
