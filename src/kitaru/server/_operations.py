"""Lifecycle operations as resources: cancel, and whether resume, retry and replay are possible.

The server runs no user code: resume, retry and replay run the flow's body, so the server
only queues them for a ``kitaru worker`` (see :mod:`kitaru.server._queue`). Here: cancel
(a state change: the runner stops at its next durable boundary; an execution nobody runs
ends ``cancelled`` at once), and tell, for each
operation, whether the current state allows it and if not why, with the message the
operation itself would raise (``GET /executions/{id}/operations``).
"""

from __future__ import annotations

from typing import Any

import pydantic
from fastapi import APIRouter

from kitaru._lifecycle import check_replay, check_resume, check_retry
from kitaru._wire import to_wire
from kitaru.errors import KitaruStateError
from kitaru.records import ExecutionRecord
from kitaru.server._schemas import ExecutionWire
from kitaru.store.base import MetadataStore, cancel_execution

__all__ = ["OperationCheck", "OperationsResult", "operations_router"]


class OperationCheck(pydantic.BaseModel):
    """Whether an operation is possible now; if not, the reason (the operation's own error)."""

    model_config = pydantic.ConfigDict(extra="forbid")

    allowed: bool
    reason: str | None


class OperationsResult(pydantic.BaseModel):
    """The lifecycle operations of one execution, each checked against its current state."""

    model_config = pydantic.ConfigDict(extra="forbid")

    exec_id: str
    status: str
    cancel: OperationCheck
    resume: OperationCheck
    retry: OperationCheck
    replay: OperationCheck


def operations_router(store: MetadataStore) -> APIRouter:
    """Return the routes of lifecycle operations over ``store``."""
    router = APIRouter(prefix="/executions", tags=["executions"])

    @router.get(
        "/{exec_id}/operations",
        response_model=OperationsResult,
        summary="Which lifecycle operations the execution's state allows now, and why not",
        description=(
            "Resume, retry and replay run the flow's code, which the server never does: it queues "
            "them for a worker (`POST /executions/{id}/resume|retry|replay`); this tells whether "
            "they would be refused, with the same message."
        ),
    )
    def operations(exec_id: str) -> Any:
        record = store.get_execution(exec_id)
        return {
            "exec_id": record.exec_id,
            "status": record.status.value,
            "cancel": _checked(lambda: _check_cancel(record)),
            "resume": _checked(lambda: check_resume(record, lambda: store.list_pending_waits(exec_id))),
            "retry": _checked(lambda: check_retry(record)),
            "replay": _checked(lambda: check_replay(record)),
        }

    @router.post(
        "/{exec_id}/cancel",
        response_model=ExecutionWire,
        summary="Cancel an execution: its runner stops at the next durable boundary",
        description=(
            "Records the request; an execution no live runner holds (none, or an orphan) ends "
            "`cancelled` at once. 409 when it already ended."
        ),
    )
    def cancel(exec_id: str) -> Any:
        return to_wire(cancel_execution(store, exec_id))

    return router


def _check_cancel(record: ExecutionRecord) -> None:
    if record.status.is_terminal:
        raise KitaruStateError(f"Execution {record.exec_id} already ended ({record.status.value}).")


def _checked(check: Any) -> dict[str, Any]:
    try:
        check()
    except KitaruStateError as exc:
        return {"allowed": False, "reason": str(exc)}
    return {"allowed": True, "reason": None}
