"""Reading an execution's calls for display: whole or a page at a time, and counting them.

An execution may hold tens of thousands of calls; a reader that shows a page
asks for that page (``offset``/``limit`` in ``seq`` order) and the count,
and the database does the paging. Each call comes with its attempts and, when
another execution holds its output (cached and replayed calls), that output
(without data); with ``artifacts=True`` also what it produced itself. So a
reader never fetches artifacts one by one.
"""

from __future__ import annotations

from typing import Any

from kitaru._bulk import gc_paused
from kitaru.errors import KitaruUsageError
from kitaru.records import ArtifactRecord, AttemptRecord, CallRecord
from kitaru.store.sql._connection import StoreCore
from kitaru.store.sql._rows import CALL_WIDTH, artifact_from_row, attempt_from_row, call_from_row

__all__ = ["CallReadMethods"]

_ATTEMPT_WIDTH = 8  # the columns of ``attempts`` (see the schema)


class CallReadMethods(StoreCore):
    """The call-listing methods of :class:`~kitaru.store.sql.SqlStore`."""

    def list_calls(
        self,
        exec_id: str,
        *,
        offset: int = 0,
        limit: int | None = None,
        artifacts: bool = False,
    ) -> list[CallRecord]:
        """Return the execution's calls ordered by ``seq`` (then call id): all of them,
        or the page of at most ``limit`` after skipping ``offset``.

        Each record has ``attempts`` filled, and ``output`` (without data) when
        another execution holds the output (a cached or replayed call); with
        ``artifacts=True`` also ``artifacts``: what the call produced in this
        execution (its output and saved values), in creation order, without data.

        Raises:
            KitaruUsageError: A negative ``offset`` or ``limit``.
            KitaruStateError: The execution does not exist.
        """
        if offset < 0 or (limit is not None and limit < 0):
            raise KitaruUsageError(
                "A page of calls needs an offset and a limit of 0 or more, "
                f"got offset={offset}, limit={limit}."
            )
        paged = {"limit": limit is not None, "offset": offset > 0}
        params = {"b_exec_id": exec_id, "b_limit": limit, "b_offset": offset}
        with gc_paused():
            try:
                with self._reading() as cur:
                    rows = self._s.list_calls(**paged).all(cur, params) if limit != 0 else []
                    produced = (
                        self._s.call_page_artifacts(**paged).all(cur, params) if artifacts and rows else []
                    )
                    if not rows:
                        self._require_execution(exec_id, cur)
            except self._errors as exc:
                self._raise(f"list the calls of execution '{exec_id}'", exc)
            return _calls_from_rows(rows, produced)

    def count_calls(self, exec_id: str) -> int:
        """Return the number of calls the execution has recorded.

        Raises:
            KitaruStateError: The execution does not exist.
        """
        try:
            with self._reading() as cur:
                row = self._s.count_calls.one(cur, {"b_exec_id": exec_id})
                count = int(row[0]) if row is not None else 0
                if not count:
                    self._require_execution(exec_id, cur)
        except self._errors as exc:
            self._raise(f"count the calls of execution '{exec_id}'", exc)
        return count


def _calls_from_rows(rows: list[Any], produced: list[Any]) -> list[CallRecord]:
    """Group the joined rows of a call listing: one record per call, attempts in order."""
    attempt_at = CALL_WIDTH
    output_at = CALL_WIDTH + _ATTEMPT_WIDTH
    by_call: dict[str, list[ArtifactRecord]] = {}
    for row in produced:
        record = artifact_from_row(row)
        by_call.setdefault(str(record.call_id), []).append(record)
    grouped: dict[str, tuple[Any, list[AttemptRecord]]] = {}
    for row in rows:
        entry = grouped.get(row[0])
        if entry is None:
            entry = grouped[row[0]] = (row, [])
        if row[attempt_at] is not None:
            entry[1].append(attempt_from_row(row[attempt_at:output_at]))
    return [
        call_from_row(
            row,
            None if row[output_at] is None else artifact_from_row(row, output_at),
            tuple(found),
            tuple(by_call.get(row[0], ())),
        )
        for row, found in grouped.values()
    ]
