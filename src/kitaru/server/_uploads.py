"""Resumable blob uploads: sessions whose bytes so far survive a broken connection.

``POST /blobs/{key}/uploads`` opens a session (a file ``<key>.<id>.part`` in the server's
uploads directory); ``PUT /blobs/{key}/uploads/{id}?offset=N`` appends its body when ``N``
is the size so far (else 409, naming the size); ``GET`` of the session tells the size so
far, so a client whose connection broke continues from there; ``POST …/complete`` hands
the file to the artifact store, which stores it under its key only when its sha256 is the
key. Everything received before a connection broke is kept. A session untouched for a day
is removed. Uploads to one session are serialized by a lock on its file.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import anyio.from_thread
import anyio.to_thread
from fastapi import APIRouter, Request, Response

from kitaru.artifacts.base import ArtifactStore
from kitaru.errors import KitaruNotFoundError, KitaruStateError, KitaruUsageError
from kitaru.server._schemas import UploadResult

__all__ = ["uploads_router"]

_ID = re.compile(r"^[0-9a-f]{32}$")
_KEY = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 1 << 20
#: A session untouched this long (seconds) is removed.
_ABANDONED_AFTER = 24 * 3600.0


def uploads_router(
    artifacts: ArtifactStore,
    directory: Path,
    *,
    max_blob_bytes: int,
    count: Callable[[int], None],
) -> APIRouter:
    """Return the routes of resumable uploads, keeping sessions in ``directory``;
    ``count(n)`` is told of every ``n`` bytes received."""
    router = APIRouter()  # included in the router of blobs, under its prefix and tag

    def part(key: str, upload_id: str) -> Path:
        if not _KEY.match(key):
            raise KitaruUsageError(f"Blob key {key!r} is not a sha256 hex digest (64 lowercase hex digits).")
        if not _ID.match(upload_id):
            raise KitaruUsageError(f"Upload id {upload_id!r} is not valid (32 lowercase hex digits).")
        path = directory / f"{key}.{upload_id}.part"
        if not path.exists():
            raise KitaruNotFoundError(
                f"No upload {upload_id} of blob {key} on this server: it was completed, or abandoned "
                "for a day and removed. Start a new one (POST /api/v1/blobs/{key}/uploads)."
            )
        return path

    @router.post(
        "/{key}/uploads", status_code=201, response_model=UploadResult, summary="Start a resumable upload"
    )
    def start_upload(key: str) -> Any:
        if not _KEY.match(key):
            raise KitaruUsageError(f"Blob key {key!r} is not a sha256 hex digest (64 lowercase hex digits).")
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        _remove_abandoned(directory)
        upload_id = uuid.uuid4().hex
        fd = os.open(directory / f"{key}.{upload_id}.part", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        return {"upload_id": upload_id, "offset": 0}

    @router.get(
        "/{key}/uploads/{upload_id}", response_model=UploadResult, summary="The size of an upload so far"
    )
    def upload_offset(key: str, upload_id: str) -> Any:
        path = part(key, upload_id)
        with _locked(path, "rb") as file:
            return {"upload_id": upload_id, "offset": os.fstat(file.fileno()).st_size}

    @router.put(
        "/{key}/uploads/{upload_id}",
        response_model=UploadResult,
        summary="Append the body to an upload at offset (its size so far)",
        openapi_extra={
            "requestBody": {
                "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
            }
        },
    )
    async def append(key: str, upload_id: str, offset: int, request: Request) -> Any:
        path = part(key, upload_id)
        body = request.stream()

        async def next_chunk() -> bytes:
            chunk: bytes = await body.__anext__()
            return chunk

        def receive() -> Iterator[bytes]:
            while True:
                try:
                    chunk = anyio.from_thread.run(next_chunk)
                except StopAsyncIteration:
                    return
                count(len(chunk))
                yield chunk

        def write() -> int:
            with _locked(path, "ab") as file:
                size = os.fstat(file.fileno()).st_size
                if offset != size:
                    raise KitaruStateError(
                        f"Upload {upload_id} of blob {key} holds {size} bytes, so the next part starts "
                        f"at offset {size}, not {offset}. Ask for its size (GET) and send from there.",
                    )
                for chunk in receive():
                    size += len(chunk)
                    if size > max_blob_bytes:
                        raise KitaruUsageError(
                            f"Upload {upload_id} of blob {key} is larger than this server accepts "
                            f"({max_blob_bytes} bytes); nothing more was stored."
                        )
                    file.write(chunk)
                    file.flush()  # what arrived is kept, should the connection break
                return size

        return {"upload_id": upload_id, "offset": await anyio.to_thread.run_sync(write)}

    @router.post(
        "/{key}/uploads/{upload_id}/complete",
        status_code=204,
        summary="Store the upload under its key (when its sha256 is the key) and end it",
    )
    def complete(key: str, upload_id: str) -> Response:
        path = part(key, upload_id)
        try:
            with _locked(path, "rb") as file:
                artifacts.put_stream(iter(lambda: file.read(_CHUNK), b""), sha256=key)
        except KitaruUsageError:
            path.unlink(missing_ok=True)  # its bytes are not the blob: sending more will not help
            raise
        path.unlink(missing_ok=True)
        return Response(status_code=204)

    return router


@contextlib.contextmanager
def _locked(path: Path, mode: str) -> Iterator[Any]:
    with open(path, mode) as file:
        fcntl.flock(file.fileno(), fcntl.LOCK_EX)
        yield file


def _remove_abandoned(directory: Path) -> None:
    cutoff = time.time() - _ABANDONED_AFTER
    for entry in os.scandir(directory):
        with contextlib.suppress(OSError):
            if entry.name.endswith(".part") and entry.stat().st_mtime < cutoff:
                os.unlink(entry.path)
