"""Copying a replay's reused calls inside the database.

A replay of a long execution reuses tens of thousands of calls. They are
copied by one ``INSERT ... SELECT`` from the source execution's rows, so the
calls' columns never pass through Python and no parameters are built per
call. A copy's id is derived from the replay and the source call
(:func:`kitaru._types.copied_call_id`), so the runtime knows it without
reading the copies back.
"""

from __future__ import annotations

from collections.abc import Collection

from kitaru._types import copied_call_id, merge_metadata
from kitaru.store.sql._connection import StoreCore

__all__ = ["SeedMethods"]


class SeedMethods(StoreCore):
    """The replay seeding method of :class:`~kitaru.store.sql.SqlStore`."""

    def copy_calls(
        self, exec_id: str, source_exec_id: str, *, before_seq: int, exclude: Collection[str] = ()
    ) -> int:
        """Copy the done calls of ``source_exec_id`` ordered before ``before_seq`` into
        ``exec_id``, in one transaction; return how many were copied.

        Done calls are ``completed`` and ``cached`` ones; those whose invocation id is
        in ``exclude`` are not copied. A copy has every column of its source call
        except its id (:func:`~kitaru._types.copied_call_id`), ``exec_id``,
        ``attempt_count`` (0) and ``metadata``: the source's with
        ``{"kitaru": {"replayed_from": {"exec_id": ..., "call_id": ...}}}`` merged
        in. No attempts are copied.

        Raises:
            KitaruStateError: Either execution does not exist; nothing is copied.
            KitaruBackendError: A copy's call id or invocation id is taken; nothing is copied.
        """
        s = self._s
        params = {"b_exec_id": exec_id, "b_source_exec_id": source_exec_id, "b_before_seq": before_seq}
        try:
            with self._writing() as cur:
                if not self._writers_take_turns:
                    # Deletions of the executions whose artifacts the copies link wait for this
                    # transaction (or it waits for them): see ``StoreCore._linkable_artifacts``.
                    s.share_copied_output_owners.all(cur, params)
                copied = s.copy_calls.execute(cur, params)
                if exclude:
                    gone = [{"b_exec_id": exec_id, "b_invocation_id": i} for i in exclude]
                    s.uncopy_call.execute_many(cur, gone)
                    copied -= max(int(cur.rowcount), 0)
                # Metadata other than ``{}`` gets the marker merged here (a few calls: waits, reruns).
                merged = [
                    {
                        "b_call_id": copied_call_id(exec_id, call_id),
                        "b_metadata": merge_metadata(
                            metadata,
                            {"kitaru": {"replayed_from": {"exec_id": source_exec_id, "call_id": call_id}}},
                        ),
                    }
                    for call_id, metadata in s.copied_metadata.all(cur, params)
                ]
                if merged:
                    s.set_call_metadata.execute_many(cur, merged)
                if not copied:
                    self._require_execution(exec_id, cur)
                    self._require_execution(source_exec_id, cur)
        except self._errors as exc:
            self._raise_for_execution(
                exec_id, f"copy the calls of execution '{source_exec_id}' into execution '{exec_id}'", exc
            )
        return copied
