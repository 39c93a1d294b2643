"""Who runs an execution: claims, status changes, heartbeats and the cancel flag.

Every change here is a compare-and-set in one ``UPDATE``: the conditions
(allowed statuses, the runner holding the execution) are in its ``WHERE``
clause and the row count or the returned row says whether it applied. On
PostgreSQL a concurrent update of the row makes the others wait and check
their conditions again against the new row; on SQLite writers take turns.
So of two runners claiming one execution, exactly one gets it.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from kitaru._types import ExecutionStatus, utcnow
from kitaru.records import ExecutionRecord
from kitaru.store.sql._connection import StoreCore, status_of
from kitaru.store.sql._rows import execution_from_row

__all__ = ["LifecycleMethods"]


class LifecycleMethods(StoreCore):
    """The methods of :class:`~kitaru.store.sql.SqlStore` that hand executions between runners."""

    def claim_execution(
        self,
        exec_id: str,
        *,
        runner_id: str,
        expected: Collection[ExecutionStatus],
        expected_runner: str | None = None,
    ) -> ExecutionRecord | None:
        """Atomically take over an execution to (re-)run its body (compare-and-set).

        Succeeds only when the status is in ``expected`` and the stored
        ``runner_id`` equals ``expected_runner`` (``None``: no runner holds it).
        On success does what ``start_execution`` does (status ``running``,
        ``run_count`` + 1, ``runner_id``, ``heartbeat_at`` now, ``started_at`` when
        unset, ``ended_at`` and ``failure`` cleared, ``cancel_requested`` kept) and
        returns the updated record; otherwise returns ``None`` and changes nothing.
        ``KitaruStateError`` when the execution does not exist.
        """
        statuses = _distinct(expected)
        if not statuses:
            self._require_execution(exec_id)
            return None
        params = {
            "b_exec_id": exec_id,
            "b_runner_id": runner_id,
            "b_expected_runner": expected_runner,
            "b_now": utcnow(),
            **_expected_params(statuses),
        }
        stmt = self._s.claim_execution(len(statuses))
        try:
            with self._writing() as cur:
                row = stmt.one(cur, params)
                if row is None:
                    self._require_execution(exec_id, cur)
        except self._errors as exc:
            self._raise(f"claim execution '{exec_id}' for runner '{runner_id}'", exc)
        return None if row is None else execution_from_row(row)

    def set_execution_status(
        self,
        exec_id: str,
        status: ExecutionStatus,
        *,
        expected: Collection[ExecutionStatus] | None = None,
        runner_id: str | None = None,
        release: bool = False,
        epoch: int | None = None,
    ) -> bool:
        """Set the status (compare-and-set).

        Applies only when the current status is in ``expected`` (any when
        ``None``) and, when ``runner_id`` is given, the stored runner is that
        one. ``release=True`` also clears ``runner_id`` (the runner left) and
        raises the epoch (a runner still holding it is fenced off).
        Terminal statuses set ``ended_at``; other statuses keep it.
        ``updated_at`` is set whenever the status is. Returns whether it changed.

        Raises:
            KitaruFencedError: ``epoch`` (a runner's write) is not the execution's; nothing written.
            KitaruStateError: The execution does not exist.
        """
        value = status_of(status)
        statuses = None if expected is None else _distinct(expected)
        if statuses is not None and not statuses:
            self._require_execution(exec_id)
            return False
        now = utcnow()
        params: dict[str, Any] = {
            "b_exec_id": exec_id,
            "b_status": value.value,
            "b_now": now,
            "b_ended_at": now if value.is_terminal else None,
            "b_runner_id": runner_id,
        }
        if statuses is not None:
            params.update(_expected_params(statuses))
        stmt = self._s.set_execution_status(
            expected=None if statuses is None else len(statuses),
            runner=runner_id is not None,
            release=release,
        )
        try:
            with self._writing() as cur:
                self._fence(cur, exec_id, epoch, exclusive=True)
                changed = stmt.execute(cur, params) == 1
                if not changed:
                    self._require_execution(exec_id, cur)
        except self._errors as exc:
            self._raise(f"set the status of execution '{exec_id}' to '{value}'", exc)
        return changed

    def heartbeat(self, exec_id: str, *, runner_id: str, epoch: int | None = None) -> ExecutionRecord | None:
        """Renew the runner's lease: set ``heartbeat_at`` to now when ``runner_id`` holds
        the execution.

        Returns the updated record (so the runner sees ``cancel_requested``),
        or ``None`` when another runner or none holds it. ``updated_at`` stays:
        a heartbeat changes nothing about the execution itself.

        Raises:
            KitaruFencedError: ``epoch`` is given and is not the execution's.
            KitaruStateError: The execution does not exist.
        """
        params = {"b_exec_id": exec_id, "b_runner_id": runner_id, "b_now": utcnow()}
        try:
            with self._writing() as cur:
                self._fence(cur, exec_id, epoch, exclusive=True)
                row = self._s.heartbeat.one(cur, params)
                if row is None:
                    self._require_execution(exec_id, cur)
        except self._errors as exc:
            self._raise(f"renew the lease of runner '{runner_id}' on execution '{exec_id}'", exc)
        return None if row is None else execution_from_row(row)

    def request_cancel(self, exec_id: str) -> ExecutionRecord:
        """Set ``cancel_requested`` and return the updated record.

        Raises:
            KitaruStateError: The execution does not exist.
        """
        try:
            with self._writing() as cur:
                row = self._s.request_cancel.one(cur, {"b_exec_id": exec_id, "b_now": utcnow()})
        except self._errors as exc:
            self._raise(f"request the cancellation of execution '{exec_id}'", exc)
        if row is None:
            self._missing_execution(exec_id)
        return execution_from_row(row)


def _distinct(expected: Collection[ExecutionStatus]) -> tuple[str, ...]:
    """The stored values of ``expected``, each once, in a fixed order (one statement per count)."""
    return tuple(sorted({status_of(status).value for status in expected}))


def _expected_params(statuses: tuple[str, ...]) -> dict[str, str]:
    return {f"b_expected_{index}": value for index, value in enumerate(statuses)}
