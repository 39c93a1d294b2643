"""The in-memory artifact store: content-addressed blobs in a dict, for tests.

It keeps the :class:`~kitaru.artifacts.base.ArtifactStore` contract of the
local directory store (keys are sha256 hex digests, equal content is stored
once, a blob is checked against its key when read, and a missing or corrupt
one is a :class:`~kitaru.errors.KitaruArtifactIntegrityError` naming it)
without touching a disk. The blobs live as long as the object.

Example:
    >>> store = MemoryArtifactStore()
    >>> key = store.put(b"hello")
    >>> store.get(key)
    b'hello'
"""

from __future__ import annotations

import hashlib
import itertools
import threading
import time
from collections.abc import Collection, Iterable, Iterator

from kitaru.artifacts import _stream
from kitaru.errors import KitaruArtifactIntegrityError, KitaruUsageError

__all__ = ["MemoryArtifactStore"]

_HEX = frozenset("0123456789abcdef")
_numbers = itertools.count(1)


def _check_key(key: object) -> str:
    if not isinstance(key, str) or len(key) != 64 or not _HEX.issuperset(key):
        raise KitaruUsageError(
            f"Invalid artifact key {key!r}: expected a sha256 hex digest (64 lowercase hex characters)."
        )
    return key


class MemoryArtifactStore:
    """Content-addressed blobs in memory; thread-safe.

    Args:
        name: Names the store in its URI (``memory://<name>``) and in messages;
            a new number when not given.

    Example:
        >>> store = MemoryArtifactStore("tests")
        >>> store.uri, store.exists("0" * 64)
        ('memory://tests', False)
    """

    def __init__(self, name: str | None = None) -> None:
        self._name = name if name is not None else f"artifacts-{next(_numbers)}"
        self._blobs: dict[str, bytes] = {}
        self._stored_at: dict[str, float] = {}  # key -> when it was last put
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"MemoryArtifactStore({self._name!r})"

    def __len__(self) -> int:
        """The number of stored blobs."""
        return len(self._blobs)

    @property
    def uri(self) -> str:
        """``memory://`` and the store's name."""
        return f"memory://{self._name}"

    def put(self, data: bytes, *, sha256: str | None = None) -> str:
        """Store a copy of ``data`` and return its sha256 hex key.

        ``sha256`` may be passed when the caller already computed it; it is trusted.

        Raises:
            KitaruUsageError: ``data`` is not bytes-like or ``sha256`` is malformed.

        Example:
            >>> store = MemoryArtifactStore()
            >>> store.put(b"a") == store.put(b"a")
            True
        """
        if not isinstance(data, bytes | bytearray | memoryview):
            raise KitaruUsageError(f"MemoryArtifactStore.put() needs bytes, got {type(data).__name__}.")
        if sha256 is None:
            key = hashlib.sha256(data).hexdigest()
        else:
            key = _check_key(sha256.lower() if isinstance(sha256, str) else sha256)
        blob = bytes(data)
        with self._lock:
            self._blobs.setdefault(key, blob)
            self._stored_at[key] = time.time()
        return key

    def get(self, key: str) -> bytes:
        """Return the blob stored under ``key``, checked against it (its sha256).

        Raises:
            KitaruArtifactIntegrityError: No blob has this key (``reason="missing"``), or its
                content does not match the key (``"corrupt"``; the blob is dropped, so that
                storing the same content again repairs it).
        """
        _check_key(key)
        with self._lock:
            blob = self._blobs.get(key)
        if blob is None:
            raise KitaruArtifactIntegrityError(
                f"The blob {key} is missing from the in-memory artifact store {self.uri}. "
                "Blobs live only as long as the store object; use the store that saved it.",
                reason="missing",
                key=key,
            )
        actual = hashlib.sha256(blob).hexdigest()
        if actual == key:
            return blob
        with self._lock:
            if self._blobs.get(key) is blob:
                del self._blobs[key]
        raise KitaruArtifactIntegrityError(
            f"The blob {key} in the in-memory artifact store {self.uri} is corrupt: its sha256 is "
            f"{actual}, not its key (it was stored with a wrong sha256=). It was dropped, so that "
            "storing the same content again repairs it.",
            reason="corrupt",
            key=key,
        )

    def put_stream(self, chunks: Iterable[bytes], *, sha256: str) -> str:
        """Store the bytes of ``chunks`` under ``sha256`` when they have that sha256.

        Raises:
            KitaruUsageError: ``sha256`` is malformed or the bytes have another one.
        """
        key = _check_key(sha256)
        data = b"".join(chunks)
        actual = hashlib.sha256(data).hexdigest()
        if actual != key:
            raise _stream.mismatch(key, actual)
        return self.put(data, sha256=key)

    def blob_size(self, key: str) -> int | None:
        """The size of the blob in bytes, or ``None`` when it is not stored."""
        _check_key(key)
        with self._lock:
            blob = self._blobs.get(key)
        return None if blob is None else len(blob)

    def read_stream(self, key: str, *, start: int = 0) -> tuple[int, Iterator[bytes]]:
        """The size of the blob and its bytes from ``start`` on (checked as by ``get``).

        Example:
            >>> store = MemoryArtifactStore()
            >>> size, chunks = store.read_stream(store.put(b"abcdef"), start=4)
            >>> size, b"".join(chunks)
            (6, b'ef')
        """
        blob = self.get(key)
        if not 0 <= start <= len(blob):
            raise KitaruUsageError(
                f"Offset {start} is outside the blob {key} ({len(blob)} bytes): read from 0 to {len(blob)}."
            )
        return len(blob), iter([blob[start:]] if start < len(blob) else [])

    def exists(self, key: str) -> bool:
        """Whether a blob with this key is stored."""
        _check_key(key)
        with self._lock:
            return key in self._blobs

    def delete(self, keys: Collection[str], *, unless_stored_after: float | None = None) -> dict[str, int]:
        """Delete the blobs with these keys; return the size of each blob deleted.

        Keys with no blob are skipped; with ``unless_stored_after`` (seconds since the
        epoch) a blob put at or after that time stays.

        Example:
            >>> store = MemoryArtifactStore()
            >>> key = store.put(b"abc")
            >>> list(store.delete([key]).values()), store.exists(key)
            ([3], False)
        """
        wanted = [_check_key(key) for key in keys]
        deleted: dict[str, int] = {}
        with self._lock:
            for key in wanted:
                if key not in self._blobs:
                    continue
                if unless_stored_after is not None and self._stored_at[key] >= unless_stored_after:
                    continue
                deleted[key] = len(self._blobs.pop(key))
                del self._stored_at[key]
        return deleted

    def remove_stale_temp_files(self, *, older_than: float = 3600.0) -> int:
        """Nothing to remove: a blob is stored in one step, never half-written.

        Example:
            >>> MemoryArtifactStore().remove_stale_temp_files()
            0
        """
        return 0

    def list_blobs(self, *, stored_before: float | None = None) -> Iterator[tuple[str, int]]:
        """Yield ``(key, size)`` of every stored blob; with ``stored_before`` (seconds since
        the epoch) only of those last put before that time."""
        with self._lock:
            found = [
                (key, len(blob))
                for key, blob in self._blobs.items()
                if stored_before is None or self._stored_at[key] < stored_before
            ]
        yield from found
