"""Routes of durable memory and retention."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Query, Response

from kitaru._types import ExecutionStatus
from kitaru._wire import from_wire, to_wire
from kitaru.records import ExecutionRecord, MemoryCompaction, MemoryEntry, MemoryOp
from kitaru.server._schemas import (
    BlobKeysBody,
    CountResult,
    DeletedRowsWire,
    DeletionBody,
    ExecutionWire,
    KeysResult,
    MemoryCompactionWire,
    MemoryEntryWire,
    MemoryOpBody,
    MemoryOpWire,
    MemoryScopeWire,
    MemoryWriteBody,
)
from kitaru.store.base import MetadataStore

__all__ = ["memory_router", "retention_router"]

_STATUSES = Query(default=[], description="The statuses an execution must have (none: no execution).")


def memory_router(store: MetadataStore) -> APIRouter:
    """Return the routes of durable memory over ``store``."""
    router = APIRouter(prefix="/memory", tags=["memory"])

    @router.post("/entries", response_model=MemoryEntryWire, summary="Write the next version of a key")
    def write_memory(body: MemoryWriteBody) -> Any:
        data = body.model_dump(mode="json")
        written = store.write_memory(
            from_wire(MemoryEntry, data["entry"], where="entry"),
            op=from_wire(MemoryOp | None, data["op"], where="op"),
            compaction=from_wire(MemoryCompaction | None, data["compaction"], where="compaction"),
            epoch=body.epoch,
        )
        return to_wire(written)

    @router.get(
        "/entries", response_model=list[MemoryEntryWire], summary="The newest live version of each key"
    )
    def list_memory(scope_type: str, scope: str, prefix: str | None = None) -> Any:
        return to_wire(store.list_memory(scope_type, scope, prefix=prefix))

    @router.get(
        "/entry", response_model=MemoryEntryWire | None, summary="One version of a key; null when none"
    )
    def get_memory(scope_type: str, scope: str, key: str, version: int | None = None) -> Any:
        return to_wire(store.get_memory(scope_type, scope, key, version=version))

    @router.get(
        "/history", response_model=list[MemoryEntryWire], summary="Every version of a key, newest first"
    )
    def memory_history(scope_type: str, scope: str, key: str) -> Any:
        return to_wire(store.memory_history(scope_type, scope, key))

    @router.get("/scopes", response_model=list[MemoryScopeWire], summary="Every scope that has keys")
    def list_memory_scopes() -> Any:
        return to_wire(store.list_memory_scopes())

    @router.delete(
        "/versions", response_model=CountResult, summary="Delete all but the newest versions of a key"
    )
    def purge_memory(scope_type: str, scope: str, key: str, keep: int) -> Any:
        return {"count": store.purge_memory(scope_type, scope, key, keep=keep)}

    @router.delete("/scope", response_model=CountResult, summary="Delete every version of a scope")
    def purge_memory_scope(scope_type: str, scope: str) -> Any:
        return {"count": store.purge_memory_scope(scope_type, scope)}

    @router.post("/ops", response_model=MemoryOpWire, summary="Journal a read of a flow body")
    def record_memory_op(body: MemoryOpBody) -> Any:
        op = from_wire(MemoryOp, body.model_dump(mode="json")["op"], where="op")
        return to_wire(store.record_memory_op(op, epoch=body.epoch))

    @router.post("/compactions", status_code=204, summary="Insert an audit record of maintenance")
    def add_memory_compaction(body: MemoryCompactionWire) -> Response:
        store.add_memory_compaction(from_wire(MemoryCompaction, body.model_dump(mode="json")))
        return Response(status_code=204)

    @router.get(
        "/compactions", response_model=list[MemoryCompactionWire], summary="Audit records, newest first"
    )
    def list_memory_compactions(
        scope_type: str | None = None, scope: str | None = None, key: str | None = None
    ) -> Any:
        return to_wire(store.list_memory_compactions(scope_type=scope_type, scope=scope, key=key))

    return router


def retention_router(store: MetadataStore) -> APIRouter:
    """Return the routes of retention (pruning executions) over ``store``."""
    router = APIRouter(tags=["retention"])

    @router.get(
        "/prunable-executions", response_model=list[ExecutionWire], summary="What a retention policy selects"
    )
    def list_prunable_executions(
        statuses: list[ExecutionStatus] = _STATUSES,
        before: dt.datetime | None = None,
        keep_last: int | None = None,
    ) -> Any:
        return to_wire(store.list_prunable_executions(statuses=statuses, before=before, keep_last=keep_last))

    @router.post("/execution-deletions", response_model=DeletedRowsWire, summary="Delete executions")
    def delete_executions(body: DeletionBody) -> Any:
        records = from_wire(list[ExecutionRecord], body.model_dump(mode="json")["records"], where="records")
        return to_wire(store.delete_executions(records, dry_run=body.dry_run))

    @router.post(
        "/blob-references", response_model=KeysResult, summary="Which blob keys rows still reference"
    )
    def referenced_blob_keys(body: BlobKeysBody) -> Any:
        return {"keys": sorted(store.referenced_blob_keys(body.keys))}

    return router
