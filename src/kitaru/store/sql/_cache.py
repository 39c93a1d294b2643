"""The cross-execution cache: finding a source call and recording a hit.

A hit is recorded in one transaction that restores everything the source call
recorded: its output (linked, not copied), its metadata, the artifacts it saved
(copied under new ids, so ``kitaru.load(new_exec, name)`` finds them) and its
log lines.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from kitaru._types import CallStatus, merge_metadata, new_id
from kitaru.errors import KitaruUsageError
from kitaru.records import CallRecord
from kitaru.store.sql import _rows
from kitaru.store.sql._connection import StoreCore

__all__ = ["CacheMethods"]

_CACHED = CallStatus.CACHED.value


class CacheMethods(StoreCore):
    """The methods of :class:`~kitaru.store.sql.SqlStore` for the cross-execution cache."""

    def record_cached_call(self, call: CallRecord, *, source: CallRecord, epoch: int | None = None) -> bool:
        """In one transaction: insert (or update, as in :meth:`begin_attempt`) ``call`` with
        status ``cached`` and the output of ``source`` (a call of another execution);
        merge ``source``'s metadata, then ``call``'s, into the call's metadata; copy
        the artifacts ``source`` saved (not its output) to the call under new ids and
        ``source``'s log lines to the call. No attempt. With ``epoch``: only while it is
        the execution's (``KitaruFencedError`` otherwise, nothing written).

        Returns ``False`` and records nothing when ``source``'s output no longer
        exists (its execution was deleted since the lookup): the caller counts a miss.
        """
        if source.output_artifact_id is None:
            raise KitaruUsageError(
                f"Call '{source.call_id}' of execution '{source.exec_id}' has no output; "
                "only a completed call can answer a cache lookup."
            )
        params = _rows.call_params(call, _CACHED, source.output_artifact_id)
        s = self._s
        try:
            with self._writing() as cur:
                self._fence(cur, call.exec_id, epoch)
                if not self._linkable_artifacts(cur, [source.output_artifact_id]):
                    return False
                row = s.upsert_cached_call.one(cur, params)
                call_id = row[0] if row else call.call_id
                old = s.lock_call_metadata.one(cur, {"b_call_id": call_id})
                merged = merge_metadata(merge_metadata(old[0] if old else {}, source.metadata), call.metadata)
                s.set_call_metadata.execute(cur, {"b_call_id": call_id, "b_metadata": merged})
                saved = s.saved_by_call.all(
                    cur, {"b_call_id": source.call_id, "b_output_id": source.output_artifact_id}
                )
                for r in saved:
                    copy = replace(
                        _rows.artifact_from_row(r),
                        artifact_id=new_id(),
                        exec_id=call.exec_id,
                        call_id=call_id,
                    )
                    s.insert_artifact.execute(cur, _rows.artifact_params(copy))
                s.copy_call_logs.execute(
                    cur,
                    {
                        "b_exec_id": call.exec_id,
                        "b_call_id": call_id,
                        "b_invocation_id": call.invocation_id,
                        "b_source_exec_id": source.exec_id,
                        "b_source_call_id": source.call_id,
                    },
                )
        except self._errors as exc:
            self._raise_for_execution(call.exec_id, f"record cached call '{call.invocation_id}'", exc)
        return True

    def find_cached_call(
        self, cache_key: str, *, exclude_exec_id: str, not_before: dt.datetime | None = None
    ) -> CallRecord | None:
        """Return the newest completed call with ``cache_key`` in an execution other than
        ``exclude_exec_id`` that ended at or after ``not_before`` (when given), with
        ``output`` (data included) filled, or ``None``. Copies of calls seeded into a
        replay (no attempts) are not returned."""
        params = {"b_cache_key": cache_key, "b_exec_id": exclude_exec_id, "b_not_before": not_before}
        try:
            with self._reading() as cur:
                row = self._s.find_cached_call.one(cur, params)
        except self._errors as exc:
            self._raise(f"look up a cached call for cache key '{cache_key}'", exc)
        if row is None:
            return None
        return _rows.call_from_row(row, _rows.artifact_from_row(row, _rows.CALL_WIDTH))
