"""Retention: choosing executions to delete, deleting them with their rows, and the blobs left.

A deletion is one transaction per batch of executions. It first locks the
executions' rows and keeps only those still in the state the caller read
(compare-and-set on status and runner). Calls of other executions may link an
artifact of a deleted execution as their output (a cache hit links its
source's output; a replay's copied calls link the source's outputs): such an
artifact row is copied into the linking call's execution first (produced by
that call) and the link moves to the copy, so nothing kept ever points at a
deleted row. Then attempts, log lines, artifacts, calls and executions are
deleted, and the blob keys the deleted artifacts held that no artifact row
references any more are returned for the artifact store to delete.

On PostgreSQL the row locks order a deletion against writes that link other
executions' artifacts (``StoreCore._linkable_artifacts``); SQLite's writers
take turns.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Collection, Sequence

from kitaru._types import ExecutionStatus, new_id
from kitaru.errors import KitaruUsageError
from kitaru.records import DeletedRows, ExecutionRecord
from kitaru.store.sql._connection import StoreCore, status_of
from kitaru.store.sql._rows import artifact_from_row, artifact_params, execution_from_row

__all__ = ["RetentionMethods"]

# Blob keys asked about per query (each one reads the artifacts table).
_KEYS_PER_QUERY = 5000


class RetentionMethods(StoreCore):
    """The retention methods of :class:`~kitaru.store.sql.SqlStore`."""

    def list_prunable_executions(
        self,
        *,
        statuses: Collection[ExecutionStatus],
        before: dt.datetime | None = None,
        keep_last: int | None = None,
    ) -> list[ExecutionRecord]:
        """Return the executions a retention policy selects, oldest first, chosen in the
        database (see :meth:`kitaru.store.base.MetadataStore.list_prunable_executions`).

        Raises:
            KitaruUsageError: ``keep_last`` is negative, or a status is unknown.
        """
        if keep_last is not None and keep_last < 0:
            raise KitaruUsageError(f"keep_last must be 0 or more, got {keep_last}.")
        values = sorted({status_of(status).value for status in statuses})
        if not values:
            return []
        params = {"b_statuses": values, "b_before": before, "b_keep_last": keep_last}
        try:
            with self._reading() as cur:
                rows = self._s.prunable_executions.all(cur, params)
        except self._errors as exc:
            self._raise("list the executions to prune", exc)
        return [execution_from_row(row) for row in rows]

    def delete_executions(self, records: Sequence[ExecutionRecord], *, dry_run: bool = False) -> DeletedRows:
        """Delete executions with all their rows in one transaction and say what went
        (see :meth:`kitaru.store.base.MetadataStore.delete_executions`); with
        ``dry_run`` the transaction is rolled back."""
        expected = {r.exec_id: (status_of(r.status).value, r.runner_id) for r in records}
        if not expected:
            return DeletedRows()
        s = self._s
        try:
            with self._writing(commit=not dry_run) as cur:
                current = {
                    str(row[0]): (str(row[1]), row[2])
                    for row in s.lock_doomed_executions.all(cur, {"b_exec_ids": sorted(expected)})
                }
                doomed = [exec_id for exec_id, state in expected.items() if current.get(exec_id) == state]
                skipped = tuple(exec_id for exec_id in expected if current.get(exec_id) != expected[exec_id])
                if not doomed:
                    return DeletedRows(skipped=skipped)
                ids = {"b_exec_ids": sorted(doomed)}
                held = {str(row[0]): int(row[1]) for row in s.doomed_blobs.all(cur, ids)}
                copies, relinks = [], []
                for row in s.links_into_doomed.all(cur, ids):
                    call_id, exec_id = str(row[0]), str(row[1])
                    copy = dataclasses.replace(
                        artifact_from_row(row, 2), artifact_id=new_id(), exec_id=exec_id, call_id=call_id
                    )
                    copies.append(artifact_params(copy))
                    relinks.append({"b_call_id": call_id, "b_output_id": copy.artifact_id})
                if copies:
                    s.insert_artifact.execute_many(cur, copies)
                    s.relink_output.execute_many(cur, relinks)
                attempts = s.delete_attempts_of.execute(cur, ids)
                logs = s.delete_logs_of.execute(cur, ids)
                s.delete_llm_usage_of.execute(cur, ids)
                artifacts = s.delete_artifacts_of.execute(cur, ids)
                calls = s.delete_calls_of.execute(cur, ids)
                s.delete_memory_ops_of.execute(cur, ids)
                s.delete_executions.execute(cur, ids)
                referenced = self._referenced(cur, held) if held else set()
        except self._errors as exc:
            self._raise(f"delete {len(expected)} executions", exc)
        return DeletedRows(
            exec_ids=tuple(doomed),
            skipped=skipped,
            calls=calls,
            attempts=attempts,
            artifacts=artifacts,
            logs=logs,
            adopted=len(copies),
            blobs=tuple((key, held[key]) for key in sorted(held) if key not in referenced),
        )

    def referenced_blob_keys(self, keys: Collection[str]) -> set[str]:
        """Return those of ``keys`` that an artifact row references as its blob key."""
        if not keys:
            return set()
        try:
            with self._reading() as cur:
                return self._referenced(cur, keys)
        except self._errors as exc:
            self._raise(f"check which of {len(keys)} blobs artifacts reference", exc)

    def _referenced(self, cursor: object, keys: Collection[str]) -> set[str]:
        ordered = sorted(set(keys))
        found: set[str] = set()
        for start in range(0, len(ordered), _KEYS_PER_QUERY):
            chunk = {"b_keys": ordered[start : start + _KEYS_PER_QUERY]}
            found.update(str(row[0]) for row in self._s.referenced_blob_keys.all(cursor, chunk))
        return found
