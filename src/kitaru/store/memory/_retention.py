"""Retention in the in-memory store: the same choices and deletions as the SQL store's.

Under the store's lock a deletion checks every execution against the state the
caller read, copies the artifacts that kept calls link into the linking
executions (so nothing kept points at a deleted row), counts what goes, and
only then (unless it is a dry run) removes the rows and their index entries.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Collection, Sequence

from kitaru._types import ExecutionStatus, new_id
from kitaru.errors import KitaruUsageError
from kitaru.records import ArtifactRecord, DeletedRows, ExecutionRecord
from kitaru.store.memory._rows import execution_out, status_of, utc
from kitaru.store.memory._tables import MemoryTables

__all__ = ["RetentionMethods"]


class RetentionMethods(MemoryTables):
    """The retention methods of :class:`~kitaru.store.memory.InMemoryStore`."""

    def list_prunable_executions(
        self,
        *,
        statuses: Collection[ExecutionStatus],
        before: dt.datetime | None = None,
        keep_last: int | None = None,
    ) -> list[ExecutionRecord]:
        """Return the executions a retention policy selects, oldest first (see
        :meth:`kitaru.store.base.MetadataStore.list_prunable_executions`)."""
        if keep_last is not None and keep_last < 0:
            raise KitaruUsageError(f"keep_last must be 0 or more, got {keep_last}.")
        wanted = {status_of(status) for status in statuses}
        cutoff = utc(before)
        with self._lock:
            self._check_open()
            rows = [row for row in self._executions.values() if row.status in wanted]
        rows.sort(key=lambda row: (row.created_at, row.exec_id), reverse=True)
        seen: dict[str, int] = {}
        chosen = []
        for row in rows:
            rank = seen[row.flow_name] = seen.get(row.flow_name, 0) + 1
            if rank <= (keep_last or 0):
                continue
            if cutoff is not None and (row.ended_at or row.updated_at) >= cutoff:
                continue
            chosen.append(row)
        chosen.reverse()
        return [execution_out(row) for row in chosen]

    def delete_executions(self, records: Sequence[ExecutionRecord], *, dry_run: bool = False) -> DeletedRows:
        """Delete executions with all their rows, all at once, and say what went (see
        :meth:`kitaru.store.base.MetadataStore.delete_executions`)."""
        expected = {r.exec_id: (status_of(r.status), r.runner_id) for r in records}
        with self._lock:
            self._check_open()
            current = {
                exec_id: (found.status, found.runner_id)
                for exec_id in expected
                if (found := self._executions.get(exec_id)) is not None
            }
            doomed = [exec_id for exec_id, state in expected.items() if current.get(exec_id) == state]
            skipped = tuple(exec_id for exec_id in expected if current.get(exec_id) != expected[exec_id])
            gone = set(doomed)
            calls = [call_id for exec_id in doomed for call_id in self._calls_of[exec_id]]
            artifacts = [artifact_id for exec_id in doomed for artifact_id in self._artifacts_of[exec_id]]
            doomed_artifacts = set(artifacts)
            # Kept calls whose output is an artifact of a deleted execution adopt a copy of it.
            links = [
                row
                for row in self._calls.values()
                if row.exec_id not in gone and row.output_artifact_id in doomed_artifacts
            ]
            links.sort(key=lambda row: (row.exec_id, row.seq, row.call_id))
            copies = [
                (
                    row,
                    dataclasses.replace(
                        self._artifacts[row.output_artifact_id or ""],
                        artifact_id=new_id(),
                        exec_id=row.exec_id,
                        call_id=row.call_id,
                    ),
                )
                for row in links
            ]
            held: dict[str, int] = {}
            for artifact_id in artifacts:
                artifact = self._artifacts[artifact_id]
                if artifact.blob_key is not None:
                    held[artifact.blob_key] = artifact.size
            still = self._blob_keys_of(
                [a for a in self._artifacts.values() if a.artifact_id not in doomed_artifacts]
                + [copy for _, copy in copies],
                held,
            )
            still.update(
                e.blob_key
                for v in self._memory.values()
                for e in v
                if e.blob_key is not None and e.blob_key in held
            )
            result = DeletedRows(
                exec_ids=tuple(doomed),
                skipped=skipped,
                calls=len(calls),
                attempts=sum(len(self._attempts_of.get(call_id, ())) for call_id in calls),
                artifacts=len(artifacts),
                logs=sum(len(self._logs[exec_id]) for exec_id in doomed),
                adopted=len(copies),
                blobs=tuple((key, held[key]) for key in sorted(held) if key not in still),
            )
            if not dry_run:
                for row, copy in copies:
                    self._put_artifact(copy)
                    self._put_call(dataclasses.replace(row, output_artifact_id=copy.artifact_id))
                for exec_id in doomed:
                    self._drop_execution(exec_id)
            return result

    def referenced_blob_keys(self, keys: Collection[str]) -> set[str]:
        """Return those of ``keys`` that an artifact row references as its blob key."""
        wanted = set(keys)
        with self._lock:
            self._check_open()
            found = self._blob_keys_of(self._artifacts.values(), wanted)
            found.update(
                entry.blob_key
                for versions in self._memory.values()
                for entry in versions
                if entry.blob_key is not None and entry.blob_key in wanted
            )
            return found

    @staticmethod
    def _blob_keys_of(artifacts: Collection[ArtifactRecord], wanted: Collection[str]) -> set[str]:
        return {a.blob_key for a in artifacts if a.blob_key is not None and a.blob_key in wanted}

    def _drop_execution(self, exec_id: str) -> None:
        """Remove an execution's rows and their index entries (the lock is held)."""
        self._usage.pop(exec_id, None)
        for call_id in self._calls_of.pop(exec_id):
            row = self._calls.pop(call_id)
            self._call_by_invocation.pop((row.exec_id, row.invocation_id), None)
            if row.cache_key is not None:
                self._calls_by_cache_key[row.cache_key].discard(call_id)
            for attempt_id in self._attempts_of.pop(call_id, ()):
                del self._attempts[attempt_id]
        for artifact_id in self._artifacts_of.pop(exec_id):
            del self._artifacts[artifact_id]
        del self._logs[exec_id]
        self._memory_ops.pop(exec_id, None)
        del self._executions[exec_id]
