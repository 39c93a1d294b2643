"""The REST artifact store: blobs kept by a Kitaru server, sent and fetched over HTTP.

``put`` uploads the bytes to ``PUT /api/v1/blobs/{sha256}`` (the server checks them
against the key before it stores them, so a row never points at a partial blob); ``get``
downloads them as a stream, resumes a download cut off midway (``Range``), and checks
them against the key again. A blob over 8 MiB goes up in a resumable upload session:
when the connection breaks, the rest is sent from where the server's copy ends.

With ``direct=True`` (the stack setting ``direct_artifacts``) the bytes skip the server:
it hands out short-lived signed URLs of its object storage, and the blobs are written and
read there directly. A write is confirmed through the server (the object is there, with
its size) before ``put`` returns, so a metadata row committed afterwards never points at
a missing blob; every read is checked against the key. Blobs over 5 GiB (more than one
``PUT`` of object storage takes) still go through the server, which stores them in parts.
Needs ``httpx`` (``kitaru[server]``).

Example:
    >>> from kitaru.artifacts.rest import RestArtifactStore
    >>> blobs = RestArtifactStore("http://127.0.0.1:8383", api_key="...")  # doctest: +SKIP
    >>> blobs.get(blobs.put(b"x" * 100_000)) == b"x" * 100_000  # doctest: +SKIP
    True
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Collection, Iterable, Iterator
from typing import Any

from kitaru._http import HttpClient
from kitaru.errors import (
    KitaruArtifactIntegrityError,
    KitaruBackendError,
    KitaruNotFoundError,
    KitaruStateError,
)

__all__ = ["RestArtifactStore"]

_OCTETS = {"content-type": "application/octet-stream"}
#: The largest object one signed ``PUT`` may write (object storage's limit of one ``PUT``).
_MAX_SIGNED_PUT = 5 << 30
#: How many times a download or upload cut off midway is resumed.
_RESUMES = 8
#: Blobs larger than this are uploaded in resumable sessions.
_RESUMABLE_FROM = 8 << 20


class RestArtifactStore:
    """Blobs kept by a Kitaru server (see the module).

    Args:
        url: The server's URL.
        api_key: Its API key.
        client: A connection to share with the REST metadata store.
        direct: Read and write the server's object storage directly, with signed URLs.
    """

    def __init__(
        self,
        url: str,
        *,
        api_key: str | None = None,
        client: HttpClient | None = None,
        direct: bool = False,
    ) -> None:
        self._http = client or HttpClient(url, api_key=api_key)
        self._direct = direct

    def __repr__(self) -> str:
        return f"RestArtifactStore({self.uri!r}, direct={self._direct})"

    @property
    def uri(self) -> str:
        """The URL of the server's blobs."""
        return f"{self._http.url}/api/v1/blobs"

    def put(self, data: bytes, *, sha256: str | None = None) -> str:
        """Upload ``data`` (a no-op on the server when it has it) and return its key."""
        key = sha256 or hashlib.sha256(data).hexdigest()
        if self._direct and len(data) <= _MAX_SIGNED_PUT:
            self._put_direct(key, bytes(data))
        elif len(data) > _RESUMABLE_FROM:
            self._put_resumable(key, memoryview(data).cast("B"))
        else:
            self._http.request("PUT", f"/api/v1/blobs/{key}", content=bytes(data), headers=_OCTETS)
        return key

    def _put_resumable(self, key: str, data: memoryview) -> None:
        """Upload in a session of the server: a connection broken midway is followed by
        the rest only, from the size the server holds."""
        base = f"/api/v1/blobs/{key}/uploads"
        upload_id = self._http.json("POST", base)["upload_id"]
        session = f"{base}/{upload_id}"
        offset, delay = 0, 0.05
        resume_on: tuple[type[BaseException], ...] = (*self._http.transport_errors, KitaruStateError)
        for attempt in range(_RESUMES + 1):
            try:
                response = self._http.open_stream(
                    "PUT", f"{session}?offset={offset}", content=_slices(data, offset), headers=_OCTETS
                )
                response.close()
                break
            except resume_on as exc:
                if isinstance(exc, KitaruNotFoundError) or attempt == _RESUMES:
                    raise KitaruBackendError(
                        f"The upload of blob {key} to {self.uri} broke off {attempt + 1} times "
                        f"({type(exc).__name__}: {exc}). Check the connection to the server and "
                        "try again.",
                        transient=True,
                    ) from exc
            time.sleep(delay)
            delay = min(delay * 2, 2.0)
            offset = int(self._http.json("GET", session)["offset"])
        self._http.request("POST", f"{session}/complete")

    def _put_direct(self, key: str, data: bytes) -> None:
        url = self._signed(key, "PUT")
        response = self._http.external("PUT", url, content=data)
        if response.status_code >= 300:
            raise KitaruBackendError(
                f"The object storage refused the blob {key} ({len(data)} bytes) written directly: "
                f"{response.status_code} {response.text[:300]!r}. Unset direct_artifacts to send blobs "
                "through the server, or check the server's object storage settings.",
                transient=response.status_code >= 500,
            )
        stored = self.blob_size(key)
        if stored != len(data):
            raise KitaruArtifactIntegrityError(
                f"The blob {key} was written directly to the object storage ({len(data)} bytes), but the "
                f"server finds {'no object' if stored is None else f'{stored} bytes'} there: it was not "
                "stored. Check that the server and this process use the same bucket, then try again.",
                reason="missing" if stored is None else "corrupt",
                key=key,
            )

    def _signed(self, key: str, method: str) -> str:
        answer = self._http.json("GET", f"/api/v1/blobs/{key}/signed-url", params={"method": method})
        return str(answer["url"])

    def put_stream(self, chunks: Iterable[bytes], *, sha256: str) -> str:
        """Upload the bytes of ``chunks`` as one streamed request (not retried: the chunks
        are read once); the server stores them only when they have the sha256 ``sha256``."""
        response = self._http.open_stream(
            "PUT", f"/api/v1/blobs/{sha256}", content=iter(chunks), headers=_OCTETS
        )
        response.close()
        return sha256

    def get(self, key: str) -> bytes:
        """Download the blob (resuming a download cut off midway) and check it against its key."""
        if self._direct:
            data = self._download(key, lambda start: self._open_direct(key, start))
        else:
            data = self._download(key, lambda start: self._open(key, start))
        actual = hashlib.sha256(data).hexdigest()
        if actual != key:
            raise KitaruArtifactIntegrityError(
                f"Blob {key} arrived from {self.uri} with other content (sha256 {actual}); nothing "
                "was loaded. Try again; if it persists, the server's copy is damaged.",
                reason="corrupt",
                key=key,
            )
        return data

    def _open(self, key: str, start: int) -> Any:
        headers = {"range": f"bytes={start}-"} if start else None
        return self._http.open_stream("GET", f"/api/v1/blobs/{key}", headers=headers)

    def _open_direct(self, key: str, start: int) -> Any:
        headers = {"range": f"bytes={start}-"} if start else None
        response = self._http.open_stream("GET", self._signed(key, "GET"), headers=headers, external=True)
        if response.status_code < 300:
            return response
        response.read()
        response.close()
        if response.status_code == 404:
            raise KitaruArtifactIntegrityError(
                f"The blob {key} is missing from the object storage of {self._http.url}: it was "
                "deleted, or the server points at another bucket or prefix.",
                reason="missing",
                key=key,
            )
        raise KitaruBackendError(
            f"The object storage answered {response.status_code} to reading the blob {key} directly: "
            f"{response.text[:300]!r}. Unset direct_artifacts to read blobs through the server.",
            transient=response.status_code >= 500,
        )

    def _download(self, key: str, open_at: Callable[[int], Any]) -> bytes:
        data = bytearray()
        size: int | None = None
        delay = 0.05
        for attempt in range(_RESUMES + 1):
            try:
                response = open_at(len(data))
                try:
                    if response.status_code == 200:  # the whole blob (a range not honoured)
                        data.clear()
                    if size is None:
                        size = _total_size(response)
                    for chunk in response.iter_bytes():
                        data += chunk
                finally:
                    response.close()
                if size is None or len(data) >= size:
                    return bytes(data)
            except self._http.transport_errors as exc:
                if attempt == _RESUMES:
                    raise KitaruBackendError(
                        f"The download of blob {key} from {self.uri} broke off {attempt + 1} times "
                        f"({type(exc).__name__}: {exc}), the last time after {len(data)} bytes. Check "
                        "the connection to the server and try again.",
                        transient=True,
                    ) from exc
            time.sleep(delay)
            delay = min(delay * 2, 2.0)
        raise KitaruBackendError(
            f"The download of blob {key} from {self.uri} stayed short ({len(data)} of {size} bytes) "
            f"after {_RESUMES + 1} tries; try again.",
            transient=True,
        )

    def blob_size(self, key: str) -> int | None:
        """The size of the blob on the server in bytes, or ``None`` when it is not stored."""
        response = self._http.request("HEAD", f"/api/v1/blobs/{key}", allow=frozenset({404}))
        if response.status_code != 200:
            return None
        return int(response.headers.get("content-length", "0"))

    def read_stream(self, key: str, *, start: int = 0) -> tuple[int, Iterator[bytes]]:
        """The size of the blob and its bytes from ``start`` on, streamed from the server
        (which checks a blob read from the start before its last chunk)."""
        response = self._open(key, start)
        size = _total_size(response)

        def chunks() -> Iterator[bytes]:
            try:
                yield from response.iter_bytes()
            finally:
                response.close()

        return (size if size is not None else 0), chunks()

    def exists(self, key: str) -> bool:
        """Whether the server stores a blob with this key."""
        return self._http.request("HEAD", f"/api/v1/blobs/{key}", allow=frozenset({404})).status_code == 200

    def delete(self, keys: Collection[str], *, unless_stored_after: float | None = None) -> dict[str, int]:
        """Delete blobs on the server; return the size of each one deleted."""
        body = {"keys": sorted(keys), "unless_stored_after": unless_stored_after}
        sizes = self._http.json("POST", "/api/v1/blobs/deletions", json=body)["sizes"]
        return {str(key): int(size) for key, size in sizes.items()}

    def list_blobs(self, *, stored_before: float | None = None) -> Iterator[tuple[str, int]]:
        """Yield ``(key, size)`` of every blob the server stores."""
        found = self._http.json("GET", "/api/v1/blobs", params={"stored_before": stored_before})
        for key, size in found["blobs"]:
            yield str(key), int(size)

    def remove_stale_temp_files(self, *, older_than: float = 3600.0) -> int:
        """The server removes its own temporary files; nothing to do here (0)."""
        return 0


def _slices(data: memoryview, start: int, size: int = 1 << 20) -> Iterator[bytes]:
    for at in range(start, len(data), size):
        yield bytes(data[at : at + size])


def _total_size(response: Any) -> int | None:
    """The size of the whole blob, from a ``200`` or ``206`` response's headers."""
    ranged = response.headers.get("content-range", "")
    if "/" in ranged and ranged.rsplit("/", 1)[1].isdigit():
        return int(ranged.rsplit("/", 1)[1])
    length = response.headers.get("content-length", "")
    return int(length) if length.isdigit() else None
