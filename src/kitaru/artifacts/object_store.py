"""The object storage artifact store: content-addressed blobs in an S3-compatible bucket.

A blob with sha256 ``abcdef…`` lives at ``s3://bucket/prefix/ab/cdef…`` (the
keys of the local directory store). Each ``put`` is one ``PUT`` request (never
a multipart upload), and an object ``PUT`` is atomic: the object is either
absent or complete under its key, so a metadata row committed after ``put``
returns never points at a partial blob, and a writer killed mid-upload leaves
nothing behind (:meth:`ObjectArtifactStore.remove_stale_temp_files` has
nothing to remove). Concurrent writers of the same content write identical
bytes to the same key.

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

import hashlib
import os
from collections.abc import Collection, Iterator, Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

from kitaru.errors import (
    KitaruArtifactIntegrityError,
    KitaruBackendError,
    KitaruFeatureNotAvailableError,
    KitaruUsageError,
)

__all__ = ["ENDPOINT_ENV", "ObjectArtifactStore", "parse_s3_url"]

#: The environment variable that names an S3-compatible endpoint (when the URL names none).
ENDPOINT_ENV = "KITARU_S3_ENDPOINT_URL"
_HEX = frozenset("0123456789abcdef")
_CORRUPT_DIR = ".corrupt"


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
        """Store ``data`` with one atomic ``PUT`` and return its sha256 hex key.

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
        try:
            self._obstore.put(self._store, self._path(key), bytes(data), use_multipart=False)
        except Exception as exc:
            raise self._backend_error("write", key, exc) from exc
        return key

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
            raise KitaruArtifactIntegrityError(
                f"The blob {key} is missing from the artifact store {self._uri} (expected object "
                f"{path}): it was deleted, or the store points at another bucket or prefix.",
                reason="missing",
                key=key,
            ) from None
        except Exception as exc:
            raise self._backend_error("read", key, exc) from exc
        actual = hashlib.sha256(data).hexdigest()
        if actual == key:
            return data
        aside = self._set_aside(path, key)
        moved = (
            f" It was moved aside to {aside}, so that storing the same content again repairs it."
            if aside
            else ""
        )
        raise KitaruArtifactIntegrityError(
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
        """Nothing to remove: each blob is one atomic ``PUT`` (never a multipart upload),
        so an interrupted write leaves nothing behind."""
        return 0

    def _backend_error(self, action: str, key: str | None, exc: Exception) -> KitaruBackendError:
        what = f"the blob {key}" if key else "the blobs"
        return KitaruBackendError(
            f"Could not {action} {what} in the artifact store {self._uri}: {exc}. Check that the "
            f"bucket exists, the endpoint ({self._endpoint or 'AWS'}) is reachable and the AWS "
            "credentials in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) may write it."
        )
