"""The in-memory metadata store: the reference implementation of :class:`MetadataStore`.

It keeps one dict per table of the SQL schema, guarded by one lock, and
gives the same answers as the SQL store: the same compare-and-set rules for
claims, status changes, heartbeats and wait answers, the same errors for
missing rows, and records normalized the same way (aware UTC timestamps,
JSON copies of metadata). Every method checks what it needs before it
changes anything, so a refused write leaves the store as it was, like a
rolled-back transaction. It passes the conformance suite
(:mod:`kitaru.store.conformance`) and suits tests: nothing touches a disk.
The data lives as long as the object; another process cannot see it.

Example:
    >>> from kitaru.store.memory import InMemoryStore
    >>> store = InMemoryStore()
    >>> store.list_executions()
    []
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

from kitaru._types import CallKind, CallStatus, ExecutionStatus, merge_metadata, new_id, utcnow
from kitaru.errors import KitaruStateError, KitaruUsageError
from kitaru.records import (
    ArtifactRecord,
    AttemptRecord,
    CallRecord,
    ExecutionRecord,
    ExecutionSummary,
    LogRecord,
)
from kitaru.store._common import (
    LATEST,
    ExecutionCursor,
    check_exec_id_prefix,
    latest_exec_id,
    page_of,
    pick_exec_id,
)
from kitaru.store.memory._calls import CallReadMethods
from kitaru.store.memory._idempotency import IdempotencyMethods
from kitaru.store.memory._keys import ApiKeyMethods
from kitaru.store.memory._lifecycle import LifecycleMethods
from kitaru.store.memory._memory import MemoryMethods
from kitaru.store.memory._queue import QueueMethods
from kitaru.store.memory._retention import RetentionMethods
from kitaru.store.memory._rows import (
    artifact_in,
    artifact_out,
    attempt_in,
    call_out,
    execution_in,
    execution_out,
    json_copy,
    log_in,
    status_of,
    utc,
)
from kitaru.store.memory._usage import UsageMethods, totals_of

__all__ = ["InMemoryStore"]

_RUNNING, _COMPLETED, _CACHED, _FAILED = (
    CallStatus.RUNNING,
    CallStatus.COMPLETED,
    CallStatus.CACHED,
    CallStatus.FAILED,
)
_LONG_AGO = dt.datetime.min.replace(tzinfo=dt.UTC)


class InMemoryStore(
    QueueMethods,
    LifecycleMethods,
    CallReadMethods,
    RetentionMethods,
    MemoryMethods,
    UsageMethods,
    ApiKeyMethods,
    IdempotencyMethods,
):
    """A thread-safe :class:`~kitaru.store.base.MetadataStore` that keeps everything in memory.

    Executions, calls, artifacts and logs are here; the runner lifecycle,
    waits and replay seeds, call listings and retention come from the method
    groups it extends.

    Args:
        name: How messages name the store.

    Example:
        >>> store = InMemoryStore()
        >>> store.resolve_exec_id("nothing")
        Traceback (most recent call last):
        ...
        kitaru.errors.KitaruStateError: No execution id starts or ends with 'nothing' in store 'memory'. ...
    """

    # -- executions -------------------------------------------------------
    def create_execution(self, record: ExecutionRecord, *, inputs: Sequence[ArtifactRecord] = ()) -> None:
        """Insert a new execution and its input artifacts (one per flow argument) in one transaction."""
        row = execution_in(record)
        stored_inputs = [artifact_in(artifact) for artifact in inputs]
        with self._lock:
            self._check_open()
            if row.exec_id in self._executions:
                raise KitaruStateError(
                    f"An execution with id '{row.exec_id}' already exists in store '{self._name}'. "
                    "Create each execution with a new id."
                )
            what = f"create execution '{row.exec_id}'"
            for stored in stored_inputs:
                self._check_new_artifact(stored, what, creating=row.exec_id)
            if len({stored.artifact_id for stored in stored_inputs}) < len(stored_inputs):
                self._backend_error(what, "two of its input artifacts have the same id")
            self._executions[row.exec_id] = row
            self._calls_of[row.exec_id] = {}
            self._artifacts_of[row.exec_id] = []
            self._logs[row.exec_id] = []
            for stored in stored_inputs:
                self._put_artifact(stored)

    def get_execution(self, exec_id: str) -> ExecutionRecord:
        """Return one execution; ``KitaruStateError`` when there is none."""
        with self._lock:
            return execution_out(self._execution(exec_id))

    def resolve_exec_id(self, prefix: str) -> str:
        """Return the full id of the one execution whose id starts or ends with ``prefix``
        (``latest``: the newest execution).

        ``KitaruStateError`` when none matches or several do (listing them);
        ``KitaruUsageError`` when ``prefix`` is empty.
        """
        check_exec_id_prefix(prefix, store_name=self._name)
        if prefix == LATEST:
            return latest_exec_id(self.list_executions(limit=1), store_name=self._name)
        with self._lock:
            self._check_open()
            if prefix in self._executions:
                return prefix
            ids = sorted(i for i in self._executions if i.startswith(prefix) or i.endswith(prefix))[:21]
        return pick_exec_id(prefix, ids, store_name=self._name)

    def resolve_artifact_id(self, prefix: str) -> str:
        """Return the full id of the one artifact whose id starts or ends with ``prefix``.

        ``KitaruStateError`` when none matches or several do (listing them);
        ``KitaruUsageError`` when ``prefix`` is empty.
        """
        check_exec_id_prefix(prefix, store_name=self._name, what="artifact")
        with self._lock:
            self._check_open()
            if prefix in self._artifacts:
                return prefix
            ids = sorted(i for i in self._artifacts if i.startswith(prefix) or i.endswith(prefix))[:21]
        return pick_exec_id(prefix, ids, store_name=self._name, what="artifact")

    def list_executions(
        self,
        *,
        flow: str | None = None,
        status: ExecutionStatus | str | None = None,
        limit: int | None = None,
        since: dt.datetime | None = None,
    ) -> list[ExecutionRecord]:
        """Return executions newest first, filtered as the SQL store filters them."""
        return self._listed(flow, status, limit, since, (None, None))

    def _listed(
        self,
        flow: str | None,
        status: ExecutionStatus | str | None,
        limit: int | None,
        since: dt.datetime | None,
        page: tuple[str | None, ExecutionCursor | None],
    ) -> list[ExecutionRecord]:
        if limit is not None and limit < 0:
            raise KitaruUsageError(f"The limit of an execution list must be 0 or more, got {limit}.")
        wanted = None if status is None else status_of(status)
        after = utc(since)
        direction, cursor = page
        with self._lock:
            self._check_open()
            found = [
                row
                for row in self._executions.values()
                if (flow is None or row.flow_name == flow)
                and (wanted is None or row.status is wanted)
                and (after is None or row.created_at >= after)
                and (
                    cursor is None
                    or (direction == "before" and (row.created_at, row.exec_id) < cursor)
                    or (direction == "after" and (row.created_at, row.exec_id) > cursor)
                )
            ]
        found.sort(key=lambda row: (row.created_at, row.exec_id), reverse=direction != "after")
        kept = found[:limit]
        if direction == "after":
            kept.reverse()
        return [execution_out(row) for row in kept]

    def list_execution_summaries(
        self,
        *,
        flow: str | None = None,
        status: ExecutionStatus | str | None = None,
        limit: int | None = None,
        since: dt.datetime | None = None,
        before: ExecutionCursor | None = None,
        after: ExecutionCursor | None = None,
    ) -> list[ExecutionSummary]:
        """Return executions as :meth:`list_executions` does, each with its numbers of
        calls, artifacts and pending waits, as of one moment; a page bounded by ``before``
        or ``after`` (``MetadataStore.list_execution_summaries``)."""
        page = page_of(before, after)
        with self._lock:
            records = self._listed(flow, status, limit, since, page)
            return [
                ExecutionSummary(
                    record,
                    len(self._calls_of[record.exec_id]),
                    len(self._artifacts_of[record.exec_id]),
                    sum(
                        1
                        for call_id in self._calls_of[record.exec_id]
                        if self._calls[call_id].kind is CallKind.WAIT
                        and self._calls[call_id].status is CallStatus.RUNNING
                    ),
                    totals_of(self._usage.get(record.exec_id, ())),
                )
                for record in records
            ]

    def count_executions(self, *, since: dt.datetime | None = None) -> dict[str, dict[str, int]]:
        """Return the number of executions of each flow in each status (created since ``since``)."""
        after = utc(since)
        counts: dict[str, dict[str, int]] = {}
        with self._lock:
            self._check_open()
            for row in self._executions.values():
                if after is None or row.created_at >= after:
                    of_flow = counts.setdefault(row.flow_name, {})
                    of_flow[row.status.value] = of_flow.get(row.status.value, 0) + 1
        return counts

    def start_execution(self, exec_id: str, *, runner_id: str) -> ExecutionRecord:
        """Mark the execution ``running`` for a (re-)run of its body; return the updated record."""
        with self._lock:
            return execution_out(self._start(self._execution(exec_id), runner_id))

    def finish_execution(
        self,
        exec_id: str,
        status: ExecutionStatus,
        *,
        result: ArtifactRecord | None = None,
        failure: dict[str, Any] | None = None,
        epoch: int | None = None,
    ) -> None:
        """End a run of the body: set status, ``ended_at`` (for terminal statuses),
        the failure, and insert and link the result artifact, in one transaction.

        For a status that is not terminal (``waiting``), ``ended_at`` stays as it is.
        With ``epoch``: only while it is the execution's (``KitaruFencedError`` otherwise).
        """
        value = status_of(status)
        stored_failure = json_copy(failure, "failure")
        stored_result = None if result is None else artifact_in(result)
        with self._lock:
            row = self._execution(exec_id)
            self._fence(exec_id, epoch)
            if stored_result is not None:
                self._check_new_artifact(stored_result, f"finish execution '{exec_id}'")
            now = utcnow()
            self._executions[exec_id] = dataclasses.replace(
                row,
                status=value,
                updated_at=now,
                ended_at=now if value.is_terminal else row.ended_at,
                failure=stored_failure,
                result_artifact_id=row.result_artifact_id if result is None else result.artifact_id,
            )
            if stored_result is not None:
                self._put_artifact(stored_result)

    def merge_execution_metadata(
        self, exec_id: str, patch: dict[str, Any], *, epoch: int | None = None
    ) -> None:
        """Merge ``patch`` into the execution's metadata (``merge_metadata`` rules); with
        ``epoch``, only while it is the execution's (``KitaruFencedError`` otherwise)."""
        with self._lock:
            row = self._execution(exec_id)
            self._fence(exec_id, epoch)
            merged = json_copy(merge_metadata(row.metadata, patch), "metadata")
            self._executions[exec_id] = dataclasses.replace(row, metadata=merged, updated_at=utcnow())

    # -- calls ------------------------------------------------------------
    def load_journal(self, exec_id: str) -> list[CallRecord]:
        """Return every call of the execution ordered by ``seq``, with ``output`` filled."""
        with self._lock:
            artifacts = self._artifacts
            out: list[CallRecord] = []
            for row in self._sorted_calls(exec_id):
                output = artifacts.get(row.output_artifact_id) if row.output_artifact_id else None
                out.append(call_out(row, None if output is None else artifact_out(output)))
            return out

    def begin_attempt(self, call: CallRecord, attempt: AttemptRecord, *, epoch: int | None = None) -> None:
        """Insert the call, or update the row with the same ``(exec_id, invocation_id)``
        (keeping its ``call_id``, metadata and attempts), and insert the attempt; with
        ``epoch``, only while it is the execution's (``KitaruFencedError`` otherwise)."""
        with self._lock:
            self._fence(call.exec_id, epoch)
            row = self._upsert_call(call, _RUNNING, None, count_attempt=True, attempt_id=attempt.attempt_id)
            self._attempts[attempt.attempt_id] = attempt_in(attempt, row.call_id)
            self._attempts_of.setdefault(row.call_id, []).append(attempt.attempt_id)

    def complete_call(
        self,
        call_id: str,
        attempt_id: str,
        *,
        output: ArtifactRecord,
        ended_at: dt.datetime,
        epoch: int | None = None,
    ) -> None:
        """Insert the output artifact, mark the attempt and the call ``completed``, link
        the output, set ``ended_at``, clear ``failure``: all or nothing; with ``epoch``,
        only while it is the epoch of the call's execution."""
        stored = artifact_in(output)
        ended = utc(ended_at)
        with self._lock:
            self._fence_call(call_id, epoch)
            self._check_new_artifact(stored, f"complete call '{call_id}'")
            attempt = self._attempt(call_id, attempt_id)
            self._put_artifact(stored)
            self._attempts[attempt_id] = dataclasses.replace(
                attempt, status=_COMPLETED, ended_at=ended, failure=None
            )
            row = self._calls[call_id]
            self._put_call(
                dataclasses.replace(
                    row,
                    status=_COMPLETED,
                    ended_at=ended,
                    failure=None,
                    output_artifact_id=stored.artifact_id,
                )
            )

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
        record, where ``call_id`` is the id of the stored call row; with ``epoch``, only
        while it is the execution's."""
        with self._lock:  # reentrant: the two steps below run as one
            self._execution(call.exec_id)
            self._fence(call.exec_id, epoch)
            self._check_new_artifact(artifact_in(output), f"complete call '{call.invocation_id}'")
            self.begin_attempt(call, attempt)  # checks everything before it changes anything
            stored_id = self._call_by_invocation[(call.exec_id, call.invocation_id)]
            self.complete_call(stored_id, attempt.attempt_id, output=output, ended_at=ended_at)

    def fail_attempt(
        self,
        call_id: str,
        attempt_id: str,
        *,
        failure: dict[str, Any],
        ended_at: dt.datetime,
        final: bool,
        epoch: int | None = None,
    ) -> None:
        """Mark the attempt ``failed`` with ``failure``; when ``final``, mark the call
        ``failed`` with the same failure and ``ended_at``; with ``epoch``, only while it
        is the epoch of the call's execution."""
        stored = json_copy(failure, "failure")
        ended = utc(ended_at)
        with self._lock:
            self._fence_call(call_id, epoch)
            attempt = self._attempt(call_id, attempt_id)
            self._attempts[attempt_id] = dataclasses.replace(
                attempt, status=_FAILED, ended_at=ended, failure=stored
            )
            if final:
                row = self._calls[call_id]
                self._put_call(
                    dataclasses.replace(
                        row, status=_FAILED, ended_at=ended, failure=json_copy(stored, "failure")
                    )
                )

    def record_cached_call(self, call: CallRecord, *, source: CallRecord, epoch: int | None = None) -> bool:
        """In one transaction: insert (or update, as in :meth:`begin_attempt`) ``call`` with
        status ``cached`` and the output of ``source`` (a call of another execution);
        merge ``source``'s metadata, then ``call``'s, into the call's metadata; copy
        the artifacts ``source`` saved (not its output) to the call under new ids and
        ``source``'s log lines to the call. No attempt. Returns ``False`` and records
        nothing when ``source``'s output no longer exists (its execution was deleted).
        With ``epoch``: only while it is the execution's."""
        if source.output_artifact_id is None:
            raise KitaruUsageError(
                f"Call '{source.call_id}' of execution '{source.exec_id}' has no output; "
                "only a completed call can answer a cache lookup."
            )
        with self._lock:
            self._check_open()
            self._fence(call.exec_id, epoch)
            if source.output_artifact_id not in self._artifacts:
                return False
            saved = [
                self._artifacts[artifact_id]
                for artifact_id in self._artifacts_of.get(source.exec_id, ())
                if self._artifacts[artifact_id].call_id == source.call_id
                and artifact_id != source.output_artifact_id
            ]
            saved.sort(key=lambda row: (row.created_at, row.artifact_id))
            logs = [r for r in self._logs.get(source.exec_id, ()) if r.call_id == source.call_id]
            row = self._upsert_call(call, _CACHED, source.output_artifact_id, count_attempt=False)
            merged = merge_metadata(merge_metadata(row.metadata, source.metadata), call.metadata)
            self._put_call(dataclasses.replace(row, metadata=json_copy(merged, "metadata")))
            for artifact in saved:
                copy = dataclasses.replace(
                    artifact, artifact_id=new_id(), exec_id=call.exec_id, call_id=row.call_id
                )
                self._put_artifact(copy)
            copies = [
                dataclasses.replace(
                    record,
                    seq=self._last_log_seq + index,
                    exec_id=call.exec_id,
                    call_id=row.call_id,
                    invocation_id=call.invocation_id,
                )
                for index, record in enumerate(logs, 1)
            ]
            self._last_log_seq += len(copies)
            self._logs[call.exec_id].extend(copies)
        return True

    def find_cached_call(
        self, cache_key: str, *, exclude_exec_id: str, not_before: dt.datetime | None = None
    ) -> CallRecord | None:
        """Return the newest (by ``ended_at``) ``completed`` call with ``cache_key`` and at
        least one attempt, in an execution other than ``exclude_exec_id``, that ended at
        or after ``not_before`` (when given), with ``output`` (data included) filled;
        or ``None``. Copies of calls seeded into a replay (no attempts) never answer."""
        floor = None if not_before is None else utc(not_before)
        with self._lock:
            self._check_open()
            best: tuple[dt.datetime, str] | None = None
            found: tuple[CallRecord, ArtifactRecord] | None = None
            for call_id in self._calls_by_cache_key.get(cache_key, ()):
                row = self._calls[call_id]
                if row.status is not _COMPLETED or row.exec_id == exclude_exec_id or row.attempt_count < 1:
                    continue
                if floor is not None and (row.ended_at is None or row.ended_at < floor):
                    continue
                artifact = self._artifacts.get(row.output_artifact_id or "")
                key = (row.ended_at or _LONG_AGO, row.call_id)
                if artifact is not None and (best is None or key > best):
                    best, found = key, (row, artifact)
            if found is None:
                return None
            row, artifact = found
            return call_out(row, artifact_out(artifact), self._attempts_of_call(row.call_id))

    def merge_call_metadata(
        self,
        call_id: str,
        patch: dict[str, Any],
        *,
        epoch: int | None = None,
        attempt_id: str | None = None,
    ) -> None:
        """Merge ``patch`` into the call's metadata (``merge_metadata`` rules), and with
        ``attempt_id`` into that attempt's too; with ``epoch``, only while it is the epoch
        of the call's execution."""
        with self._lock:
            self._fence_call(call_id, epoch)
            row = self._call(call_id)
            attempt = None
            if attempt_id is not None:
                attempt = self._attempt(call_id, attempt_id, before="logging metadata to it")
                done = json_copy(merge_metadata(attempt.metadata or {}, patch), "metadata")
            merged = json_copy(merge_metadata(row.metadata, patch), "metadata")
            self._put_call(dataclasses.replace(row, metadata=merged))
            if attempt is not None:
                self._attempts[attempt.attempt_id] = dataclasses.replace(attempt, metadata=done)

    # -- artifacts --------------------------------------------------------
    def add_artifact(self, artifact: ArtifactRecord, *, epoch: int | None = None) -> None:
        """Insert one artifact row (e.g. a value saved with ``kitaru.save``); with ``epoch``,
        only while it is the epoch of the artifact's execution."""
        stored = artifact_in(artifact)
        with self._lock:
            self._fence(artifact.exec_id, epoch)
            self._check_new_artifact(
                stored, f"add artifact '{stored.name}' ({stored.artifact_id})", plain=True
            )
            self._put_artifact(stored)

    def get_artifact(self, artifact_id: str) -> ArtifactRecord:
        """Return one artifact, data included; ``KitaruStateError`` when there is none."""
        with self._lock:
            self._check_open()
            row = self._artifacts.get(artifact_id)
            if row is None:
                raise KitaruStateError(
                    f"No artifact with id '{artifact_id}' in store '{self._name}'. "
                    "List an execution's artifacts with KitaruClient().artifacts.list(exec_id)."
                )
            return artifact_out(row)

    def list_artifacts(
        self,
        exec_id: str,
        *,
        name: str | None = None,
        kind: str | None = None,
        call_id: str | None = None,
        producing_call: str | None = None,
    ) -> list[ArtifactRecord]:
        """Return the execution's artifacts in creation order, without their inline data;
        ``producing_call`` is the name, invocation id or call id of the calls that produced them."""
        kind = None if kind is None else str(kind)
        with self._lock:
            self._execution(exec_id)
            producers = None
            if producing_call is not None:
                producers = {
                    row.call_id
                    for row in self._sorted_calls(exec_id)
                    if producing_call in (row.name, row.invocation_id, row.call_id)
                }
            found = [
                row
                for row in map(self._artifacts.__getitem__, self._artifacts_of[exec_id])
                if (name is None or row.name == name)
                and (kind is None or row.kind == kind)
                and (call_id is None or row.call_id == call_id)
                and (producers is None or row.call_id in producers)
            ]
        found.sort(key=lambda row: (row.created_at, row.artifact_id))
        return [artifact_out(row, with_data=False) for row in found]

    # -- logs -------------------------------------------------------------
    def append_logs(self, records: Sequence[LogRecord]) -> None:
        """Insert a batch of log records, keeping their order and numbering them (``seq``).

        ``KitaruStateError`` when an execution of the batch does not exist; nothing is inserted.
        """
        if not records:
            return
        with self._lock:
            for exec_id in dict.fromkeys(record.exec_id for record in records):
                self._execution(exec_id)
            stored = [log_in(record, self._last_log_seq + index) for index, record in enumerate(records, 1)]
            self._last_log_seq += len(stored)
            for record in stored:
                self._logs[record.exec_id].append(record)

    def list_logs(
        self,
        exec_id: str,
        *,
        call_id: str | None = None,
        after_seq: int | None = None,
        limit: int | None = None,
    ) -> list[LogRecord]:
        """Return the execution's log records in ``seq`` order: one call's, only those
        after ``after_seq`` (for following), at most ``limit``."""
        if limit is not None and limit < 0:
            raise KitaruUsageError(f"The limit of a log listing must be 0 or more, got {limit}.")
        with self._lock:
            self._execution(exec_id)
            found = (
                record
                for record in self._logs[exec_id]
                if (call_id is None or record.call_id == call_id)
                and (after_seq is None or record.seq > after_seq)
            )
            return list(found)[:limit]
