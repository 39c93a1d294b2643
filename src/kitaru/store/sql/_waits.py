"""Waits and replay seeds: entering and answering waits, copying done calls.

A wait is pending while its call has kind ``wait`` and status ``running``;
the execution is then ``waiting``. Entering a wait records the call and moves
the execution to ``waiting`` in one transaction, so no reader ever sees a
``running`` execution with a pending wait. Answering one is decided by a
single ``UPDATE`` whose ``WHERE`` clause still requires it to be pending: of
concurrent resolvers (threads or processes) exactly one changes the row, and
only that one goes on to store its output.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from kitaru._types import CallKind, CallStatus, ExecutionStatus, merge_metadata, utcnow
from kitaru.errors import KitaruStateError, KitaruUsageError
from kitaru.records import ArtifactRecord, AttemptRecord, CallRecord
from kitaru.store.sql._connection import StoreCore
from kitaru.store.sql._rows import artifact_params, attempt_params, call_from_row, call_params

__all__ = ["WaitMethods"]

_SEED_BATCH = 1000


class WaitMethods(StoreCore):
    """The methods of :class:`~kitaru.store.sql.SqlStore` for waits and replayed calls."""

    def begin_wait(
        self, call: CallRecord, attempt: AttemptRecord | None, *, runner_id: str, epoch: int | None = None
    ) -> bool:
        """Enter a wait, in one transaction: record the pending ``wait`` call and move the
        execution from ``running`` to ``waiting`` (compare-and-set on ``runner_id``).

        The call is inserted, or the row with the same ``(exec_id, invocation_id)``
        updated, as :meth:`begin_attempt` does (status ``running``; the stored
        ``call_id`` and attempts stay); the top-level keys of ``call.metadata``
        replace the row's (other keys stay). ``attempt``, when given, is inserted
        and counted; ``None`` re-enters a wait that is already pending. Applies
        only while the execution is ``running`` and held by ``runner_id``;
        otherwise returns ``False`` and changes nothing.

        Raises:
            KitaruUsageError: ``call`` is not a ``wait`` call.
            KitaruFencedError: ``epoch`` is given and is not the execution's; nothing written.
            KitaruStateError: The execution does not exist.
        """
        if call.kind is not CallKind.WAIT:
            raise KitaruUsageError(
                f"begin_wait() records wait calls; call '{call.invocation_id}' is a {call.kind} call. "
                "Record other calls with begin_attempt()."
            )
        s = self._s
        waiting = {
            "b_exec_id": call.exec_id,
            "b_status": ExecutionStatus.WAITING.value,
            "b_now": utcnow(),
            "b_ended_at": None,
            "b_runner_id": runner_id,
            "b_expected_0": ExecutionStatus.RUNNING.value,
        }
        params = call_params(call, CallStatus.RUNNING.value, None)
        params["attempt_count"] = 0 if attempt is None else 1
        try:
            with self._writing() as cur:
                self._fence(cur, call.exec_id, epoch, exclusive=True)
                if s.set_execution_status(expected=1, runner=True, release=False).execute(cur, waiting) != 1:
                    self._require_execution(call.exec_id, cur)
                    return False
                row = (s.upsert_wait_call if attempt is not None else s.reenter_wait_call).one(cur, params)
                call_id, stored = (row[0], row[1]) if row is not None else (call.call_id, call.metadata)
                if attempt is not None:
                    s.insert_attempt.execute(cur, attempt_params(attempt, call_id))
                merged = {**(stored or {}), **call.metadata}
                if merged != stored:
                    s.set_call_metadata.execute(cur, {"b_call_id": call_id, "b_metadata": merged})
        except self._errors as exc:
            self._raise_for_execution(call.exec_id, f"enter wait '{call.invocation_id}'", exc)
        return True

    def resolve_wait(
        self,
        call_id: str,
        *,
        output: ArtifactRecord | None,
        metadata: dict[str, Any],
        ended_at: dt.datetime,
    ) -> bool:
        """Answer a pending wait (a ``wait`` call whose status is ``running``), in one
        transaction.

        Inserts ``output`` (when given) and links it, merges ``metadata`` into the
        call's metadata, marks the call and its running attempt ``completed``
        with ``ended_at``. Returns ``False`` and changes nothing when the call is
        not pending (already answered, aborted, or not a wait): input races are
        decided here.

        Raises:
            KitaruStateError: The call does not exist.
        """
        s = self._s
        params = {
            "b_call_id": call_id,
            "b_ended_at": ended_at,
            "b_output_id": None if output is None else output.artifact_id,
        }
        try:
            with self._writing() as cur:
                row = s.answer_wait.one(cur, params)
                if row is None:
                    if s.exact_call_id.one(cur, params) is None:
                        self._missing_call(call_id)
                    return False
                if output is not None:
                    s.insert_artifact.execute(cur, artifact_params(output))
                if metadata:
                    merged = {"b_call_id": call_id, "b_metadata": merge_metadata(row[0], metadata)}
                    s.set_call_metadata.execute(cur, merged)
                s.complete_running_attempts.execute(cur, params)
        except self._errors as exc:
            self._raise(f"resolve wait '{call_id}'", exc)
        return True

    def list_pending_waits(self, exec_id: str) -> list[CallRecord]:
        """Return the execution's ``wait`` calls whose status is ``running``, by ``seq``.

        Raises:
            KitaruStateError: The execution does not exist.
        """
        try:
            with self._reading() as cur:
                rows = self._s.pending_waits.all(cur, {"b_exec_id": exec_id})
        except self._errors as exc:
            self._raise(f"list the pending waits of execution '{exec_id}'", exc)
        if not rows:
            self._require_execution(exec_id)
        return [call_from_row(row) for row in rows]

    def seed_calls(self, exec_id: str, calls: Sequence[CallRecord]) -> None:
        """Insert copies of done calls into another execution (replay reuses them), in
        one transaction.

        Each record is inserted as given (its ``call_id``, status,
        ``output_artifact_id`` pointing at an existing artifact, metadata), with
        ``exec_id`` replaced by ``exec_id`` and no attempts. Call ids are unique
        in the whole store, so copies carry new ids.

        Raises:
            KitaruStateError: The execution, or an output artifact, does not exist;
                nothing is inserted.
            KitaruBackendError: A call id or invocation id is taken; nothing is inserted.
        """
        outputs = {c.output_artifact_id for c in calls if c.output_artifact_id is not None}
        try:
            with self._writing() as cur:
                gone = outputs - self._linkable_artifacts(cur, outputs)
                if gone:
                    raise KitaruStateError(
                        f"Cannot seed calls into execution '{exec_id}': their output artifacts "
                        f"{', '.join(sorted(gone))} no longer exist in store '{self._name}' (their "
                        "execution was deleted). Read the source execution again."
                    )
                # In batches: the driver's parameters of a long journal need not all exist at once.
                for start in range(0, len(calls), _SEED_BATCH):
                    rows = []
                    for call in calls[start : start + _SEED_BATCH]:
                        row = call_params(call, str(call.status), call.output_artifact_id)
                        row["exec_id"] = exec_id
                        rows.append(row)
                    self._s.insert_calls.execute_many(cur, rows)
                if not calls:
                    self._require_execution(exec_id, cur)
        except self._errors as exc:
            self._raise_for_execution(exec_id, f"seed {len(calls)} calls into execution '{exec_id}'", exc)
