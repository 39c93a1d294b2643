"""An attempt recorded whole: begun and completed in one transaction.

A checkpoint call costs one commit when its ``running`` attempt did not have
to be visible before it ended (see :mod:`kitaru.runtime.pending`): the call
row, the attempt and the output are then written together, which is what
:meth:`~kitaru.store.base.MetadataStore.begin_attempt` followed by
:meth:`~kitaru.store.base.MetadataStore.complete_call` would leave behind.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from kitaru._types import CallStatus
from kitaru.records import ArtifactRecord, AttemptRecord, CallRecord
from kitaru.store.sql import _rows
from kitaru.store.sql._connection import StoreCore

__all__ = ["AttemptMethods"]

_RUNNING = CallStatus.RUNNING.value
_COMPLETED = CallStatus.COMPLETED.value


class AttemptMethods(StoreCore):
    """The whole-attempt method of :class:`~kitaru.store.sql.SqlStore`."""

    def record_completed_attempt(
        self,
        call: CallRecord,
        attempt: AttemptRecord,
        *,
        output: ArtifactRecord,
        ended_at: dt.datetime,
        epoch: int | None = None,
    ) -> None:
        """In one transaction: what ``begin_attempt(call, attempt)`` and then
        ``complete_call(call_id, attempt.attempt_id, output=output, ended_at=ended_at)``
        record, where ``call_id`` is the id of the stored call row. With ``epoch``: only
        while it is the execution's (``KitaruFencedError`` otherwise, nothing written)."""
        try:
            with self._writing() as cur:
                self._fence(cur, call.exec_id, epoch)
                self._write_completed_attempt(cur, call, attempt, output, ended_at)
        except self._errors as exc:
            self._raise_for_execution(
                call.exec_id, f"record attempt {attempt.number} of call '{call.invocation_id}'", exc
            )

    def _write_completed_attempt(
        self,
        cur: Any,
        call: CallRecord,
        attempt: AttemptRecord,
        output: ArtifactRecord,
        ended_at: dt.datetime,
    ) -> str:
        """The statements of :meth:`record_completed_attempt` in the transaction of ``cur``;
        returns the id of the stored call row."""
        params = _rows.call_params(call, _RUNNING, None)
        params["attempt_count"] = 1
        s = self._s
        row = s.upsert_running_call.one(cur, params)
        call_id = str(row[0]) if row else call.call_id
        s.insert_attempt.execute(cur, _rows.attempt_params(attempt, call_id))
        s.insert_artifact.execute(cur, _rows.artifact_params(output))
        ended = {
            "b_call_id": call_id,
            "b_attempt_id": attempt.attempt_id,
            "b_status": _COMPLETED,
            "b_ended_at": ended_at,
            "b_failure": None,
            "b_output_id": output.artifact_id,
        }
        s.end_attempt.execute(cur, ended)
        s.complete_call.execute(cur, ended)
        return call_id
