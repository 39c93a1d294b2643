"""The local directory artifact store: content-addressed files under one root.

A blob with sha256 ``abcdef…`` lives at ``root/ab/cdef…``. Each ``put`` writes
a temporary file in ``root/.tmp/`` and renames it into place (``os.replace``),
so a blob is either absent or complete under its key, even when the writer is
killed; concurrent writers of the same content (threads or processes) are safe
because they rename identical bytes onto the same path. Opening the store
removes the temporary files of writers that died (a bounded look at
``root/.tmp/``); :meth:`LocalArtifactStore.remove_stale_temp_files` removes
them all.

Reading a blob checks its content against its key (the sha256): a blob
changed on disk is refused, and moved aside to ``root/.corrupt/`` so that
storing the same content again repairs it.

Example:
    >>> import tempfile
    >>> store = LocalArtifactStore(tempfile.mkdtemp())
    >>> key = store.put(b"hello")
    >>> store.get(key)
    b'hello'
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
from collections.abc import Collection, Iterable, Iterator
from pathlib import Path

from kitaru._files import PRIVATE_FILE_MODE, make_private_dirs
from kitaru._types import sha256_hex
from kitaru.artifacts import _stream, _temp
from kitaru.errors import KitaruArtifactIntegrityError, KitaruBackendError, KitaruUsageError

__all__ = ["LocalArtifactStore"]

_HEX = frozenset("0123456789abcdef")
_CORRUPT_DIR = ".corrupt"
#: Temporary files looked at when the store is opened: opening stays cheap however many there are.
_OPEN_SCAN_LIMIT = 64
#: Seconds without a write after which a temporary file of a writer we cannot see is abandoned.
_ABANDONED_AFTER = 3600.0


def _check_key(key: object) -> str:
    if not isinstance(key, str) or len(key) != 64 or not _HEX.issuperset(key):
        raise KitaruUsageError(
            f"Invalid artifact key {key!r}: expected a sha256 hex digest (64 lowercase hex characters)."
        )
    return key


class LocalArtifactStore:
    """Content-addressed blobs in a local directory (the default artifact store).

    Directories are created on the first write; they and the blobs are the
    user's only (0700 and 0600: blobs hold flow arguments and outputs). With
    ``fsync=True`` every blob (and the directory entry of its rename) is
    flushed to disk before ``put`` returns, which survives power loss, not
    only process crashes.

    Args:
        root: The directory that holds the blobs.
        fsync: Whether to flush each blob to stable storage (slower).

    Example:
        >>> import tempfile
        >>> store = LocalArtifactStore(tempfile.mkdtemp(), fsync=True)
        >>> store.exists(store.put(b"x"))
        True
    """

    def __init__(self, root: str | os.PathLike[str], *, fsync: bool = False) -> None:
        self._root = Path(os.fspath(root)).expanduser().absolute()
        self._fsync = fsync
        self._temp_dir = self._root / _temp.TEMP_DIR
        with contextlib.suppress(OSError):  # recovery is best effort: a read-only store still opens
            _temp.remove_stale(self._temp_dir, older_than=_ABANDONED_AFTER, limit=_OPEN_SCAN_LIMIT)

    def __repr__(self) -> str:
        return f"LocalArtifactStore({str(self._root)!r}, fsync={self._fsync})"

    @property
    def uri(self) -> str:
        """The absolute path of the root directory."""
        return str(self._root)

    @property
    def root(self) -> Path:
        """The root directory as a :class:`~pathlib.Path`."""
        return self._root

    @property
    def temp_dir(self) -> Path:
        """The directory that holds blobs being written (``root/.tmp``)."""
        return self._temp_dir

    def path_for(self, key: str) -> Path:
        """Return the file path of the blob with this key (it may not exist).

        Example:
            >>> path = LocalArtifactStore("/data").path_for("ab" + "0" * 62)
            >>> path.parent.name, len(path.name)
            ('ab', 62)
        """
        _check_key(key)
        return self._root / key[:2] / key[2:]

    def put(self, data: bytes, *, sha256: str | None = None) -> str:
        """Store ``data`` atomically and return its sha256 hex key.

        Content that is already stored is not written again. ``sha256`` may
        be passed when the caller already computed it; it is trusted.

        Raises:
            KitaruUsageError: ``data`` is not bytes-like or ``sha256`` is malformed.
            KitaruBackendError: The file system refused the write.

        Example:
            >>> import tempfile
            >>> store = LocalArtifactStore(tempfile.mkdtemp())
            >>> store.put(b"a") == store.put(b"a")
            True
        """
        if not isinstance(data, bytes | bytearray | memoryview):
            raise KitaruUsageError(f"LocalArtifactStore.put() needs bytes, got {type(data).__name__}.")
        if sha256 is None:
            key = sha256_hex(data)
        else:
            key = _check_key(sha256.lower() if isinstance(sha256, str) else sha256)
        path = self._root / key[:2] / key[2:]
        size = memoryview(data).nbytes
        try:
            if os.stat(path).st_size == size:
                # Already stored. Its time is refreshed: a deletion started before now leaves
                # the blob alone, since the row this write is for may not be committed yet.
                with contextlib.suppress(OSError):
                    os.utime(path)
                return key
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise self._backend_error("check", path, exc) from exc
        self._write(path, [data])
        return key

    def put_stream(self, chunks: Iterable[bytes], *, sha256: str) -> str:
        """Store the bytes of ``chunks`` under ``sha256`` and return it, one chunk in memory
        at a time: they are hashed while written to a temporary file, which is renamed into
        place only when they have that sha256.

        Raises:
            KitaruUsageError: ``sha256`` is malformed, or the bytes have another sha256
                (nothing was stored).
            KitaruBackendError: The file system refused the write.

        Example:
            >>> import hashlib, tempfile
            >>> store = LocalArtifactStore(tempfile.mkdtemp())
            >>> key = hashlib.sha256(b"abc").hexdigest()
            >>> store.put_stream([b"a", b"bc"], sha256=key) == key and store.get(key) == b"abc"
            True
        """
        key = _check_key(sha256.lower() if isinstance(sha256, str) else sha256)
        self._write(self._root / key[:2] / key[2:], chunks, expect=key)
        return key

    def _write(
        self,
        path: Path,
        chunks: Iterable[bytes | bytearray | memoryview],
        *,
        expect: str | None = None,
    ) -> None:
        directory = path.parent
        temp = self._temp_dir / _temp.temp_name()
        try:
            try:
                fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, PRIVATE_FILE_MODE)
            except FileNotFoundError:
                self._make_dirs(self._temp_dir)
                fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, PRIVATE_FILE_MODE)
            with open(fd, "wb") as file:
                digest = hashlib.sha256() if expect is not None else None
                for chunk in chunks:
                    file.write(chunk)  # a buffered writer writes everything or raises
                    if digest is not None:
                        digest.update(chunk)
                if digest is not None and digest.hexdigest() != expect:
                    raise _stream.mismatch(str(expect), digest.hexdigest())
                if self._fsync:
                    file.flush()
                    os.fsync(fd)
            try:
                os.replace(temp, path)
            except FileNotFoundError:
                self._make_dirs(directory)
                os.replace(temp, path)
        except BaseException as exc:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            if isinstance(exc, OSError):
                raise self._backend_error("write", path, exc) from exc
            raise
        if self._fsync:
            try:
                self._fsync_dir(directory)
            except OSError as exc:
                raise self._backend_error("sync the directory of", path, exc) from exc

    def _make_dirs(self, directory: Path) -> None:
        make_private_dirs(directory)
        if self._fsync:  # make the new directory entries durable too
            self._fsync_dir(self._root)
            self._fsync_dir(self._root.parent)

    @staticmethod
    def _fsync_dir(directory: Path) -> None:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def get(self, key: str) -> bytes:
        """Return the blob stored under ``key``, checked against it (its sha256).

        Raises:
            KitaruArtifactIntegrityError: No blob has this key (``reason="missing"``), or its
                content does not match the key (``"corrupt"``; the file is moved aside).
            KitaruBackendError: The file could not be read.

        Example:
            >>> import tempfile
            >>> store = LocalArtifactStore(tempfile.mkdtemp())
            >>> store.get(store.put(b"abc"))
            b'abc'
        """
        path = self.path_for(key)
        try:
            with open(path, "rb") as file:
                data = file.read()
                actual = sha256_hex(data)
                if actual == key:
                    return data
                error = self._corrupt(key, path, os.fstat(file.fileno()), actual)
        except FileNotFoundError:
            raise self._missing(key, path) from None
        except OSError as exc:
            raise self._backend_error("read", path, exc) from exc
        raise error

    def blob_size(self, key: str) -> int | None:
        """The size of the blob in bytes, or ``None`` when it is not stored."""
        path = self.path_for(key)
        try:
            found = os.stat(path)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise self._backend_error("check", path, exc) from exc
        return found.st_size if stat.S_ISREG(found.st_mode) else None

    def read_stream(self, key: str, *, start: int = 0) -> tuple[int, Iterator[bytes]]:
        """The size of the blob and its bytes from ``start`` on, in chunks of 1 MiB; read
        from the start, checked against the key before the last chunk (a corrupt blob
        raises ``KitaruArtifactIntegrityError`` instead and is moved aside).

        Raises:
            KitaruArtifactIntegrityError: No blob has this key (``reason="missing"``).
            KitaruUsageError: ``start`` is past the end of the blob.

        Example:
            >>> import tempfile
            >>> store = LocalArtifactStore(tempfile.mkdtemp())
            >>> size, chunks = store.read_stream(store.put(b"abcdef"), start=2)
            >>> size, b"".join(chunks)
            (6, b'cdef')
        """
        path = self.path_for(key)
        try:
            file = open(path, "rb")  # noqa: SIM115 - the generator below closes it
        except FileNotFoundError:
            raise self._missing(key, path) from None
        except OSError as exc:
            raise self._backend_error("read", path, exc) from exc
        read = os.fstat(file.fileno())
        if not 0 <= start <= read.st_size:
            file.close()
            raise KitaruUsageError(
                f"Offset {start} is outside the blob {key} ({read.st_size} bytes): read from 0 to "
                f"{read.st_size}."
            )
        file.seek(start)

        def chunks() -> Iterator[bytes]:
            with file:
                yield from iter(lambda: file.read(_stream.CHUNK), b"")

        if start:
            return read.st_size, chunks()
        return read.st_size, _stream.checked(
            chunks(), key, on_mismatch=lambda actual: self._corrupt(key, path, read, actual)
        )

    def _missing(self, key: str, path: Path) -> KitaruArtifactIntegrityError:
        set_aside = sorted((self._root / _CORRUPT_DIR).glob(f"{key}.*"))
        why = (
            f"it was found corrupt and moved aside to {set_aside[-1]}"
            if set_aside
            else "it was deleted, or the store points at another directory"
        )
        return KitaruArtifactIntegrityError(
            f"The blob {key} is missing from the local artifact store at {self._root} (expected "
            f"file {path}): {why}.",
            reason="missing",
            key=key,
        )

    def _corrupt(
        self, key: str, path: Path, read: os.stat_result, actual: str
    ) -> KitaruArtifactIntegrityError:
        aside = self._set_aside(path, read)
        moved = (
            f" It was moved aside to {aside}, so that storing the same content again repairs it."
            if aside
            else ""
        )
        return KitaruArtifactIntegrityError(
            f"The blob {key} in the local artifact store at {self._root} is corrupt: the sha256 of "
            f"file {path} is {actual}, not its key; it was changed outside Kitaru, or the disk fails.{moved}",
            reason="corrupt",
            key=key,
        )

    def _set_aside(self, path: Path, read: os.stat_result) -> Path | None:
        """Move a corrupt blob out of its key's place (when it is still the file that was read)."""
        aside = self._root / _CORRUPT_DIR / f"{path.parent.name}{path.name}.{os.urandom(4).hex()}"
        try:
            self._make_dirs(aside.parent)
            os.rename(path, aside)
            moved = os.stat(aside)
            if (moved.st_dev, moved.st_ino) != (read.st_dev, read.st_ino):
                os.rename(aside, path)  # a writer stored the content again meanwhile: keep that
                return None
        except OSError:
            return None
        return aside

    def exists(self, key: str) -> bool:
        """Whether a blob with this key is stored.

        Example:
            >>> import tempfile
            >>> LocalArtifactStore(tempfile.mkdtemp()).exists("0" * 64)
            False
        """
        path = self.path_for(key)
        try:
            return stat.S_ISREG(os.stat(path).st_mode)
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise self._backend_error("check", path, exc) from exc

    def delete(self, keys: Collection[str], *, unless_stored_after: float | None = None) -> dict[str, int]:
        """Delete the blobs with these keys; return the size of each blob deleted.

        Keys with no blob are skipped. With ``unless_stored_after`` (seconds since
        the epoch) a blob whose file was written at or after that time stays
        (``put`` of content already stored refreshes the time).

        Raises:
            KitaruUsageError: A key is malformed.
            KitaruBackendError: A file could not be deleted.

        Example:
            >>> import tempfile
            >>> store = LocalArtifactStore(tempfile.mkdtemp())
            >>> key = store.put(b"abc")
            >>> store.delete([key]), store.exists(key)
            ({'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad': 3}, False)
        """
        deleted: dict[str, int] = {}
        for key in keys:
            path = self.path_for(key)
            try:
                found = os.stat(path)
                if unless_stored_after is not None and found.st_mtime >= unless_stored_after:
                    continue
                os.unlink(path)
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise self._backend_error("delete", path, exc) from exc
            deleted[key] = found.st_size
        return deleted

    def list_blobs(self, *, stored_before: float | None = None) -> Iterator[tuple[str, int]]:
        """Yield ``(key, size)`` of every stored blob; with ``stored_before`` (seconds
        since the epoch) only of those whose file was last written before it.

        Example:
            >>> import tempfile
            >>> store = LocalArtifactStore(tempfile.mkdtemp())
            >>> key = store.put(b"abc")
            >>> [size for _, size in store.list_blobs()]
            [3]
        """
        for shard in self._shards():
            try:
                entries = list(os.scandir(shard.path))
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise self._backend_error("list", shard.path, exc) from exc
            for entry in entries:
                key = shard.name + entry.name
                if len(key) != 64 or not _HEX.issuperset(key):
                    continue  # a temporary file or something that is no blob
                try:
                    found = entry.stat()
                except FileNotFoundError:
                    continue
                if stat.S_ISREG(found.st_mode) and (stored_before is None or found.st_mtime < stored_before):
                    yield key, found.st_size

    def _shards(self) -> list[os.DirEntry[str]]:
        """The directories of blobs (``root/ab/``)."""
        try:
            return [entry for entry in os.scandir(self._root) if entry.is_dir() and len(entry.name) == 2]
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise self._backend_error("list", self._root, exc) from exc

    def remove_stale_temp_files(self, *, older_than: float = _ABANDONED_AFTER) -> int:
        """Delete the temporary files of blob writes that were interrupted; return how many.

        A file written by a process of this host is removed once that process
        is gone, whatever its age, and never while it lives (a stopped or slow
        writer keeps its file). A file whose writer this host cannot see
        (another machine sharing the directory, or an older Kitaru, which wrote
        them beside the blobs) is removed once nothing wrote to it for
        ``older_than`` seconds. Blobs are never touched. Unlike the look at
        ``root/.tmp/`` when the store is opened, this scans every shard.

        Raises:
            KitaruBackendError: A directory could not be listed.

        Example:
            >>> import tempfile
            >>> LocalArtifactStore(tempfile.mkdtemp()).remove_stale_temp_files()
            0
        """
        try:
            removed = _temp.remove_stale(self._temp_dir, older_than=older_than)
        except FileNotFoundError:
            removed = 0
        except OSError as exc:
            raise self._backend_error("list", self._temp_dir, exc) from exc
        for shard in self._shards():
            try:
                removed += _temp.remove_stale(Path(shard.path), older_than=older_than, legacy=True)
            except OSError as exc:
                raise self._backend_error("list", shard.path, exc) from exc
        return removed

    def _backend_error(self, action: str, path: Path | str, exc: OSError) -> KitaruBackendError:
        return KitaruBackendError(
            f"Could not {action} the artifact file {path} in the local artifact store at {self._root}: "
            f"{exc.strerror or exc}. Check that the directory exists, is writable and the disk is not full."
        )
