"""The REST artifact store: blobs kept by a Kitaru server, sent and fetched over HTTP.

``put`` uploads the bytes to ``PUT /api/v1/blobs/{sha256}`` (the server checks them
against the key before it stores them, so a row never points at a partial blob); ``get``
downloads them and checks them against the key again. Needs ``httpx`` (``kitaru[server]``).

Example:
    >>> from kitaru.artifacts.rest import RestArtifactStore
    >>> blobs = RestArtifactStore("http://127.0.0.1:8383", api_key="...")  # doctest: +SKIP
    >>> blobs.get(blobs.put(b"x" * 100_000)) == b"x" * 100_000  # doctest: +SKIP
    True
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterator

from kitaru._http import HttpClient
from kitaru.errors import KitaruArtifactIntegrityError

__all__ = ["RestArtifactStore"]

_OCTETS = {"content-type": "application/octet-stream"}


class RestArtifactStore:
    """Blobs kept by a Kitaru server (see the module)."""

    def __init__(self, url: str, *, api_key: str | None = None, client: HttpClient | None = None) -> None:
        self._http = client or HttpClient(url, api_key=api_key)

    def __repr__(self) -> str:
        return f"RestArtifactStore({self.uri!r})"

    @property
    def uri(self) -> str:
        """The URL of the server's blobs."""
        return f"{self._http.url}/api/v1/blobs"

    def put(self, data: bytes, *, sha256: str | None = None) -> str:
        """Upload ``data`` (a no-op on the server when it has it) and return its key."""
        key = sha256 or hashlib.sha256(data).hexdigest()
        self._http.request("PUT", f"/api/v1/blobs/{key}", content=bytes(data), headers=_OCTETS)
        return key

    def get(self, key: str) -> bytes:
        """Download the blob and check it against its key."""
        data = self._http.request("GET", f"/api/v1/blobs/{key}").content
        if hashlib.sha256(data).hexdigest() != key:
            raise KitaruArtifactIntegrityError(
                f"Blob {key} arrived from {self.uri} with other content (sha256 "
                f"{hashlib.sha256(data).hexdigest()}); nothing was loaded. Try again; if it persists, "
                "the server's copy is damaged.",
                reason="corrupt",
                key=key,
            )
        return data

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
