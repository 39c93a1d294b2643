"""Blobs as streams of chunks: hashed as they pass, checked before their last chunk.

A streamed write hashes the chunks while it writes them somewhere temporary and
commits the blob under its key only when the hash matches; a streamed read of a
whole blob holds back each chunk until the next one was read, so the content is
checked against its key before the last chunk leaves (a reader that gets every
byte got the right ones; one whose blob is corrupt gets an error instead of its
end).

Example:
    >>> import hashlib
    >>> key = hashlib.sha256(b"abc").hexdigest()
    >>> b"".join(checked(iter([b"a", b"bc"]), key, on_mismatch=lambda actual: None))
    b'abc'
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator

from kitaru.errors import KitaruUsageError

__all__ = ["CHUNK", "checked", "mismatch"]

#: The size of the chunks blobs are read in.
CHUNK = 1 << 20


def mismatch(key: str, actual: str) -> KitaruUsageError:
    """The error of a streamed write whose bytes do not have the sha256 of their key."""
    return KitaruUsageError(
        f"The uploaded bytes have sha256 {actual}, not {key}: nothing was stored. Upload the blob again."
    )


def checked(
    chunks: Iterable[bytes], key: str, *, on_mismatch: Callable[[str], BaseException | None]
) -> Iterator[bytes]:
    """Yield ``chunks`` (empty ones skipped); before the last one, check that all of them
    have the sha256 ``key``, else raise what ``on_mismatch(actual)`` returns (a
    :class:`KitaruUsageError` naming both when it returns ``None``)."""
    digest = hashlib.sha256()
    held: bytes | None = None
    for chunk in chunks:
        if not chunk:
            continue
        digest.update(chunk)
        if held is not None:
            yield held
        held = bytes(chunk)
    actual = digest.hexdigest()
    if actual != key:
        raise on_mismatch(actual) or mismatch(key, actual)
    if held is not None:
        yield held
