"""Following an execution: a long-poll for new log lines.

``GET /api/v1/executions/{id}/logs/stream?after_seq=N&wait=S`` answers as soon as the
execution has log lines after ``N``, or has ended, or ``S`` seconds passed (at most
:data:`MAX_FOLLOW_WAIT`: a follower never holds the server longer), with the lines, the
execution's status and whether it ended. A follower asks again with the last ``seq`` it got
until ``ended`` is true. Waiting costs no worker thread: the route sleeps between looks.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import anyio
import pydantic
from anyio import to_thread
from fastapi import APIRouter, Query

from kitaru._types import ExecutionStatus
from kitaru._wire import to_wire
from kitaru.records import LogRecord
from kitaru.store.base import MetadataStore

if TYPE_CHECKING:
    LogWire = Any
else:
    from kitaru.server._models import wire_model

    LogWire = wire_model(LogRecord)

__all__ = ["MAX_FOLLOW_WAIT", "LogsFollowResult", "follow_router"]

#: The longest a follow request waits for new lines, in seconds.
MAX_FOLLOW_WAIT = 25.0
#: Seconds between looks at the store while a follow request waits.
_LOOK_INTERVAL = 0.1


class LogsFollowResult(pydantic.BaseModel):
    """New log lines of an execution, and whether it ended (then no line follows them)."""

    model_config = pydantic.ConfigDict(extra="forbid")

    logs: list[LogWire]
    status: ExecutionStatus
    ended: bool


def follow_router(store: MetadataStore, *, max_wait: float = MAX_FOLLOW_WAIT) -> APIRouter:
    """Return the route that follows an execution's log over ``store``."""
    router = APIRouter(prefix="/executions", tags=["executions"])

    @router.get(
        "/{exec_id}/logs/stream",
        response_model=LogsFollowResult,
        summary="Long-poll: the log lines after after_seq, once there are some or the execution ended",
        description=(
            "Answers at once when the execution has lines after `after_seq` or has ended; otherwise "
            f"waits up to `wait` seconds (at most {max_wait:g}) for either, then answers with no lines. "
            "Ask again with the last `seq` received until `ended` is true: then every line was sent."
        ),
    )
    async def follow_logs(
        exec_id: str,
        after_seq: int | None = None,
        call_id: str | None = None,
        wait: float = Query(default=10.0, ge=0, le=MAX_FOLLOW_WAIT, allow_inf_nan=False),
    ) -> Any:
        deadline = time.monotonic() + min(wait, max_wait)
        while True:
            # The status before the lines: a line written before the end is then never missed.
            execution = await to_thread.run_sync(store.get_execution, exec_id)
            ended = execution.status.is_terminal
            lines = await to_thread.run_sync(
                lambda: store.list_logs(exec_id, call_id=call_id, after_seq=after_seq)
            )
            if lines or ended or time.monotonic() >= deadline:
                return {"logs": to_wire(lines), "status": execution.status.value, "ended": ended}
            await anyio.sleep(min(_LOOK_INTERVAL, max(0.0, deadline - time.monotonic())))

    return router
