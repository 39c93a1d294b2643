"""The work queue of workers in the in-memory store: decided under the store's one lock,
so two claims never take the same execution; a queued execution wakes waiting claims."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Collection, Sequence

from kitaru._types import ExecutionStatus, utcnow
from kitaru.records import ExecutionRecord
from kitaru.store.memory._rows import execution_out, status_of, utc
from kitaru.store.memory._tables import MemoryTables

__all__ = ["QueueMethods"]

_HELD = (ExecutionStatus.RUNNING, ExecutionStatus.PENDING)


class QueueMethods(MemoryTables):
    """The methods of :class:`~kitaru.store.memory.InMemoryStore` for the work queue."""

    def enqueue_execution(
        self,
        exec_id: str,
        *,
        expected: Collection[ExecutionStatus],
        expected_runner: str | None = None,
        queue: str | None = None,
        not_before: dt.datetime | None = None,
    ) -> ExecutionRecord | None:
        """See :meth:`kitaru.store.base.MetadataStore.enqueue_execution`."""
        statuses = {status_of(status) for status in expected}
        with self._lock:
            row = self._execution(exec_id)
            if row.status not in statuses or row.runner_id != expected_runner:
                return None
            now = utcnow()
            row = self._executions[exec_id] = dataclasses.replace(
                row,
                status=ExecutionStatus.PENDING,
                runner_id=None,
                epoch=row.epoch + 1,
                ended_at=None,
                updated_at=now,
                queued_at=utc(not_before) or now,
                queue=queue,
            )
            self._work.notify_all()
            return execution_out(row)

    def claim_queued_execution(
        self,
        *,
        runner_id: str,
        lease_seconds: float,
        flows: Sequence[str] | None = None,
        queue: str | None = None,
        wait: float = 0.0,
    ) -> ExecutionRecord | None:
        """See :meth:`kitaru.store.base.MetadataStore.claim_queued_execution`."""
        deadline = time.monotonic() + max(wait, 0.0)
        with self._lock:
            while True:
                row = self._pick(lease_seconds, flows, queue)
                if row is not None:
                    return execution_out(self._start(row, runner_id))
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                # Orphans appear without a notification: look again at least every 50 ms.
                self._work.wait(min(left, 0.05))

    def _pick(
        self, lease_seconds: float, flows: Sequence[str] | None, queue: str | None
    ) -> ExecutionRecord | None:
        now = utcnow()
        cutoff = now - dt.timedelta(seconds=lease_seconds)
        queued: list[ExecutionRecord] = []
        orphans: list[ExecutionRecord] = []
        for row in self._executions.values():
            if flows is not None and row.flow_name not in flows:
                continue
            if queue is not None and row.queue != queue:
                continue
            if row.runner_id is None:
                if (
                    row.queued_at is not None
                    and row.queued_at <= now
                    and row.status is ExecutionStatus.PENDING
                ):
                    queued.append(row)
            elif row.status in _HELD and (row.heartbeat_at or row.updated_at) < cutoff:
                orphans.append(row)
        if queued:
            return min(queued, key=lambda r: (r.queued_at or now, r.exec_id))
        if orphans:
            return min(orphans, key=lambda r: (r.created_at, r.exec_id))
        return None
