"""The tables of the in-memory store and the row helpers its method groups share.

:class:`MemoryTables` holds one dict per table of the SQL schema (keyed by
the primary key) plus the indexes the queries need, and one lock. The
method groups (lifecycle and waits in :mod:`kitaru.store.memory._lifecycle`,
the rest in :mod:`kitaru.store.memory`) take the lock, check everything a
write needs, and only then change rows: a refused write changes nothing,
like a rolled-back transaction. Helpers named ``_*`` expect the lock held.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from typing import NoReturn, Self

from kitaru._types import CallStatus, ExecutionStatus, utcnow
from kitaru.errors import KitaruBackendError, KitaruFencedError, KitaruStateError
from kitaru.records import (
    ApiKeyRecord,
    ArtifactRecord,
    AttemptRecord,
    CallRecord,
    ExecutionRecord,
    LlmUsageRecord,
    LogRecord,
    MemoryCompaction,
    MemoryEntry,
    MemoryOp,
)
from kitaru.store.memory._rows import attempt_out, call_in

__all__ = ["MemoryTables"]


class MemoryTables:
    """The rows of one in-memory store, its lock and the helpers that read and write rows.

    Args:
        name: How messages name the store.
    """

    def __init__(self, name: str = "memory") -> None:
        self._name = name
        self._lock = threading.RLock()
        self._work = threading.Condition(self._lock)  # notified when work is queued
        self._closed = False
        # One dict per table, keyed by the primary key, and the indexes the queries use.
        self._executions: dict[str, ExecutionRecord] = {}
        self._calls: dict[str, CallRecord] = {}  # stored without output and attempts
        self._call_by_invocation: dict[tuple[str, str], str] = {}
        self._calls_of: dict[str, dict[str, None]] = {}  # exec_id -> call ids, in insertion order
        self._calls_by_cache_key: dict[str, set[str]] = {}
        self._attempts: dict[str, AttemptRecord] = {}
        self._attempts_of: dict[str, list[str]] = {}  # call_id -> attempt ids
        self._artifacts: dict[str, ArtifactRecord] = {}
        self._artifacts_of: dict[str, list[str]] = {}  # exec_id -> artifact ids
        self._logs: dict[str, list[LogRecord]] = {}  # exec_id -> records by seq
        self._last_log_seq = 0
        # Memory: versions by (scope type, scope, key); the flow bodies' journal by execution.
        self._memory: dict[tuple[str, str, str], list[MemoryEntry]] = {}
        self._memory_next: dict[tuple[str, str, str], int] = {}
        self._memory_ops: dict[str, dict[str, MemoryOp]] = {}
        self._memory_compactions: list[MemoryCompaction] = []
        self._usage: dict[str, list[LlmUsageRecord]] = {}  # exec_id -> usage rows in recorded order
        self._api_keys: dict[str, ApiKeyRecord] = {}  # key_id -> key, in creation order
        # Idempotency keys of a server's writes: key -> (claimed at, kept answer).
        self._idempotency: dict[str, tuple[dt.datetime, bytes]] = {}
        self._writing_idempotently = False

    @property
    def name(self) -> str:
        """The store's name, as shown in messages."""
        return self._name

    @property
    def shared(self) -> bool:
        """``False``: only this process sees an in-memory store."""
        return False

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._name!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Drop the data. The store is unusable afterwards; closing again does nothing."""
        with self._lock:
            self._closed = True
            for table in (
                self._executions,
                self._calls,
                self._call_by_invocation,
                self._calls_of,
                self._calls_by_cache_key,
                self._attempts,
                self._attempts_of,
                self._artifacts,
                self._artifacts_of,
                self._logs,
                self._usage,
            ):
                table.clear()

    # -- rows (call with the lock held) --------------------------------------
    def _check_open(self) -> None:
        if self._closed:
            raise KitaruStateError(f"The store '{self._name}' is closed. Open a new store to use it again.")

    def _execution(self, exec_id: str) -> ExecutionRecord:
        self._check_open()
        row = self._executions.get(exec_id)
        if row is None:
            raise KitaruStateError(
                f"No execution with id '{exec_id}' in store '{self._name}'. "
                "List executions with `kitaru executions list` or KitaruClient().executions.list()."
            )
        return row

    def _start(self, row: ExecutionRecord, runner_id: str) -> ExecutionRecord:
        now = utcnow()
        row = self._executions[row.exec_id] = dataclasses.replace(
            row,
            status=ExecutionStatus.RUNNING,
            started_at=row.started_at or now,
            ended_at=None,
            failure=None,
            run_count=row.run_count + 1,
            runner_id=runner_id,
            heartbeat_at=now,
            updated_at=now,
            epoch=row.epoch + 1,
            queued_at=None,
        )
        return row

    def _fence(self, exec_id: str, epoch: int | None) -> None:
        """Refuse a runner's write whose ``epoch`` is not the execution's (``None``: not a
        runner's write). ``KitaruStateError`` when the execution does not exist."""
        if epoch is None:
            return
        row = self._execution(exec_id)
        if row.epoch != epoch:
            raise KitaruFencedError(exec_id, epoch, row.epoch, store=self._name)

    def _fence_call(self, call_id: str, epoch: int | None) -> None:
        """:meth:`_fence` for a write to a call (a missing call is left to the write to report)."""
        if epoch is None:
            return
        self._check_open()
        row = self._calls.get(call_id)
        if row is not None:
            self._fence(row.exec_id, epoch)

    def _call(self, call_id: str) -> CallRecord:
        self._check_open()
        row = self._calls.get(call_id)
        if row is None:
            raise KitaruStateError(
                f"No call with id '{call_id}' in store '{self._name}'. "
                "Pass the id of a recorded call (see list_calls of its execution)."
            )
        return row

    def _attempt(self, call_id: str, attempt_id: str, *, before: str = "ending it") -> AttemptRecord:
        self._check_open()
        attempt = self._attempts.get(attempt_id)
        if attempt is None or attempt.call_id != call_id:
            raise KitaruStateError(
                f"No attempt with id '{attempt_id}' of call '{call_id}' in store '{self._name}'. "
                f"Record the attempt with begin_attempt() before {before}."
            )
        return attempt

    def _attempts_of_call(self, call_id: str) -> tuple[AttemptRecord, ...]:
        found = [self._attempts[attempt_id] for attempt_id in self._attempts_of.get(call_id, ())]
        found.sort(key=lambda attempt: (attempt.number, attempt.attempt_id))
        return tuple(attempt_out(attempt) for attempt in found)

    def _sorted_calls(self, exec_id: str) -> list[CallRecord]:
        self._execution(exec_id)
        rows = [self._calls[call_id] for call_id in self._calls_of[exec_id]]
        rows.sort(key=_call_order)
        return rows

    def _upsert_call(
        self,
        call: CallRecord,
        status: CallStatus,
        output_artifact_id: str | None,
        *,
        count_attempt: bool,
        attempt_id: str | None = None,
    ) -> CallRecord:
        """Insert ``call`` or replace the columns of the row with its invocation id.

        The row keeps its ``call_id``, metadata and attempt count (plus one when
        ``count_attempt``). Checks everything before changing anything.
        """
        self._execution(call.exec_id)
        existing_id = self._call_by_invocation.get((call.exec_id, call.invocation_id))
        what = f"record call '{call.invocation_id}'"
        if existing_id is None and call.call_id in self._calls:
            self._backend_error(what, f"a call with id '{call.call_id}' already exists")
        if attempt_id is not None and attempt_id in self._attempts:
            self._backend_error(what, f"an attempt with id '{attempt_id}' already exists")
        if existing_id is None:
            row = call_in(
                call, status=status, output_artifact_id=output_artifact_id, attempt_count=int(count_attempt)
            )
        else:
            old = self._calls[existing_id]
            row = call_in(
                dataclasses.replace(call, call_id=existing_id, metadata=old.metadata),
                status=status,
                output_artifact_id=output_artifact_id,
                attempt_count=old.attempt_count + int(count_attempt),
            )
        self._put_call(row)
        return row

    def _put_call(self, row: CallRecord) -> None:
        """Store a call row and keep the indexes in step (the only writer of calls)."""
        old = self._calls.get(row.call_id)
        if old is not None and old.cache_key is not None and old.cache_key != row.cache_key:
            self._calls_by_cache_key[old.cache_key].discard(row.call_id)
        if row.cache_key is not None:
            self._calls_by_cache_key.setdefault(row.cache_key, set()).add(row.call_id)
        self._calls[row.call_id] = row
        self._call_by_invocation[(row.exec_id, row.invocation_id)] = row.call_id
        self._calls_of[row.exec_id][row.call_id] = None

    def _check_new_artifact(
        self, artifact: ArtifactRecord, what: str, *, creating: str | None = None, plain: bool = False
    ) -> None:
        """Refuse an artifact whose id is taken or whose execution is missing.

        ``creating`` is the id of an execution created together with it. For a
        ``plain`` insert a missing execution is a state error (as the SQL store
        reports it); inside a bigger write it is a backend error.
        """
        known = artifact.exec_id == creating or artifact.exec_id in self._executions
        if plain and not known:
            self._execution(artifact.exec_id)
        if artifact.artifact_id in self._artifacts:
            self._backend_error(what, f"an artifact with id '{artifact.artifact_id}' already exists")
        if not known:
            self._backend_error(what, f"artifact '{artifact.artifact_id}' names no stored execution")

    def _put_artifact(self, row: ArtifactRecord) -> None:
        self._artifacts[row.artifact_id] = row
        self._artifacts_of[row.exec_id].append(row.artifact_id)

    def _backend_error(self, what: str, detail: str) -> NoReturn:
        raise KitaruBackendError(f"Could not {what} in store '{self._name}': {detail}.")


def _call_order(row: CallRecord) -> tuple[int, str]:
    return (row.seq, row.call_id)
