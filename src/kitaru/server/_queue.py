"""Routes of the work queue: queueing executions, and the long-polled claims of workers.

The server runs no user code: resume and retry here only put the execution in the queue
(after the same state check the operation makes everywhere), and a ``kitaru worker`` that
serves this server claims it. A replay is recorded as a new queued execution carrying the
request (checked against the source's journal first); the worker that claims it plans it.
A claim waits on the server for up to ``wait`` seconds (at most :data:`MAX_CLAIM_WAIT`) and
returns as soon as work is queued, so an idle worker neither polls nor misses work.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import anyio
import pydantic
from fastapi import APIRouter

from kitaru._lifecycle import check_resume, check_retry
from kitaru._types import ExecutionStatus
from kitaru._wire import to_wire
from kitaru.errors import KitaruStateError
from kitaru.server._schemas import ExecutionWire
from kitaru.store._replay import queue_replay
from kitaru.store.base import MetadataStore

__all__ = ["MAX_CLAIM_WAIT", "ClaimQueuedBody", "EnqueueBody", "ReplayBody", "queue_router"]

#: The longest a claim waits on the server for work (seconds).
MAX_CLAIM_WAIT = 30.0


class _Body(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")


class EnqueueBody(_Body):
    """A compare-and-set that puts an execution in the work queue."""

    expected: list[ExecutionStatus]
    expected_runner: str | None = None
    queue: str | None = None
    not_before: dt.datetime | None = None


class ClaimQueuedBody(_Body):
    """A worker's claim of the oldest work."""

    runner_id: str
    lease_seconds: float = pydantic.Field(gt=0)
    flows: list[str] | None = None
    queue: str | None = None
    wait: float = pydantic.Field(
        default=0.0, ge=0, description=f"Seconds to wait for work (≤ {MAX_CLAIM_WAIT:g})."
    )


class ReplayBody(_Body):
    """A replay for a worker to plan and run: the call it starts from, new flow inputs,
    pinned checkpoint outputs (JSON values) and options."""

    model_config = pydantic.ConfigDict(extra="forbid", populate_by_name=True)

    from_: str = pydantic.Field(
        alias="from", description="The call to replay from: a checkpoint name, invocation id or call id."
    )
    overrides: dict[str, Any] | None = pydantic.Field(
        default=None, description='Pinned outputs: {"checkpoint.<selector>": value}.'
    )
    flow_inputs: dict[str, Any] = pydantic.Field(
        default_factory=dict, description="New values of the flow's parameters, by name."
    )
    options: dict[str, Any] | None = pydantic.Field(
        default=None, description="`cache`, `retries`, `image` of the new execution."
    )
    queue: str | None = None


class QueueBody(_Body):
    """Where a resumed or retried execution waits for a worker."""

    queue: str | None = None


def queue_router(store: MetadataStore, *, max_wait: float = MAX_CLAIM_WAIT) -> APIRouter:
    """Return the routes of the work queue over ``store``; a claim waits at most ``max_wait``
    seconds (the server's limit of long polls)."""
    router = APIRouter(tags=["queue"])

    @router.post(
        "/executions/{exec_id}/enqueue",
        response_model=ExecutionWire | None,
        summary="Put an execution in the work queue (compare-and-set); null when it changed meanwhile",
    )
    def enqueue_execution(exec_id: str, body: EnqueueBody) -> Any:
        queued = store.enqueue_execution(
            exec_id,
            expected=body.expected,
            expected_runner=body.expected_runner,
            queue=body.queue,
            not_before=body.not_before,
        )
        return to_wire(queued)

    @router.post(
        "/queue/claim",
        response_model=ExecutionWire | None,
        summary="Claim the oldest queued execution or orphan for a worker, waiting for work",
        description=f"Waits up to `wait` seconds (at most {MAX_CLAIM_WAIT:g}) when there is no work; "
        "null when none came.",
    )
    async def claim_queued_execution(body: ClaimQueuedBody) -> Any:
        def claim() -> Any:
            return store.claim_queued_execution(
                runner_id=body.runner_id,
                lease_seconds=body.lease_seconds,
                flows=body.flows,
                queue=body.queue,
                wait=min(body.wait, max_wait),
            )

        return to_wire(await anyio.to_thread.run_sync(claim, abandon_on_cancel=True))

    @router.post(
        "/executions/{exec_id}/resume",
        response_model=ExecutionWire,
        summary="Queue a resume for a worker: a waiting execution whose input is resolved, or an orphan",
        description="409 when the state does not allow it (the reason is the message).",
    )
    def resume(exec_id: str, body: QueueBody | None = None) -> Any:
        record = store.get_execution(store.resolve_exec_id(exec_id))
        check_resume(record, lambda: store.list_pending_waits(record.exec_id))
        return to_wire(_queue(store, record, body))

    @router.post(
        "/executions/{exec_id}/retry",
        response_model=ExecutionWire,
        summary="Queue a retry of a failed execution for a worker",
        description="409 when the state does not allow it (the reason is the message).",
    )
    def retry(exec_id: str, body: QueueBody | None = None) -> Any:
        record = store.get_execution(store.resolve_exec_id(exec_id))
        check_retry(record)
        return to_wire(_queue(store, record, body))

    @router.post(
        "/executions/{exec_id}/replay",
        response_model=ExecutionWire,
        summary="Queue a replay for a worker, which plans it (binds inputs, reuses calls) and runs it",
        description=(
            "Returns the new execution at once (queued). 409 when the source cannot be replayed in "
            "its state or `from` (or an override) names no call of it, or several; 422 for a "
            "malformed override key or option. The messages are those of a local replay."
        ),
    )
    def replay(exec_id: str, body: ReplayBody) -> Any:
        return to_wire(
            queue_replay(
                store,
                exec_id,
                from_=body.from_,
                overrides=body.overrides,
                flow_inputs=body.flow_inputs,
                options=body.options,
                queue=body.queue,
            )
        )

    return router


def _queue(store: MetadataStore, record: Any, body: QueueBody | None) -> Any:
    queued = store.enqueue_execution(
        record.exec_id,
        expected=[record.status],
        expected_runner=record.runner_id,
        queue=(body.queue if body is not None else None) or record.queue,
    )
    if queued is None:
        raise KitaruStateError(
            f"Execution {record.exec_id} changed meanwhile (another runner took it over); nothing done."
        )
    return queued
