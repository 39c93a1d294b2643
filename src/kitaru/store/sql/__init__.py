"""The SQL metadata store: one implementation for SQLite files and PostgreSQL.

Every query is a SQLAlchemy Core statement written once for both databases
and compiled once when the store opens. Each method is one short
transaction; database errors stop here and become
:class:`kitaru.errors.KitaruBackendError`.

Example:
    >>> from kitaru.store.sql import SqlStore
    >>> store = SqlStore.open_sqlite("/tmp/kitaru-doc/store.db")  # doctest: +SKIP
    >>> store.list_executions(limit=5)  # doctest: +SKIP
    []
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from typing import Any, Literal

from kitaru._bulk import gc_paused
from kitaru._types import CallStatus, ExecutionStatus, merge_metadata, utcnow
from kitaru.errors import KitaruStateError, KitaruUsageError
from kitaru.records import ArtifactRecord, AttemptRecord, CallRecord, ExecutionRecord, ExecutionSummary
from kitaru.store._common import (
    LATEST,
    ExecutionCursor,
    check_exec_id_prefix,
    latest_exec_id,
    like_patterns,
    page_of,
    pick_exec_id,
)
from kitaru.store.sql import _rows
from kitaru.store.sql._attempts import AttemptMethods
from kitaru.store.sql._cache import CacheMethods
from kitaru.store.sql._calls import CallReadMethods
from kitaru.store.sql._connection import status_of, status_value
from kitaru.store.sql._idempotency import IdempotencyMethods
from kitaru.store.sql._keys import ApiKeyMethods
from kitaru.store.sql._logs import LogMethods
from kitaru.store.sql._memory import MemoryMethods
from kitaru.store.sql._queue import QueueMethods
from kitaru.store.sql._retention import RetentionMethods
from kitaru.store.sql._runners import LifecycleMethods
from kitaru.store.sql._seeds import SeedMethods
from kitaru.store.sql._sqlite import sqlite_url
from kitaru.store.sql._usage import UsageMethods, usage_totals
from kitaru.store.sql._waits import WaitMethods

__all__ = ["SqlStore"]

_RUNNING = CallStatus.RUNNING.value
_COMPLETED = CallStatus.COMPLETED.value
_FAILED = CallStatus.FAILED.value


class SqlStore(
    QueueMethods,
    LifecycleMethods,
    WaitMethods,
    SeedMethods,
    CacheMethods,
    LogMethods,
    UsageMethods,
    AttemptMethods,
    CallReadMethods,
    RetentionMethods,
    MemoryMethods,
    ApiKeyMethods,
    IdempotencyMethods,
):
    """A :class:`~kitaru.store.base.MetadataStore` on a SQLite file or a PostgreSQL database.

    Opening migrates the schema when needed. The store is thread-safe; share
    one instance per process and database. The runner lifecycle, waits and
    logs, the call listings and retention come from the method groups it combines;
    executions, the call write path and artifacts are here.

    Args:
        url: ``sqlite:///path/to/file.db`` or ``postgresql+psycopg://user:pw@host/db``.

    Example:
        >>> store = SqlStore("sqlite:////tmp/kitaru-doc/store.db")  # doctest: +SKIP
        >>> store.close()  # doctest: +SKIP
    """

    @classmethod
    def open_sqlite(cls, path: str | os.PathLike[str]) -> SqlStore:
        """Open (creating when missing) the SQLite store at ``path``.

        Example:
            >>> store = SqlStore.open_sqlite("/tmp/kitaru-doc/store.db")  # doctest: +SKIP
        """
        return cls(sqlite_url(path))

    # -- executions -------------------------------------------------------
    def create_execution(self, record: ExecutionRecord, *, inputs: Sequence[ArtifactRecord] = ()) -> None:
        """Insert a new execution and its input artifacts (one per flow argument) in one transaction."""
        params = _rows.execution_params(record)
        try:
            with self._writing() as cur:
                self._s.insert_execution.execute(cur, params)
                for artifact in inputs:
                    self._s.insert_artifact.execute(cur, _rows.artifact_params(artifact))
        except self._errors as exc:
            if isinstance(exc, self._integrity_errors) and self._execution_exists(record.exec_id):
                raise KitaruStateError(
                    f"An execution with id '{record.exec_id}' already exists in store '{self._name}'. "
                    "Create each execution with a new id."
                ) from exc
            self._raise(f"create execution '{record.exec_id}'", exc)

    def get_execution(self, exec_id: str) -> ExecutionRecord:
        """Return one execution; ``KitaruStateError`` when there is none."""
        try:
            with self._reading() as cur:
                row = self._s.get_execution.one(cur, {"b_exec_id": exec_id})
        except self._errors as exc:
            self._raise(f"read execution '{exec_id}'", exc)
        if row is None:
            self._missing_execution(exec_id)
        return _rows.execution_from_row(row)

    def resolve_exec_id(self, prefix: str) -> str:
        """Return the full id of the one execution whose id starts or ends with ``prefix``
        (``latest``: the newest execution).

        ``KitaruStateError`` when none matches or several do (listing them);
        ``KitaruUsageError`` when ``prefix`` is empty.
        """
        check_exec_id_prefix(prefix, store_name=self._name)
        if prefix == LATEST:
            return latest_exec_id(self.list_executions(limit=1), store_name=self._name)
        try:
            with self._reading() as cur:
                if self._s.exact_exec_id.one(cur, {"b_exec_id": prefix}) is not None:
                    return prefix
                ids = [str(row[0]) for row in self._s.matching_exec_ids.all(cur, _match_params(prefix))]
        except self._errors as exc:
            self._raise(f"resolve execution id prefix '{prefix}'", exc)
        return pick_exec_id(prefix, ids, store_name=self._name)

    def resolve_artifact_id(self, prefix: str) -> str:
        """Return the full id of the one artifact whose id starts or ends with ``prefix``.

        ``KitaruStateError`` when none matches or several do (listing them);
        ``KitaruUsageError`` when ``prefix`` is empty.
        """
        check_exec_id_prefix(prefix, store_name=self._name, what="artifact")
        try:
            with self._reading() as cur:
                if self._s.get_artifact.one(cur, {"b_artifact_id": prefix}) is not None:
                    return prefix
                ids = [str(row[0]) for row in self._s.matching_artifact_ids.all(cur, _match_params(prefix))]
        except self._errors as exc:
            self._raise(f"resolve artifact id prefix '{prefix}'", exc)
        return pick_exec_id(prefix, ids, store_name=self._name, what="artifact")

    def list_executions(
        self,
        *,
        flow: str | None = None,
        status: ExecutionStatus | str | None = None,
        limit: int | None = None,
        since: dt.datetime | None = None,
    ) -> list[ExecutionRecord]:
        """Return executions newest first, filtered in the database."""
        rows = self._execution_rows(flow, status, limit, since, counts=False)
        return [_rows.execution_from_row(row) for row in rows]

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
        calls, artifacts and pending waits and its model usage totals, counted in the same query;
        a page bounded by ``before`` or ``after`` (``MetadataStore.list_execution_summaries``)."""
        rows = self._execution_rows(flow, status, limit, since, counts=True, page=page_of(before, after))
        return [
            ExecutionSummary(
                _rows.execution_from_row(row),
                int(row[-4]),
                int(row[-3]),
                int(row[-2]),
                usage_totals(row[-1]),
            )
            for row in rows
        ]

    def count_executions(self, *, since: dt.datetime | None = None) -> dict[str, dict[str, int]]:
        """Return the number of executions of each flow in each status (created since ``since``)."""
        stmt = self._s.count_executions if since is None else self._s.count_executions_since
        try:
            with self._reading() as cur:
                rows = stmt.all(cur, {"b_since": since})
        except self._errors as exc:
            self._raise("count executions", exc)
        counts: dict[str, dict[str, int]] = {}
        for flow_name, status, count in rows:
            counts.setdefault(str(flow_name), {})[str(status)] = int(count)
        return counts

    def _execution_rows(
        self,
        flow: str | None,
        status: ExecutionStatus | str | None,
        limit: int | None,
        since: dt.datetime | None,
        *,
        counts: bool,
        page: tuple[Literal["before", "after"] | None, ExecutionCursor | None] = (None, None),
    ) -> list[Any]:
        if limit is not None and limit < 0:
            raise KitaruUsageError(f"The limit of an execution list must be 0 or more, got {limit}.")
        direction, cursor = page
        if (
            direction == "after"
            and cursor is not None
            and since is not None
            and cursor[0] >= (since if since.tzinfo else since.replace(tzinfo=dt.UTC))
        ):
            since = None  # implied by the cursor, which then bounds the index range
        params = {"b_flow": flow, "b_status": status_value(status), "b_since": since, "b_limit": limit}
        if cursor is not None:
            params["b_cursor_at"], params["b_cursor_id"] = cursor
        stmt = self._s.list_executions(
            flow=flow is not None,
            status=status is not None,
            since=since is not None,
            limit=limit is not None,
            counts=counts,
            page=direction,
        )
        try:
            with self._reading() as cur:
                rows = list(stmt.all(cur, params))
        except self._errors as exc:
            self._raise("list executions", exc)
        if direction == "after":
            rows.reverse()  # read oldest first, so that the limit keeps the nearest
        return rows

    def start_execution(self, exec_id: str, *, runner_id: str) -> ExecutionRecord:
        """Mark the execution ``running`` for a (re-)run of its body.

        Sets ``started_at`` when unset, clears ``ended_at`` and ``failure``,
        increments ``run_count``, records ``runner_id`` and ``heartbeat_at``.
        Returns the updated record.
        """
        params = {"b_exec_id": exec_id, "b_runner_id": runner_id, "b_now": utcnow()}
        try:
            with self._writing() as cur:
                row = self._s.start_execution.one(cur, params)
        except self._errors as exc:
            self._raise(f"start execution '{exec_id}'", exc)
        if row is None:
            self._missing_execution(exec_id)
        return _rows.execution_from_row(row)

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
        With ``epoch``: only while it is the execution's (``KitaruFencedError``
        otherwise, nothing written).
        """
        value = status_of(status)
        now = utcnow()
        params = {
            "b_exec_id": exec_id,
            "b_status": value.value,
            "b_now": now,
            "b_ended_at": now if value.is_terminal else None,
            "b_failure": failure,
            "b_result_id": result.artifact_id if result is not None else None,
        }
        try:
            with self._writing() as cur:
                self._fence(cur, exec_id, epoch, exclusive=True)
                if self._s.finish_execution.execute(cur, params) != 1:
                    self._missing_execution(exec_id)
                if result is not None:
                    self._s.insert_artifact.execute(cur, _rows.artifact_params(result))
        except self._errors as exc:
            self._raise(f"finish execution '{exec_id}'", exc)

    def merge_execution_metadata(
        self, exec_id: str, patch: dict[str, Any], *, epoch: int | None = None
    ) -> None:
        """Merge ``patch`` into the execution's metadata (``merge_metadata`` rules). With
        ``epoch``: only while it is the execution's (``KitaruFencedError`` otherwise)."""
        try:
            with self._writing() as cur:
                self._fence(cur, exec_id, epoch, exclusive=True)
                old = self._s.lock_execution_metadata.one(cur, {"b_exec_id": exec_id})
                if old is None:
                    self._missing_execution(exec_id)
                params = {
                    "b_exec_id": exec_id,
                    "b_metadata": merge_metadata(old[0], patch),
                    "b_now": utcnow(),
                }
                self._s.set_execution_metadata.execute(cur, params)
        except self._errors as exc:
            self._raise(f"update the metadata of execution '{exec_id}'", exc)

    # -- calls ------------------------------------------------------------
    def load_journal(self, exec_id: str) -> list[CallRecord]:
        """Return every call of the execution ordered by ``seq``, with ``output`` filled."""
        with gc_paused():
            try:
                with self._reading() as cur:
                    rows = self._s.load_journal.stream(cur, {"b_exec_id": exec_id})
                    journal = _rows.journal_from_rows(rows)
                    if not journal:
                        self._require_execution(exec_id, cur)
            except self._errors as exc:
                self._raise(f"load the journal of execution '{exec_id}'", exc)
        return journal

    def begin_attempt(self, call: CallRecord, attempt: AttemptRecord, *, epoch: int | None = None) -> None:
        """In one transaction: insert the call, or update the existing row with the same
        ``(exec_id, invocation_id)`` (new seq, name, type, status ``running``,
        cache key, fingerprint, after; keeps its ``call_id``, metadata and
        attempts), and insert the attempt. ``call.call_id`` of an existing row wins:
        callers pass the id from the journal when there is one.

        The other columns of the call (kind, ``started_at``, ``ended_at``,
        ``failure``, the output link, the parent) are set from ``call`` as well,
        so a call that runs again shows no stale end, failure or output. The
        attempt is recorded under the call id of the stored row. With ``epoch``:
        only while it is the execution's (``KitaruFencedError`` otherwise, nothing written).
        """
        params = _rows.call_params(call, _RUNNING, None)
        params["attempt_count"] = 1
        s = self._s
        try:
            with self._writing() as cur:
                self._fence(cur, call.exec_id, epoch)
                row = s.upsert_running_call.one(cur, params)
                s.insert_attempt.execute(cur, _rows.attempt_params(attempt, row[0] if row else call.call_id))
        except self._errors as exc:
            self._raise_for_execution(
                call.exec_id, f"begin attempt {attempt.number} of call '{call.invocation_id}'", exc
            )

    def complete_call(
        self,
        call_id: str,
        attempt_id: str,
        *,
        output: ArtifactRecord,
        ended_at: dt.datetime,
        epoch: int | None = None,
    ) -> None:
        """In one transaction: insert the output artifact, mark the attempt and the
        call ``completed``, link the output, set ``ended_at``, clear ``failure``. With
        ``epoch``: only while it is the epoch of the call's execution (``KitaruFencedError``
        otherwise, nothing written)."""
        ended = {
            "b_call_id": call_id,
            "b_attempt_id": attempt_id,
            "b_status": _COMPLETED,
            "b_ended_at": ended_at,
            "b_failure": None,
            "b_output_id": output.artifact_id,
        }
        s = self._s
        try:
            with self._writing() as cur:
                self._fence_call(cur, call_id, epoch)
                s.insert_artifact.execute(cur, _rows.artifact_params(output))
                if s.end_attempt.execute(cur, ended) != 1:
                    self._missing_attempt(call_id, attempt_id)
                s.complete_call.execute(cur, ended)
        except self._errors as exc:
            self._raise(f"complete call '{call_id}'", exc)

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
        ``failed`` with the same failure and ``ended_at``. With ``epoch``: only while it
        is the epoch of the call's execution (``KitaruFencedError`` otherwise)."""
        ended = {
            "b_call_id": call_id,
            "b_attempt_id": attempt_id,
            "b_status": _FAILED,
            "b_ended_at": ended_at,
            "b_failure": failure,
        }
        try:
            with self._writing() as cur:
                self._fence_call(cur, call_id, epoch)
                if self._s.end_attempt.execute(cur, ended) != 1:
                    self._missing_attempt(call_id, attempt_id)
                if final:
                    self._s.fail_call.execute(cur, ended)
        except self._errors as exc:
            self._raise(f"record the failure of attempt '{attempt_id}' of call '{call_id}'", exc)

    def merge_call_metadata(
        self,
        call_id: str,
        patch: dict[str, Any],
        *,
        epoch: int | None = None,
        attempt_id: str | None = None,
    ) -> None:
        """Merge ``patch`` into the call's metadata (``merge_metadata`` rules), and with
        ``attempt_id`` into that attempt's too, in one transaction. With ``epoch``:
        only while it is the epoch of the call's execution (``KitaruFencedError`` otherwise)."""
        try:
            with self._writing() as cur:
                self._fence_call(cur, call_id, epoch)
                old = self._s.lock_call_metadata.one(cur, {"b_call_id": call_id})
                if old is None:
                    self._missing_call(call_id)
                params = {"b_call_id": call_id, "b_metadata": merge_metadata(old[0], patch)}
                self._s.set_call_metadata.execute(cur, params)
                if attempt_id is not None:
                    ids = {"b_call_id": call_id, "b_attempt_id": attempt_id}
                    held = self._s.lock_attempt_metadata.one(cur, ids)
                    if held is None:
                        self._missing_attempt(call_id, attempt_id, before="logging metadata to it")
                    merged = merge_metadata(held[0] or {}, patch)
                    self._s.set_attempt_metadata.execute(cur, {**ids, "b_metadata": merged})
        except self._errors as exc:
            self._raise(f"update the metadata of call '{call_id}'", exc)

    # -- artifacts --------------------------------------------------------
    def add_artifact(self, artifact: ArtifactRecord, *, epoch: int | None = None) -> None:
        """Insert one artifact row (e.g. a value saved with ``kitaru.save``). With ``epoch``:
        only while it is the epoch of the artifact's execution (``KitaruFencedError`` otherwise)."""
        try:
            with self._writing() as cur:
                self._fence(cur, artifact.exec_id, epoch)
                self._s.insert_artifact.execute(cur, _rows.artifact_params(artifact))
        except self._errors as exc:
            if isinstance(exc, self._integrity_errors):
                self._require_execution(artifact.exec_id)
            self._raise(f"add artifact '{artifact.name}' ({artifact.artifact_id})", exc)

    def get_artifact(self, artifact_id: str) -> ArtifactRecord:
        """Return one artifact, data included; ``KitaruStateError`` when there is none."""
        try:
            with self._reading() as cur:
                row = self._s.get_artifact.one(cur, {"b_artifact_id": artifact_id})
        except self._errors as exc:
            self._raise(f"read artifact '{artifact_id}'", exc)
        if row is None:
            raise KitaruStateError(
                f"No artifact with id '{artifact_id}' in store '{self._name}'. "
                "List an execution's artifacts with KitaruClient().artifacts.list(exec_id)."
            )
        return _rows.artifact_from_row(row)

    def list_artifacts(
        self,
        exec_id: str,
        *,
        name: str | None = None,
        kind: str | None = None,
        call_id: str | None = None,
        producing_call: str | None = None,
    ) -> list[ArtifactRecord]:
        """Return the execution's artifacts in creation order, filtered in the database.
        ``data`` is left ``None`` here; fetch values with :meth:`get_artifact`."""
        stmt = self._s.list_artifacts(
            name=name is not None,
            kind=kind is not None,
            call_id=call_id is not None,
            producing_call=producing_call is not None,
        )
        params = {
            "b_exec_id": exec_id,
            "b_name": name,
            "b_kind": None if kind is None else str(kind),
            "b_call_id": call_id,
            "b_producing_call": producing_call,
        }
        try:
            with self._reading() as cur:
                rows = stmt.all(cur, params)
        except self._errors as exc:
            self._raise(f"list the artifacts of execution '{exec_id}'", exc)
        if not rows:
            self._require_execution(exec_id)
        return [_rows.artifact_from_row(row) for row in rows]


def _match_params(token: str) -> dict[str, Any]:
    """The binds of the ``matching_*_ids`` statements for ids that start or end with ``token``."""
    starts, ends = like_patterns(token)
    return {
        "b_starts": starts,
        "b_ends": ends,
        "b_prefix": token,
        "b_suffix": token,
        "b_length": len(token),
        "b_length_end": len(token),
    }
