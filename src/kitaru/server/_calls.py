"""Routes of durable calls, their attempts, waits, artifact rows, model usage and logs."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Query, Response

from kitaru._wire import from_wire, to_wire
from kitaru.artifacts.base import ArtifactStore
from kitaru.records import (
    ArtifactRecord,
    AttemptRecord,
    CallRecord,
    CompletedAttempt,
    LlmUsageRecord,
    LogRecord,
)
from kitaru.server._schemas import (
    ArtifactBody,
    ArtifactWire,
    AttemptBody,
    AttemptFailureBody,
    CachedCallBody,
    CallMetadataPatchBody,
    CallWire,
    ChangedResult,
    CompletedAttemptBody,
    CompletionBody,
    IdResult,
    LlmUsageBody,
    LogsBody,
    WaitAnswerBody,
    WaitBody,
)
from kitaru.server._waits import check_client_answer
from kitaru.store.base import MetadataStore

__all__ = ["calls_router"]

_NO_CONTENT = 204


def calls_router(store: MetadataStore, artifacts: ArtifactStore) -> APIRouter:
    """Return the routes of calls, attempts, waits, artifact rows, model usage and logs over ``store``
    (``artifacts`` holds the blobs of large answers, which are checked before they are recorded)."""
    router = APIRouter()

    @router.post("/attempts", status_code=_NO_CONTENT, tags=["calls"], summary="Begin an attempt of a call")
    def begin_attempt(body: AttemptBody) -> Response:
        data = body.model_dump(mode="json")
        store.begin_attempt(
            from_wire(CallRecord, data["call"], where="call"),
            from_wire(AttemptRecord, data["attempt"], where="attempt"),
            epoch=body.epoch,
        )
        return Response(status_code=_NO_CONTENT)

    @router.post(
        "/calls/{call_id}/attempts/{attempt_id}/completion",
        status_code=_NO_CONTENT,
        tags=["calls"],
        summary="Complete an attempt with its output",
    )
    def complete_call(call_id: str, attempt_id: str, body: CompletionBody) -> Response:
        output = from_wire(ArtifactRecord, body.model_dump(mode="json")["output"], where="output")
        store.complete_call(call_id, attempt_id, output=output, ended_at=body.ended_at, epoch=body.epoch)
        return Response(status_code=_NO_CONTENT)

    @router.post(
        "/completed-attempts",
        status_code=_NO_CONTENT,
        tags=["calls"],
        summary="Record a call, its attempt and its output at once",
    )
    def record_completed_attempt(body: CompletedAttemptBody) -> Response:
        data = body.model_dump(mode="json")
        store.record_completed_attempt(
            from_wire(CallRecord, data["call"], where="call"),
            from_wire(AttemptRecord, data["attempt"], where="attempt"),
            output=from_wire(ArtifactRecord, data["output"], where="output"),
            ended_at=body.ended_at,
            epoch=body.epoch,
        )
        return Response(status_code=_NO_CONTENT)

    @router.post(
        "/calls/{call_id}/attempts/{attempt_id}/failure",
        status_code=_NO_CONTENT,
        tags=["calls"],
        summary="Fail an attempt (and, when final, its call)",
    )
    def fail_attempt(call_id: str, attempt_id: str, body: AttemptFailureBody) -> Response:
        store.fail_attempt(
            call_id,
            attempt_id,
            failure=body.failure,
            ended_at=body.ended_at,
            final=body.final,
            epoch=body.epoch,
        )
        return Response(status_code=_NO_CONTENT)

    @router.post("/cached-calls", response_model=ChangedResult, tags=["calls"], summary="Record a cache hit")
    def record_cached_call(body: CachedCallBody) -> Any:
        data = body.model_dump(mode="json")
        recorded = store.record_cached_call(
            from_wire(CallRecord, data["call"], where="call"),
            source=from_wire(CallRecord, data["source"], where="source"),
            epoch=body.epoch,
        )
        return {"changed": recorded}

    @router.get(
        "/cached-calls",
        response_model=CallWire | None,
        tags=["calls"],
        summary="The newest completed call with a cache key; null when none",
    )
    def find_cached_call(cache_key: str, exclude_exec_id: str, not_before: dt.datetime | None = None) -> Any:
        found = store.find_cached_call(cache_key, exclude_exec_id=exclude_exec_id, not_before=not_before)
        return to_wire(found)

    @router.patch(
        "/calls/{call_id}/metadata",
        status_code=_NO_CONTENT,
        tags=["calls"],
        summary="Merge into a call's metadata",
    )
    def merge_call_metadata(call_id: str, body: CallMetadataPatchBody) -> Response:
        store.merge_call_metadata(call_id, body.patch, epoch=body.epoch, attempt_id=body.attempt_id)
        return Response(status_code=_NO_CONTENT)

    @router.post("/waits", response_model=ChangedResult, tags=["waits"], summary="Enter a wait")
    def begin_wait(body: WaitBody) -> Any:
        data = body.model_dump(mode="json")
        entered = store.begin_wait(
            from_wire(CallRecord, data["call"], where="call"),
            from_wire(AttemptRecord | None, data["attempt"], where="attempt"),
            runner_id=body.runner_id,
            epoch=body.epoch,
        )
        return {"changed": entered}

    @router.post(
        "/waits/{call_id}/answer",
        response_model=ChangedResult,
        tags=["waits"],
        summary="Answer a wait",
        description=(
            "An answer stored as JSON is checked against the wait's JSON schema first: 422 with "
            "the message of every other surface, and nothing recorded, when it does not match."
        ),
    )
    def resolve_wait(call_id: str, body: WaitAnswerBody) -> Any:
        output = from_wire(ArtifactRecord | None, body.model_dump(mode="json")["output"], where="output")
        check_client_answer(store, artifacts, call_id, output=output, metadata=body.metadata)
        resolved = store.resolve_wait(call_id, output=output, metadata=body.metadata, ended_at=body.ended_at)
        return {"changed": resolved}

    @router.post("/artifacts", status_code=_NO_CONTENT, tags=["artifacts"], summary="Insert an artifact row")
    def add_artifact(body: ArtifactBody) -> Response:
        artifact = from_wire(ArtifactRecord, body.model_dump(mode="json")["artifact"], where="artifact")
        store.add_artifact(artifact, epoch=body.epoch)
        return Response(status_code=_NO_CONTENT)

    @router.get(
        "/artifacts/resolve", response_model=IdResult, tags=["artifacts"], summary="The full id of a prefix"
    )
    def resolve_artifact_id(prefix: str = Query()) -> Any:
        return {"id": store.resolve_artifact_id(prefix)}

    @router.get(
        "/artifacts/{artifact_id}",
        response_model=ArtifactWire,
        tags=["artifacts"],
        summary="One artifact row",
    )
    def get_artifact(artifact_id: str) -> Any:
        return to_wire(store.get_artifact(artifact_id))

    @router.post("/llm-usage", status_code=_NO_CONTENT, tags=["model usage"], summary="Record a model call")
    def record_llm_usage(body: LlmUsageBody) -> Response:
        data = body.model_dump(mode="json")
        store.record_llm_usage(
            from_wire(LlmUsageRecord, data["usage"], where="usage"),
            artifacts=from_wire(list[ArtifactRecord], data["artifacts"], where="artifacts"),
            metadata=body.metadata,
            completed=from_wire(CompletedAttempt | None, data["completed"], where="completed"),
            epoch=body.epoch,
        )
        return Response(status_code=_NO_CONTENT)

    @router.post("/logs", status_code=_NO_CONTENT, tags=["logs"], summary="Append log records")
    def append_logs(body: LogsBody) -> Response:
        store.append_logs(
            from_wire(list[LogRecord], body.model_dump(mode="json")["records"], where="records")
        )
        return Response(status_code=_NO_CONTENT)

    return router
