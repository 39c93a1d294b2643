"""The state checks of the lifecycle operations (input, resume, retry, replay), shared by the
client that performs them and the server that tells whether they are possible.

Each check raises :class:`KitaruStateError` with the reason an operation is refused now,
and returns quietly when the state allows it (SPEC: every operation checks the current
state first). They read only the execution's record (and its pending waits, asked for
only when they matter), never run anything.

"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from kitaru._leases import is_orphaned
from kitaru._types import ExecutionStatus
from kitaru.errors import KitaruStateError
from kitaru.records import CallRecord, ExecutionRecord

__all__ = ["TERMINAL_HINT", "check_replay", "check_resume", "check_retry", "pick_wait"]

#: What can still be done with an execution that ended, by its status.
TERMINAL_HINT = {
    ExecutionStatus.COMPLETED: "it completed; start a new execution from it with replay()",
    ExecutionStatus.FAILED: "it failed; re-run it with retry()",
    ExecutionStatus.CANCELLED: "it was cancelled; start a new execution from it with replay()",
}


def check_resume(record: ExecutionRecord, pending_waits: Callable[[], Sequence[CallRecord]]) -> None:
    """Refuse to resume ``record`` unless it waits with its input resolved, or is orphaned."""
    if record.status.is_terminal:
        raise KitaruStateError(
            f"Execution {record.exec_id} cannot be resumed: {TERMINAL_HINT[record.status]}."
        )
    orphaned = is_orphaned(record)
    if record.status is ExecutionStatus.WAITING and not orphaned:
        pending = pending_waits()
        if pending:
            names = ", ".join(repr(c.invocation_id) for c in pending)
            raise KitaruStateError(
                f"Execution {record.exec_id} waits for input at {names}; answer it with "
                "executions.input(...), which continues it."
            )
        if record.runner_id is not None:
            raise KitaruStateError(
                f"Execution {record.exec_id} is already being continued by runner {record.runner_id}."
            )
    elif record.status in (ExecutionStatus.RUNNING, ExecutionStatus.PENDING) and not orphaned:
        raise KitaruStateError(
            f"Execution {record.exec_id} is {record.status.value} in runner {record.runner_id} "
            "(alive); there is nothing to resume."
        )


def check_retry(record: ExecutionRecord) -> None:
    """Refuse to retry ``record`` unless it failed."""
    if record.status is not ExecutionStatus.FAILED:
        hint = (
            TERMINAL_HINT.get(record.status)
            or "it has not failed; use resume() for waiting or orphaned executions"
        )
        raise KitaruStateError(f"Execution {record.exec_id} cannot be retried: {hint}.")


def check_replay(record: ExecutionRecord, *, flow: str | None = None) -> None:
    """Refuse to replay ``record`` unless it ended or waits (and, with ``flow``, is of that flow)."""
    if flow is not None and record.flow_name != flow:
        raise KitaruStateError(
            f"Execution {record.exec_id} is an execution of flow {record.flow_name!r}, not of flow "
            f"{flow!r}; replay it with {record.flow_name}.replay(...) or "
            "KitaruClient().executions.replay(...)."
        )
    if not record.status.is_terminal and record.status is not ExecutionStatus.WAITING:
        raise KitaruStateError(
            f"Execution {record.exec_id} is {record.status.value}; replay an execution that ended or waits."
        )


def pick_wait(
    record: ExecutionRecord,
    pending_waits: Callable[[], Sequence[CallRecord]],
    wait: str | None,
    *,
    hint: Callable[[], str] = lambda: "",
) -> CallRecord:
    """Return the pending wait of ``record`` that an answer names (invocation id, call id or
    name), or its only one when ``wait`` is ``None``.

    ``hint`` adds a sentence to the refusal when the execution has no pending wait (e.g.
    that its runner is gone and how to recover it).

    Raises:
        KitaruStateError: the execution ended, has no pending wait, several (and ``wait`` is
            ``None``), or none that ``wait`` names; the message lists the pending ones.
    """
    if record.status.is_terminal:
        raise KitaruStateError(
            f"Execution {record.exec_id} already ended ({record.status.value}): it has no pending wait; "
            "nothing to answer."
        )
    pending = pending_waits()
    if not pending:
        extra = hint()
        raise KitaruStateError(
            f"Execution {record.exec_id} ({record.status.value}) has no pending wait; nothing to answer."
            + (f" {extra}" if extra else "")
        )
    if wait is None:
        if len(pending) > 1:
            names = ", ".join(repr(c.invocation_id) for c in pending)
            raise KitaruStateError(
                f"Execution {record.exec_id} has {len(pending)} pending waits ({names}); "
                "say which with wait=."
            )
        return pending[0]
    for call in pending:
        if wait in (call.invocation_id, call.call_id, call.name):
            return call
    names = ", ".join(repr(c.invocation_id) for c in pending)
    raise KitaruStateError(f"Execution {record.exec_id} has no pending wait {wait!r}; pending: {names}.")
