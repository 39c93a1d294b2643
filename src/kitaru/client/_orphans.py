"""Orphaned executions: when nothing moves one on, and what to tell the user.

An execution is orphaned when the runner that holds it is gone
(:func:`kitaru._leases.is_orphaned`). One that waits for input is not stuck by
that: answering its wait continues it. Every other orphan stays where it is
until someone resumes it, so whatever waits for it (following its logs,
``wait_for``, a flow handle) stops and says so instead of waiting forever.

Example:
    >>> from kitaru.records import ExecutionRecord  # doctest: +SKIP
    >>> orphan_hint(record)  # doctest: +SKIP
    'Execution 0193… is orphaned: it is running, but its runner … is gone …'
"""

from __future__ import annotations

from kitaru._leases import is_orphaned
from kitaru._types import ExecutionStatus
from kitaru.errors import KitaruStateError
from kitaru.records import ExecutionRecord
from kitaru.store.base import MetadataStore

__all__ = ["orphan_error", "orphan_hint", "stuck_orphan"]


def stuck_orphan(store: MetadataStore, record: ExecutionRecord) -> ExecutionRecord | None:
    """The execution as it stands when its runner is gone and nothing continues it until it
    is resumed; ``None`` otherwise.

    ``record`` may be older than the liveness check: a runner that ended the execution
    and exited since ``record`` was read is no orphan. So the execution is read again
    after its runner was seen gone; only a record that still names that runner counts.
    A ``waiting`` execution with a pending wait is not stuck, even when the runner
    that polled for the answer died: answering the wait continues it.
    """
    if not is_orphaned(record):
        return None
    again = store.get_execution(record.exec_id)
    if again.runner_id != record.runner_id or again.status is not record.status or not is_orphaned(again):
        return None
    if again.status is ExecutionStatus.WAITING and store.list_pending_waits(again.exec_id):
        return None
    return again


def orphan_hint(record: ExecutionRecord) -> str:
    """Say that the execution is orphaned and which command continues it."""
    return (
        f"Execution {record.exec_id} is orphaned: it is {record.status.value}, but its runner "
        f"{record.runner_id} is gone (its process ended or its lease expired), so nothing continues "
        f"it. Continue it with `kitaru executions resume {record.exec_id}` "
        "(executions.resume() in Python); checkpoints that completed do not run again."
    )


def orphan_error(record: ExecutionRecord) -> KitaruStateError:
    """The error of an operation that waited for an execution that turned out orphaned."""
    return KitaruStateError(orphan_hint(record))
