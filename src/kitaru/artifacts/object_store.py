"""The object storage artifact store: content-addressed blobs in an S3-compatible bucket.

A blob with sha256 ``abcdef…`` lives at ``s3://bucket/prefix/ab/cdef…`` (the
keys of the local directory store). A blob up to 8 MiB is written with one
``PUT``; a larger one with a multipart upload in 8 MiB parts (so blobs over the
5 GiB of one ``PUT`` fit), which the object storage completes only after its
last part: either way the object is absent or complete under its key, so a
metadata row committed after ``put`` returns never points at a partial blob.
A streamed write (:meth:`ObjectArtifactStore.put_stream`) hashes the bytes as
they pass and aborts the upload before its last part when they do not have the
key's sha256. A writer killed in the middle of a multipart upload leaves its
parts to the bucket's lifecycle rule for incomplete uploads (configure one);
nothing is visible under a key. Concurrent writers of the same content write
identical bytes to the same key.

Reading a blob checks its content against its key: a changed object is
refused, and copied aside to ``prefix/.corrupt/`` and removed from its key's
place, so that storing the same content again repairs it.

The URL is ``s3://bucket[/prefix]``; an S3-compatible server other than AWS
(MinIO, Ceph, a test server) is named by ``?endpoint_url=http://host:port`` in
the URL or the environment variable ``KITARU_S3_ENDPOINT_URL``. Credentials and
the region come from the standard AWS environment variables
(``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``,
``AWS_REGION`` / ``AWS_DEFAULT_REGION``). This is the one module that imports
``obstore`` (the extra ``s3``).

Example:
    >>> parse_s3_url("s3://blobs/team?endpoint_url=http://127.0.0.1:9000")
    ('blobs', 'team', 'http://127.0.0.1:9000')
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import os
from collections.abc import Collection, Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

from kitaru.artifacts import _stream
from kitaru.errors import (
    KitaruArtifactIntegrityError,
    KitaruBackendError,
    KitaruError,
    KitaruFeatureNotAvailableError,
    KitaruUsageError,
)

__all__ = ["ENDPOINT_ENV", "ObjectArtifactStore", "parse_s3_url"]

#: The environment variable that names an S3-compatible endpoint (when the URL names none).
ENDPOINT_ENV = "KITARU_S3_ENDPOINT_URL"
_HEX = frozenset("0123456789abcdef")
_CORRUPT_DIR = ".corrupt"
#: Blobs up to this size are written with one ``PUT``; larger ones in parts of this size.
PART_SIZE = 8 << 20
#: Parts of one multipart upload in flight at once (bounds the memory of a streamed write).
_PARTS_IN_FLIGHT = 4


def _check_key(key: object) -> str:
    if not isinstance(key, str) or len(key) != 64 or not _HEX.issuperset(key):
        raise KitaruUsageError(
            f"Invalid artifact key {key!r}: expected a sha256 hex digest (64 lowercase hex characters)."
        )
    return key


def _check_endpoint(endpoint: str, source: str) -> str:
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        raise KitaruUsageError(
            f"{source} is {endpoint!r}: expected the URL of an S3-compatible server, "
            "e.g. http://127.0.0.1:9000 or https://s3.example.com (scheme and host, no path)."
        )
    return endpoint.rstrip("/")


def parse_s3_url(url: str, environ: Mapping[str, str] | None = None) -> tuple[str, str, str | None]:
    """Split ``s3://bucket[/prefix][?endpoint_url=…]`` into bucket, prefix and endpoint.

    The endpoint comes from the URL, else from ``KITARU_S3_ENDPOINT_URL``, else it
    is ``None`` (AWS itself).

    Raises:
        KitaruUsageError: the URL or the endpoint is malformed (the message names which).

    Example:
        >>> parse_s3_url("s3://blobs", environ={})
        ('blobs', '', None)
    """
    environ = os.environ if environ is None else environ
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc or parts.fragment:
        raise KitaruUsageError(
            f"Artifact store URL {url!r} is not valid: expected s3://bucket/prefix "
            "(optionally ?endpoint_url=http://host:port)."
        )
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = sorted(set(query) - {"endpoint_url"})
    if unknown or len(query.get("endpoint_url", [])) > 1:
        raise KitaruUsageError(
            f"Artifact store URL {url!r} has unknown or repeated options {unknown or ['endpoint_url']}: "
            "expected only ?endpoint_url=http://host:port."
        )
    endpoint: str | None
    if "endpoint_url" in query:
        endpoint = _check_endpoint(query["endpoint_url"][0], f"The endpoint_url of {url!r}")
    elif environ.get(ENDPOINT_ENV):
        endpoint = _check_endpoint(environ[ENDPOINT_ENV], f"The environment variable {ENDPOINT_ENV}")
    else:
        endpoint = None
    return parts.netloc, parts.path.strip("/"), endpoint


def _obstore() -> Any:
    try:
        import obstore
        import obstore.store
    except ImportError as exc:
        raise KitaruFeatureNotAvailableError(
            "An s3:// artifact store needs obstore, which is not installed: pip install 'kitaru[s3]'"
        ) from exc
    return obstore


class ObjectArtifactStore:
    """Content-addressed blobs in an S3-compatible bucket.

    Args:
        url: ``s3://bucket[/prefix][?endpoint_url=http://host:port]``.

    Raises:
        KitaruUsageError: the URL or ``KITARU_S3_ENDPOINT_URL`` is malformed.
        KitaruFeatureNotAvailableError: the extra ``s3`` is not installed.
    """

    def __init__(self, url: str) -> None:
        bucket, prefix, endpoint = parse_s3_url(url)
        self._obstore = _obstore()
        self._bucket, self._prefix, self._endpoint = bucket, prefix, endpoint
        self._uri = f"s3://{bucket}/{prefix}".rstrip("/")
        if endpoint is not None and "endpoint_url=" in url:
            self._uri += f"?endpoint_url={endpoint}"
        options: dict[str, Any] = {}
        config: dict[str, Any] = {}
        if endpoint is not None:
            config["endpoint"] = endpoint
            config["virtual_hosted_style_request"] = False
            if endpoint.startswith("http://"):
                options["allow_http"] = True
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        if region:
            config["region"] = region
        try:
            self._store = self._obstore.store.S3Store(
                bucket, prefix=prefix or None, config=config, client_options=options or None
            )
        except Exception as exc:
            raise KitaruUsageError(f"Could not open the artifact store {self._uri}: {exc}") from exc

    def __repr__(self) -> str:
        return f"ObjectArtifactStore({self._uri!r})"

    @property
    def uri(self) -> str:
        """The store's ``s3://bucket/prefix`` URL."""
        return self._uri

    @staticmethod
    def _path(key: str) -> str:
        return f"{key[:2]}/{key[2:]}"

    def put(self, data: bytes, *, sha256: str | None = None) -> str:
        """Store ``data`` atomically and return its sha256 hex key.

        Up to 8 MiB with one ``PUT``, more as a multipart upload (in 8 MiB parts).
        Content already stored is written again (the same bytes under the same
        key): that refreshes its time, so a deletion started before now leaves
        it alone. ``sha256`` may be passed when the caller already computed it;
        it is trusted.

        Raises:
            KitaruUsageError: ``data`` is not bytes-like or ``sha256`` is malformed.
            KitaruBackendError: The object storage refused the write or could not be reached.
        """
        if not isinstance(data, bytes | bytearray | memoryview):
            raise KitaruUsageError(f"ObjectArtifactStore.put() needs bytes, got {type(data).__name__}.")
        if sha256 is None:
            key = hashlib.sha256(data).hexdigest()
        else:
            key = _check_key(sha256.lower() if isinstance(sha256, str) else sha256)
        size = memoryview(data).nbytes
        if size <= PART_SIZE:
            self._put(key, bytes(data), multipart=False)
        else:
            view = memoryview(data).cast("B")
            self._put(key, (view[at : at + PART_SIZE] for at in range(0, size, PART_SIZE)), multipart=True)
        return key

    def put_stream(self, chunks: Iterable[bytes], *, sha256: str) -> str:
        """Store the bytes of ``chunks`` under ``sha256``, hashed as they pass: up to 8 MiB
        with one ``PUT`` once they proved to have that sha256, more as a multipart upload
        that is aborted before its last part when they do not. At most a few parts are in
        memory at once.

        Raises:
            KitaruUsageError: ``sha256`` is malformed, or the bytes have another sha256
                (nothing was stored).
            KitaruBackendError: The object storage refused the write or could not be reached.
        """
        key = _check_key(sha256.lower() if isinstance(sha256, str) else sha256)
        stream = iter(chunks)
        head = bytearray()
        for chunk in stream:
            head += chunk
            if len(head) > PART_SIZE:
                rest = itertools.chain([bytes(head)], stream)
                self._put(key, _stream.checked(rest, key, on_mismatch=lambda actual: None), multipart=True)
                return key
        actual = hashlib.sha256(head).hexdigest()
        if actual != key:
            raise _stream.mismatch(key, actual)
        self._put(key, bytes(head), multipart=False)
        return key

    def _put(self, key: str, data: bytes | Iterator[Any], *, multipart: bool) -> None:
        try:
            self._obstore.put(
                self._store,
                self._path(key),
                data,
                use_multipart=multipart,
                chunk_size=PART_SIZE,
                max_concurrency=_PARTS_IN_FLIGHT,
            )
        except KitaruError:
            raise
        except Exception as exc:
            raise self._backend_error("write", key, exc) from exc

    def blob_size(self, key: str) -> int | None:
        """The size of the blob in bytes, or ``None`` when it is not stored."""
        meta = self._head(_check_key(key))
        return None if meta is None else int(meta["size"])

    def read_stream(self, key: str, *, start: int = 0) -> tuple[int, Iterator[bytes]]:
        """The size of the blob and its bytes from ``start`` on, in chunks of 1 MiB or
        more; read from the start, checked against the key before the last chunk (a
        corrupt object raises ``KitaruArtifactIntegrityError`` instead and is moved aside).

        Raises:
            KitaruArtifactIntegrityError: No object has this key (``reason="missing"``).
            KitaruUsageError: ``start`` is past the end of the blob.
            KitaruBackendError: The object could not be read.
        """
        path = self._path(_check_key(key))
        try:
            options: Any = {"range": {"offset": start}} if start else None
            result = self._obstore.get(self._store, path, options=options)
        except FileNotFoundError:
            raise self._missing(key, path) from None
        except Exception as exc:
            meta = self._head(key) if start > 0 else None
            if meta is None:
                raise self._backend_error("read", key, exc) from exc
            size = int(meta["size"])
            if start == size:
                return size, iter(())
            raise KitaruUsageError(
                f"Offset {start} is outside the blob {key} ({size} bytes): read from 0 to {size}."
            ) from None
        size = int(result.meta["size"])
        chunks = (bytes(chunk) for chunk in result.stream(min_chunk_size=_stream.CHUNK))
        if start:
            return size, chunks
        return size, _stream.checked(chunks, key, on_mismatch=lambda actual: self._corrupt(key, path, actual))

    def signed_url(self, method: str, key: str, *, expires_in: float) -> str:
        """A URL valid for ``expires_in`` seconds to ``GET`` or ``PUT`` the object of ``key``
        with no credentials (signed with the store's).

        Raises:
            KitaruUsageError: ``method`` is not GET or PUT, or the key is malformed.
            KitaruBackendError: The store's credentials cannot sign (none were found).
        """
        if method not in ("GET", "PUT"):
            raise KitaruUsageError(f"A signed URL is for GET or PUT, not {method!r}.")
        path = self._path(_check_key(key))
        try:
            url: str = self._obstore.sign(self._store, method, path, dt.timedelta(seconds=expires_in))
        except Exception as exc:
            raise self._backend_error("sign a URL for", key, exc) from exc
        return url

    def get(self, key: str) -> bytes:
        """Return the blob stored under ``key``, checked against it (its sha256).

        Raises:
            KitaruArtifactIntegrityError: No object has this key (``reason="missing"``), or its
                content does not match the key (``"corrupt"``; it is moved aside).
            KitaruBackendError: The object could not be read.
        """
        path = self._path(_check_key(key))
        try:
            data = bytes(self._obstore.get(self._store, path).bytes())
        except FileNotFoundError:
            raise self._missing(key, path) from None
        except Exception as exc:
            raise self._backend_error("read", key, exc) from exc
        actual = hashlib.sha256(data).hexdigest()
        if actual == key:
            return data
        raise self._corrupt(key, path, actual)

    def _missing(self, key: str, path: str) -> KitaruArtifactIntegrityError:
        return KitaruArtifactIntegrityError(
            f"The blob {key} is missing from the artifact store {self._uri} (expected object "
            f"{path}): it was deleted, or the store points at another bucket or prefix.",
            reason="missing",
            key=key,
        )

    def _corrupt(self, key: str, path: str, actual: str) -> KitaruArtifactIntegrityError:
        aside = self._set_aside(path, key)
        moved = (
            f" It was moved aside to {aside}, so that storing the same content again repairs it."
            if aside
            else ""
        )
        return KitaruArtifactIntegrityError(
            f"The blob {key} in the artifact store {self._uri} is corrupt: the sha256 of object "
            f"{path} is {actual}, not its key; it was changed outside Kitaru.{moved}",
            reason="corrupt",
            key=key,
        )

    def _set_aside(self, path: str, key: str) -> str | None:
        """Copy a corrupt object to ``.corrupt/`` and remove it from its key's place (best effort)."""
        aside = f"{_CORRUPT_DIR}/{key}.{os.urandom(4).hex()}"
        try:
            self._obstore.copy(self._store, path, aside)
            self._obstore.delete(self._store, path)
        except Exception:
            return None
        return aside

    def _head(self, key: str) -> dict[str, Any] | None:
        try:
            meta: dict[str, Any] = self._obstore.head(self._store, self._path(key))
        except FileNotFoundError:
            return None
        except Exception as exc:
            raise self._backend_error("check", key, exc) from exc
        return meta

    def exists(self, key: str) -> bool:
        """Whether an object with this key is stored."""
        return self._head(_check_key(key)) is not None

    def delete(self, keys: Collection[str], *, unless_stored_after: float | None = None) -> dict[str, int]:
        """Delete the blobs with these keys; return the size of each blob deleted.

        Keys with no object are skipped. With ``unless_stored_after`` (seconds since the
        epoch) an object last written at or after that time stays.

        Raises:
            KitaruUsageError: A key is malformed.
            KitaruBackendError: An object could not be deleted.
        """
        deleted: dict[str, int] = {}
        for key in [_check_key(key) for key in keys]:
            meta = self._head(key)
            if meta is None:
                continue
            if unless_stored_after is not None and meta["last_modified"].timestamp() >= unless_stored_after:
                continue
            try:
                self._obstore.delete(self._store, self._path(key))
            except Exception as exc:
                raise self._backend_error("delete", key, exc) from exc
            deleted[key] = int(meta["size"])
        return deleted

    def list_blobs(self, *, stored_before: float | None = None) -> Iterator[tuple[str, int]]:
        """Yield ``(key, size)`` of every stored blob; with ``stored_before`` (seconds since
        the epoch) only of those last written before it."""
        try:
            batches = list(self._obstore.list(self._store))
        except Exception as exc:
            raise self._backend_error("list", None, exc) from exc
        for batch in batches:
            for meta in batch:
                key = str(meta["path"]).replace("/", "")
                if len(key) != 64 or not _HEX.issuperset(key) or str(meta["path"])[2:3] != "/":
                    continue  # objects set aside or not written by Kitaru
                if stored_before is None or meta["last_modified"].timestamp() < stored_before:
                    yield key, int(meta["size"])

    def remove_stale_temp_files(self, *, older_than: float = 3600.0) -> int:
        """Nothing to remove under any key: an interrupted write leaves nothing visible
        (the parts of an interrupted multipart upload are the bucket lifecycle's to remove)."""
        return 0

    def _backend_error(self, action: str, key: str | None, exc: Exception) -> KitaruBackendError:
        what = f"the blob {key}" if key else "the blobs"
        return KitaruBackendError(
            f"Could not {action} {what} in the artifact store {self._uri}: {exc}. Check that the "
            f"bucket exists, the endpoint ({self._endpoint or 'AWS'}) is reachable and the AWS "
            "credentials in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) may write it."
        )
