"""Turning values into artifact rows and back, shared by the runtime and the client.

Small values go inline in the metadata row; larger ones into the artifact
store first (content-addressed), so a committed row never points at a blob
that is not fully written. Loading checks the bytes against the sha256 the row
records (inline data here, a blob in the artifact store), and refuses pickles
from a shared store unless they are explicitly allowed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kitaru._sources import ScriptSource
from kitaru._types import new_id, sha256_hex, utcnow
from kitaru.artifacts.base import INLINE_LIMIT, ArtifactStore
from kitaru.errors import KitaruArtifactIntegrityError, KitaruStateError
from kitaru.records import ArtifactRecord, MemoryEntry
from kitaru.serde import SerializedValue, deserialize, serialize, visualization

__all__ = ["INLINE_LIMIT", "load_memory_value", "load_value", "make_artifact", "make_memory_entry"]

_NO_VALUE: Any = object()


def make_artifact(
    artifacts: ArtifactStore,
    value: SerializedValue,
    *,
    exec_id: str,
    name: str,
    kind: str,
    call_id: str | None = None,
    tags: Iterable[str] = (),
    metadata: dict[str, Any] | None = None,
    original: Any = _NO_VALUE,
) -> ArtifactRecord:
    """Build the artifact row for a serialized value, writing its blob first when large.

    ``original`` is the value before serialization, when at hand: a registered serializer's
    ``visualize()`` picture of it is then kept in the row's metadata (``{"kitaru":
    {"visualization": ...}}``, see :func:`kitaru.serde.visualization`) for the dashboard.
    """
    if original is not _NO_VALUE:
        shown = visualization(original, value)
        if shown is not None:
            metadata = dict(metadata or {})
            metadata["kitaru"] = {**(metadata.get("kitaru") or {}), "visualization": shown}
    data = value.data
    digest = sha256_hex(data)
    inline: bytes | None = data
    blob_key: str | None = None
    if len(data) > INLINE_LIMIT:
        blob_key = artifacts.put(data, sha256=digest)
        inline = None
    return ArtifactRecord(
        artifact_id=new_id(),
        exec_id=exec_id,
        name=name,
        kind=kind,
        serializer=value.serializer,
        type_path=value.type_path,
        size=len(data),
        sha256=digest,
        created_at=utcnow(),
        call_id=call_id,
        data=inline,
        blob_key=blob_key,
        tags=tuple(tags),
        metadata=metadata or {},
    )


def load_value(
    artifacts: ArtifactStore, record: ArtifactRecord, *, shared_store: bool, script: ScriptSource = None
) -> Any:
    """Return the value stored in an artifact row (inline data or its blob).

    Args:
        artifacts: The artifact store that holds the row's blob.
        record: The artifact row, with its inline data (or blob key).
        shared_store: Whether the row comes from a store others can write
            (``MetadataStore.shared``): pickles from it are refused unless allowed.
        script: The script of the artifact's execution when its flow was defined
            in a script run as ``__main__`` (a path, or a callable that looks it up when a
            type of the value needs it): classes recorded as ``__main__:Name`` are loaded
            from it (see :func:`kitaru.serde.deserialize`).

    Raises:
        KitaruArtifactIntegrityError: The bytes are missing or do not match the
            recorded sha256; the message names the artifact.
        KitaruStateError: Pickles are refused, or the value cannot be loaded.
    """
    if record.data is not None:
        data = record.data
        actual = sha256_hex(data)
        if actual != record.sha256:
            raise _damaged(
                record,
                f"its inline data is corrupt: their sha256 is {actual}, not the recorded {record.sha256}.",
                reason="corrupt",
            )
    elif record.blob_key is not None:
        if record.blob_key != record.sha256:
            raise _damaged(
                record,
                f"its row is corrupt: it names the blob {record.blob_key} "
                f"but records the sha256 {record.sha256}.",
                reason="corrupt",
            )
        try:
            data = artifacts.get(record.blob_key)
        except KitaruArtifactIntegrityError as exc:
            raise _damaged(record, str(exc), reason=exc.reason) from exc
    else:
        raise KitaruStateError(
            f"Artifact {record.artifact_id!r} ({record.name!r}) has neither inline data nor a blob; "
            "it was read without its data. Fetch it with get_artifact()."
        )
    return deserialize(record.serializer, record.type_path, data, shared_store=shared_store, script=script)


def _damaged(record: ArtifactRecord, detail: str, *, reason: str) -> KitaruArtifactIntegrityError:
    return KitaruArtifactIntegrityError(
        f"Artifact {record.artifact_id} ({record.name!r} of execution {record.exec_id}) cannot be loaded: "
        f"{detail} Restore the data from a backup, or make the value again: a cached checkpoint call runs "
        f"live by itself, and `kitaru executions replay {record.exec_id} --from <checkpoint>` runs a "
        "checkpoint again in a new execution.",
        reason=reason,
        key=record.blob_key or record.sha256,
    )


def make_memory_entry(
    artifacts: ArtifactStore,
    value: Any,
    *,
    scope_type: str,
    scope: str,
    key: str,
    exec_id: str | None,
    metadata: dict[str, Any] | None = None,
) -> MemoryEntry:
    """Build a new memory version of ``value`` (its store assigns the version number),
    encoded as an artifact's value is: serialized by type, inline when small, else its blob
    written first."""
    artifact = make_artifact(artifacts, serialize(value), exec_id=exec_id or "", name=key, kind="memory")
    return MemoryEntry(
        scope_type=scope_type,
        scope=scope,
        key=key,
        version=0,
        created_at=artifact.created_at,
        exec_id=exec_id,
        serializer=artifact.serializer,
        type_path=artifact.type_path,
        size=artifact.size,
        sha256=artifact.sha256,
        data=artifact.data,
        blob_key=artifact.blob_key,
        metadata=metadata or {},
    )


def load_memory_value(artifacts: ArtifactStore, entry: MemoryEntry, *, shared_store: bool) -> Any:
    """Return the value of a memory version (``None`` for a tombstone)."""
    if entry.deleted:
        return None
    return load_value(artifacts, entry.as_artifact(), shared_store=shared_store)
