"""The artifact store interface: content-addressed blobs for large values.

Keys are the sha256 hex digest of the content, so equal values are stored
once. ``put`` writes the whole blob before it returns (and never leaves a
partial blob under its key), so a metadata row committed afterwards never
points at a partial blob. ``get`` checks the content against its key, so a
blob changed or lost in storage is an error, never a wrong value. Blobs are
deleted only when no artifact row references them (the metadata store answers
which still are); a blob stored again since a given moment stays, since a
writer may be about to commit a row that references it.

Example:
    >>> from kitaru.artifacts.base import ArtifactStore
    >>> def roundtrip(store: ArtifactStore, data: bytes) -> bool:
    ...     return store.get(store.put(data)) == data
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from typing import Final, Protocol, runtime_checkable

__all__ = ["INLINE_LIMIT", "ArtifactStore", "SignedUrlArtifactStore"]

INLINE_LIMIT: Final = 64 * 1024
"""Values up to this many bytes are stored inline in their metadata row; larger ones are blobs."""


@runtime_checkable
class ArtifactStore(Protocol):
    """Content-addressed blob storage."""

    @property
    def uri(self) -> str:
        """Where the blobs live (a directory path or an object storage URL)."""
        ...

    def put(self, data: bytes, *, sha256: str | None = None) -> str:
        """Store ``data`` atomically and return its key (sha256 hex digest).

        ``sha256`` may be passed when the caller already computed it. Storing
        content that already exists is a cheap no-op.
        """
        ...

    def put_stream(self, chunks: Iterable[bytes], *, sha256: str) -> str:
        """Store the bytes of ``chunks`` under ``sha256`` and return it, never holding
        them all in memory.

        The chunks are hashed as they are written somewhere temporary; the blob takes
        its key's place only when they have that sha256, else nothing is stored and
        ``KitaruUsageError`` names both digests.
        """
        ...

    def blob_size(self, key: str) -> int | None:
        """The size of the blob in bytes, or ``None`` when it is not stored."""
        ...

    def read_stream(self, key: str, *, start: int = 0) -> tuple[int, Iterator[bytes]]:
        """The size of the blob and its bytes from offset ``start`` on, in chunks.

        Read from the start, the content is checked against the key before the
        last chunk is yielded (a corrupt blob raises ``KitaruArtifactIntegrityError``
        instead, and is taken out of its key's place as by ``get``). A missing blob
        raises ``KitaruArtifactIntegrityError`` (``reason="missing"``) at once;
        ``start`` past the end raises ``KitaruUsageError``.
        """
        ...

    def get(self, key: str) -> bytes:
        """Return the blob, checked against its key.

        ``KitaruArtifactIntegrityError`` naming the key when it is missing
        (``reason="missing"``) or its content does not match (``"corrupt"``);
        a corrupt blob is taken out of its key's place, so that a ``put`` of
        the same content stores it again.
        """
        ...

    def exists(self, key: str) -> bool:
        """Whether a blob with this key is stored."""
        ...

    def delete(self, keys: Collection[str], *, unless_stored_after: float | None = None) -> dict[str, int]:
        """Delete the blobs with these keys; return the size of each blob deleted.

        Keys with no blob are skipped. With ``unless_stored_after`` (a time in
        seconds since the epoch) a blob stored at or after it stays; ``put`` of
        content already stored counts as storing it again.
        """
        ...

    def list_blobs(self, *, stored_before: float | None = None) -> Iterator[tuple[str, int]]:
        """Yield ``(key, size)`` of every stored blob; with ``stored_before`` (seconds
        since the epoch) only of those last stored before that time."""
        ...

    def remove_stale_temp_files(self, *, older_than: float = 3600.0) -> int:
        """Delete what interrupted blob writes left behind (never a live writer's
        temporary file; one whose writer cannot be seen once nothing wrote to it for
        ``older_than`` seconds); return how many files were removed."""
        ...


@runtime_checkable
class SignedUrlArtifactStore(Protocol):
    """An artifact store that can hand out short-lived URLs to read or write one blob
    directly (object storage): whoever holds the URL needs no credentials of its own."""

    def signed_url(self, method: str, key: str, *, expires_in: float) -> str:
        """A URL valid for ``expires_in`` seconds to ``GET`` or ``PUT`` the blob ``key``."""
        ...
