"""Routes of executions: ``/api/v1/executions`` and what hangs under one execution."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Query, Response

from kitaru._types import ExecutionStatus
from kitaru._wire import from_wire, to_wire
from kitaru.records import ArtifactRecord, CallRecord, ExecutionRecord
from kitaru.server._schemas import (
    ArtifactWire,
    CallWire,
    ChangedResult,
    ClaimBody,
    CopyCallsBody,
    CopyMemoryOpsBody,
    CountResult,
    CreateExecutionBody,
    ExecutionSummaryWire,
    ExecutionWire,
    FinishBody,
    HeartbeatBody,
    IdResult,
    LlmUsageTotalsWire,
    LlmUsageWire,
    LogWire,
    MemoryOpWire,
    MetadataPatchBody,
    RunnerBody,
    SeedCallsBody,
    StatusBody,
)
from kitaru.store._common import parse_cursor
from kitaru.store.base import MetadataStore

__all__ = ["executions_router"]

# Checked by the store, so that a bad value gets the store's own message.
_STATUS = Query(default=None, description="An execution status: " + ", ".join(ExecutionStatus))
_CURSOR = "`<created_at ISO 8601>,<exec_id>` of an execution"
_BEFORE = Query(default=None, description=f"Only executions listed after this one (older): {_CURSOR}")
_AFTER = Query(
    default=None, description=f"Only executions listed before this one (newer, the nearest ones): {_CURSOR}"
)


def executions_router(store: MetadataStore) -> APIRouter:
    """Return the routes of executions over ``store``."""
    router = APIRouter(prefix="/executions", tags=["executions"])

    @router.post("", status_code=201, response_model=IdResult, summary="Create an execution")
    def create_execution(body: CreateExecutionBody) -> Any:
        data = body.model_dump(mode="json")
        record = from_wire(ExecutionRecord, data["record"], where="record")
        store.create_execution(record, inputs=from_wire(list[ArtifactRecord], data["inputs"], where="inputs"))
        return {"id": record.exec_id}

    @router.get("", response_model=list[ExecutionWire], summary="List executions, newest first")
    def list_executions(
        flow: str | None = None,
        status: str | None = _STATUS,
        limit: int | None = None,
        since: dt.datetime | None = None,
    ) -> Any:
        return to_wire(store.list_executions(flow=flow, status=status, limit=limit, since=since))

    @router.get(
        "/summaries", response_model=list[ExecutionSummaryWire], summary="List executions with their counts"
    )
    def list_execution_summaries(
        flow: str | None = None,
        status: str | None = _STATUS,
        limit: int | None = None,
        since: dt.datetime | None = None,
        before: str | None = _BEFORE,
        after: str | None = _AFTER,
    ) -> Any:
        return to_wire(
            store.list_execution_summaries(
                flow=flow,
                status=status,
                limit=limit,
                since=since,
                before=None if before is None else parse_cursor(before, where="before"),
                after=None if after is None else parse_cursor(after, where="after"),
            )
        )

    @router.get(
        "/counts",
        response_model=dict[str, dict[str, int]],
        summary="The number of executions of each flow in each status: {flow: {status: count}}",
    )
    def count_executions(since: dt.datetime | None = None) -> Any:
        return store.count_executions(since=since)

    @router.get("/resolve", response_model=IdResult, summary="The full id of an execution id prefix")
    def resolve_exec_id(prefix: str) -> Any:
        return {"id": store.resolve_exec_id(prefix)}

    @router.get("/{exec_id}", response_model=ExecutionWire, summary="One execution")
    def get_execution(exec_id: str) -> Any:
        return to_wire(store.get_execution(exec_id))

    @router.post("/{exec_id}/start", response_model=ExecutionWire, summary="Start a run of the body")
    def start_execution(exec_id: str, body: RunnerBody) -> Any:
        return to_wire(store.start_execution(exec_id, runner_id=body.runner_id))

    @router.post(
        "/{exec_id}/claim",
        response_model=ExecutionWire | None,
        summary="Take over an execution (compare-and-set); null when the claim lost",
    )
    def claim_execution(exec_id: str, body: ClaimBody) -> Any:
        claimed = store.claim_execution(
            exec_id, runner_id=body.runner_id, expected=body.expected, expected_runner=body.expected_runner
        )
        return to_wire(claimed)

    @router.put("/{exec_id}/status", response_model=ChangedResult, summary="Set the status (compare-and-set)")
    def set_execution_status(exec_id: str, body: StatusBody) -> Any:
        changed = store.set_execution_status(
            exec_id,
            body.status,
            expected=body.expected,
            runner_id=body.runner_id,
            release=body.release,
            epoch=body.epoch,
        )
        return {"changed": changed}

    @router.post("/{exec_id}/finish", status_code=204, summary="End a run of the body")
    def finish_execution(exec_id: str, body: FinishBody) -> Response:
        data = body.model_dump(mode="json")
        store.finish_execution(
            exec_id,
            body.status,
            result=from_wire(ArtifactRecord | None, data["result"], where="result"),
            failure=body.failure,
            epoch=body.epoch,
        )
        return Response(status_code=204)

    @router.patch("/{exec_id}/metadata", status_code=204, summary="Merge into the execution's metadata")
    def merge_execution_metadata(exec_id: str, body: MetadataPatchBody) -> Response:
        store.merge_execution_metadata(exec_id, body.patch, epoch=body.epoch)
        return Response(status_code=204)

    @router.post(
        "/{exec_id}/heartbeat",
        response_model=ExecutionWire | None,
        summary="Renew the runner's lease; null when it does not hold the execution",
    )
    def heartbeat(exec_id: str, body: HeartbeatBody) -> Any:
        return to_wire(store.heartbeat(exec_id, runner_id=body.runner_id, epoch=body.epoch))

    @router.post("/{exec_id}/cancel-request", response_model=ExecutionWire, summary="Request cancellation")
    def request_cancel(exec_id: str) -> Any:
        return to_wire(store.request_cancel(exec_id))

    @router.get("/{exec_id}/journal", response_model=list[CallWire], summary="Every call with its output")
    def load_journal(exec_id: str) -> Any:
        return to_wire(store.load_journal(exec_id))

    @router.get("/{exec_id}/calls", response_model=list[CallWire], summary="The execution's calls, paged")
    def list_calls(
        exec_id: str,
        offset: int = 0,
        limit: int | None = None,
        artifacts: bool = False,
    ) -> Any:
        return to_wire(store.list_calls(exec_id, offset=offset, limit=limit, artifacts=artifacts))

    @router.get("/{exec_id}/calls/count", response_model=CountResult, summary="How many calls")
    def count_calls(exec_id: str) -> Any:
        return {"count": store.count_calls(exec_id)}

    @router.post("/{exec_id}/seeded-calls", status_code=204, summary="Insert copies of done calls")
    def seed_calls(exec_id: str, body: SeedCallsBody) -> Response:
        calls = from_wire(list[CallRecord], body.model_dump(mode="json")["calls"], where="calls")
        store.seed_calls(exec_id, calls)
        return Response(status_code=204)

    @router.post(
        "/{exec_id}/copied-calls", response_model=CountResult, summary="Copy another execution's done calls"
    )
    def copy_calls(exec_id: str, body: CopyCallsBody) -> Any:
        count = store.copy_calls(
            exec_id, body.source_exec_id, before_seq=body.before_seq, exclude=body.exclude
        )
        return {"count": count}

    @router.get("/{exec_id}/pending-waits", response_model=list[CallWire], summary="Pending waits")
    def list_pending_waits(exec_id: str) -> Any:
        return to_wire(store.list_pending_waits(exec_id))

    @router.get("/{exec_id}/artifacts", response_model=list[ArtifactWire], summary="Artifact rows (no data)")
    def list_artifacts(
        exec_id: str,
        name: str | None = None,
        kind: str | None = None,
        call_id: str | None = None,
        producing_call: str | None = None,
    ) -> Any:
        found = store.list_artifacts(
            exec_id, name=name, kind=kind, call_id=call_id, producing_call=producing_call
        )
        return to_wire(found)

    @router.get("/{exec_id}/logs", response_model=list[LogWire], summary="Log records in order")
    def list_logs(
        exec_id: str,
        call_id: str | None = None,
        after_seq: int | None = None,
        limit: int | None = None,
    ) -> Any:
        return to_wire(store.list_logs(exec_id, call_id=call_id, after_seq=after_seq, limit=limit))

    @router.get("/{exec_id}/llm-usage", response_model=list[LlmUsageWire], summary="Model usage rows")
    def list_llm_usage(exec_id: str) -> Any:
        return to_wire(store.list_llm_usage(exec_id))

    @router.get(
        "/{exec_id}/llm-usage/totals", response_model=LlmUsageTotalsWire, summary="Model usage, summed"
    )
    def llm_usage_totals(exec_id: str) -> Any:
        return to_wire(store.llm_usage_totals(exec_id))

    @router.get(
        "/{exec_id}/memory-ops", response_model=list[MemoryOpWire], summary="Journaled memory operations"
    )
    def list_memory_ops(exec_id: str) -> Any:
        return to_wire(store.list_memory_ops(exec_id))

    @router.post(
        "/{exec_id}/copied-memory-ops",
        response_model=CountResult,
        summary="Copy another execution's memory ops",
    )
    def copy_memory_ops(exec_id: str, body: CopyMemoryOpsBody) -> Any:
        return {"count": store.copy_memory_ops(exec_id, body.source_exec_id, before_seq=body.before_seq)}

    return router
