"""Captured log lines of executions: batched appends and filtered, followable reads.

The database numbers the lines (``seq``: SQLite's rowid, a PostgreSQL
identity column) as they are inserted, so ``seq`` order is insertion order
and a follower asks for the lines after the last ``seq`` it saw. Appenders of
one execution take turns (a lock on its row for the length of the append), so
on PostgreSQL too a line never becomes visible after a line numbered later:
a follower that moved past a ``seq`` has seen every line before it.
"""

from __future__ import annotations

from collections.abc import Sequence

from kitaru.errors import KitaruUsageError
from kitaru.records import LogRecord
from kitaru.store.sql._connection import StoreCore
from kitaru.store.sql._rows import log_from_row, log_params

__all__ = ["LogMethods"]


class LogMethods(StoreCore):
    """The log methods of :class:`~kitaru.store.sql.SqlStore`."""

    def append_logs(self, records: Sequence[LogRecord]) -> None:
        """Insert a batch of log records in one transaction, keeping their order.

        The records' ``seq`` is ignored; the store assigns it.

        Raises:
            KitaruStateError: An execution of the batch does not exist; nothing is inserted.
        """
        if not records:
            return
        rows = [log_params(record) for record in records]
        try:
            with self._writing() as cur:
                for exec_id in sorted({record.exec_id for record in records}):  # one order: no deadlock
                    if self._s.lock_execution_logs.one(cur, {"b_exec_id": exec_id}) is None:
                        self._missing_execution(exec_id)
                self._s.insert_logs.execute_many(cur, rows)
        except self._errors as exc:
            if isinstance(exc, self._integrity_errors):
                for exec_id in dict.fromkeys(record.exec_id for record in records):
                    self._require_execution(exec_id)
            self._raise(f"append {len(rows)} log records", exc)

    def list_logs(
        self,
        exec_id: str,
        *,
        call_id: str | None = None,
        after_seq: int | None = None,
        limit: int | None = None,
    ) -> list[LogRecord]:
        """Return the execution's log records in insertion order (``seq`` ascending),
        filtered in the database: one call's, only those after ``after_seq``
        (for following), at most ``limit``.

        Raises:
            KitaruStateError: The execution does not exist.
            KitaruUsageError: ``limit`` is negative.
        """
        if limit is not None and limit < 0:
            raise KitaruUsageError(f"The limit of a log listing must be 0 or more, got {limit}.")
        stmt = self._s.list_logs(
            call_id=call_id is not None, after_seq=after_seq is not None, limit=limit is not None
        )
        params = {"b_exec_id": exec_id, "b_call_id": call_id, "b_after_seq": after_seq, "b_limit": limit}
        try:
            with self._reading() as cur:
                rows = stmt.all(cur, params)
        except self._errors as exc:
            self._raise(f"list the logs of execution '{exec_id}'", exc)
        if not rows:
            self._require_execution(exec_id)
        return [log_from_row(row) for row in rows]
