"""Who runs an execution, and answers to waits: the compare-and-set parts of the in-memory store.

Each method decides under the store's one lock, so of two runners claiming
one execution, or two resolvers answering one wait, exactly one wins, as
with the SQL store's conditional ``UPDATE``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Collection, Sequence
from typing import Any

from kitaru._types import CallKind, CallStatus, ExecutionStatus, copied_call_id, merge_metadata, utcnow
from kitaru.errors import KitaruStateError, KitaruUsageError
from kitaru.records import ArtifactRecord, AttemptRecord, CallRecord, ExecutionRecord
from kitaru.store.memory._rows import (
    artifact_in,
    attempt_in,
    call_in,
    call_out,
    execution_out,
    json_copy,
    status_of,
    utc,
)
from kitaru.store.memory._tables import MemoryTables

__all__ = ["LifecycleMethods"]

_RUNNING, _COMPLETED = CallStatus.RUNNING, CallStatus.COMPLETED


class LifecycleMethods(MemoryTables):
    """The methods of :class:`~kitaru.store.memory.InMemoryStore` for runners, waits and seeds."""

    # -- runner lifecycle ---------------------------------------------------
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
        ``runner_id`` equals ``expected_runner`` (``None``: no runner holds it);
        then does what :meth:`start_execution` does. Otherwise returns ``None``.
        ``KitaruStateError`` when the execution does not exist.
        """
        statuses = {status_of(status) for status in expected}
        with self._lock:
            row = self._execution(exec_id)
            if row.status not in statuses or row.runner_id != expected_runner:
                return None
            return execution_out(self._start(row, runner_id))

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
        """Set the status (compare-and-set) when the current status is in ``expected``
        (any when ``None``) and, when ``runner_id`` is given, that runner holds the
        execution. ``release=True`` also clears ``runner_id`` and raises the epoch. Terminal
        statuses set ``ended_at``. Returns whether it changed; ``KitaruStateError`` when
        missing; ``KitaruFencedError`` when ``epoch`` is given and is not the execution's."""
        value = status_of(status)
        statuses = None if expected is None else {status_of(s) for s in expected}
        with self._lock:
            row = self._execution(exec_id)
            self._fence(exec_id, epoch)
            if statuses is not None and row.status not in statuses:
                return False
            if runner_id is not None and row.runner_id != runner_id:
                return False
            now = utcnow()
            self._executions[exec_id] = dataclasses.replace(
                row,
                status=value,
                updated_at=now,
                ended_at=now if value.is_terminal else row.ended_at,
                runner_id=None if release else row.runner_id,
                epoch=row.epoch + 1 if release else row.epoch,
            )
            return True

    def heartbeat(self, exec_id: str, *, runner_id: str, epoch: int | None = None) -> ExecutionRecord | None:
        """Renew the runner's lease (``heartbeat_at`` now) when ``runner_id`` holds the
        execution; return the updated record, or ``None`` when another runner or none does.
        ``KitaruFencedError`` when ``epoch`` is given and is not the execution's."""
        with self._lock:
            row = self._execution(exec_id)
            self._fence(exec_id, epoch)
            if row.runner_id is None or row.runner_id != runner_id:
                return None
            row = self._executions[exec_id] = dataclasses.replace(row, heartbeat_at=utcnow())
            return execution_out(row)

    def request_cancel(self, exec_id: str) -> ExecutionRecord:
        """Set ``cancel_requested`` and return the updated record."""
        with self._lock:
            row = self._execution(exec_id)
            row = self._executions[exec_id] = dataclasses.replace(
                row, cancel_requested=True, updated_at=utcnow()
            )
            return execution_out(row)

    # -- waits and replay seeds ---------------------------------------------
    def begin_wait(
        self, call: CallRecord, attempt: AttemptRecord | None, *, runner_id: str, epoch: int | None = None
    ) -> bool:
        """Enter a wait, in one transaction: record the pending ``wait`` call and move the
        execution from ``running`` to ``waiting`` (compare-and-set on ``runner_id``).

        The call is inserted, or the row with the same ``(exec_id, invocation_id)``
        updated, as :meth:`begin_attempt` does; the top-level keys of
        ``call.metadata`` replace the row's. ``attempt``, when given, is inserted
        and counted; ``None`` re-enters a wait that is already pending. Returns
        ``False`` and changes nothing unless the execution is ``running`` and
        held by ``runner_id``; ``KitaruFencedError`` when ``epoch`` is given and is not
        the execution's.
        """
        if call.kind is not CallKind.WAIT:
            raise KitaruUsageError(
                f"begin_wait() records wait calls; call '{call.invocation_id}' is a {call.kind} call. "
                "Record other calls with begin_attempt()."
            )
        with self._lock:
            row = self._execution(call.exec_id)
            self._fence(call.exec_id, epoch)
            if row.status is not ExecutionStatus.RUNNING or row.runner_id != runner_id:
                return False
            metadata = json_copy(call.metadata, "metadata")
            stored = self._upsert_call(
                call,
                _RUNNING,
                None,
                count_attempt=attempt is not None,
                attempt_id=None if attempt is None else attempt.attempt_id,
            )
            self._put_call(dataclasses.replace(stored, metadata={**stored.metadata, **metadata}))
            if attempt is not None:
                self._attempts[attempt.attempt_id] = attempt_in(attempt, stored.call_id)
                self._attempts_of.setdefault(stored.call_id, []).append(attempt.attempt_id)
            self._executions[call.exec_id] = dataclasses.replace(
                row, status=ExecutionStatus.WAITING, updated_at=utcnow()
            )
            return True

    def resolve_wait(
        self,
        call_id: str,
        *,
        output: ArtifactRecord | None,
        metadata: dict[str, Any],
        ended_at: dt.datetime,
    ) -> bool:
        """Answer a pending wait (a ``wait`` call whose status is ``running``): link
        ``output``, merge ``metadata``, complete the call and its running attempts.
        Returns ``False`` and changes nothing when the call is not pending;
        ``KitaruStateError`` when the call does not exist."""
        stored = None if output is None else artifact_in(output)
        ended = utc(ended_at)
        with self._lock:
            row = self._call(call_id)
            if row.kind is not CallKind.WAIT or row.status is not _RUNNING:
                return False
            if stored is not None:
                self._check_new_artifact(stored, f"resolve wait '{call_id}'")
            merged = (
                json_copy(merge_metadata(row.metadata, metadata), "metadata") if metadata else row.metadata
            )
            if stored is not None:
                self._put_artifact(stored)
            self._put_call(
                dataclasses.replace(
                    row,
                    status=_COMPLETED,
                    ended_at=ended,
                    failure=None,
                    metadata=merged,
                    output_artifact_id=row.output_artifact_id if stored is None else stored.artifact_id,
                )
            )
            for attempt_id in self._attempts_of.get(call_id, ()):
                attempt = self._attempts[attempt_id]
                if attempt.status is _RUNNING:
                    self._attempts[attempt_id] = dataclasses.replace(
                        attempt, status=_COMPLETED, ended_at=ended
                    )
            return True

    def list_pending_waits(self, exec_id: str) -> list[CallRecord]:
        """Return the execution's ``wait`` calls whose status is ``running``, by ``seq``."""
        with self._lock:
            return [
                call_out(row)
                for row in self._sorted_calls(exec_id)
                if row.kind is CallKind.WAIT and row.status is _RUNNING
            ]

    def seed_calls(self, exec_id: str, calls: Sequence[CallRecord]) -> None:
        """Insert copies of done calls into another execution, all or nothing: each as
        given (``call_id``, status, output link, metadata) with ``exec_id`` replaced and
        no attempts. ``KitaruBackendError`` when a call id or invocation id is taken."""
        rows = [
            call_in(
                dataclasses.replace(call, exec_id=exec_id),
                status=call.status,
                output_artifact_id=call.output_artifact_id,
                attempt_count=0,
            )
            for call in calls
        ]
        with self._lock:
            self._execution(exec_id)
            gone = sorted({c for row in rows if (c := row.output_artifact_id) and c not in self._artifacts})
            if gone:
                raise KitaruStateError(
                    f"Cannot seed calls into execution '{exec_id}': their output artifacts "
                    f"{', '.join(gone)} no longer exist in store '{self._name}' (their execution was "
                    "deleted). Read the source execution again."
                )
            call_ids = [row.call_id for row in rows]
            invocations = [row.invocation_id for row in rows]
            taken = [c for c in call_ids if c in self._calls] + [
                i for i in invocations if (exec_id, i) in self._call_by_invocation
            ]
            if taken or len(set(call_ids)) < len(rows) or len(set(invocations)) < len(rows):
                shown = ", ".join(taken) or "twice in the batch"
                self._backend_error(
                    f"seed {len(rows)} calls into execution '{exec_id}'", f"ids taken: {shown}"
                )
            for row in rows:
                self._put_call(row)

    def copy_calls(
        self, exec_id: str, source_exec_id: str, *, before_seq: int, exclude: Collection[str] = ()
    ) -> int:
        """Copy the done calls of ``source_exec_id`` before ``before_seq`` (not those whose
        invocation id is in ``exclude``) into ``exec_id``, all or nothing; return how many.
        A copy's id is ``copied_call_id(exec_id, source call id)``, its metadata the
        source's with the ``replayed_from`` marker merged in; no attempts."""
        skip = set(exclude)
        with self._lock:
            self._execution(source_exec_id)
            rows = [
                dataclasses.replace(
                    row,
                    call_id=copied_call_id(exec_id, row.call_id),
                    metadata=merge_metadata(
                        row.metadata,
                        {"kitaru": {"replayed_from": {"exec_id": source_exec_id, "call_id": row.call_id}}},
                    ),
                )
                for row in self._sorted_calls(source_exec_id)
                if row.seq < before_seq and row.status.is_done and row.invocation_id not in skip
            ]
            self.seed_calls(exec_id, rows)
        return len(rows)
