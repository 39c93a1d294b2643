"""``client.executions``: look up executions and act on them.

Every operation checks the current state first and raises
:class:`KitaruStateError` saying why it does not apply. These methods are the one
path of each lifecycle operation: the flow object, ``Execution`` and the CLI call
them; after the state check they ask the execution target, which claims the
execution with a compare-and-set in the store.
"""

from __future__ import annotations

import builtins
import datetime as dt
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from kitaru._answers import record_answer
from kitaru._bulk import gc_paused
from kitaru._leases import is_orphaned
from kitaru._types import ArtifactKind, ExecutionStatus
from kitaru.client._convert import to_artifact, to_calls, to_execution, to_log, to_pending_wait
from kitaru.errors import KitaruStateError, KitaruUsageError
from kitaru.models import CheckpointCall, Execution, LogEntry, PendingWait
from kitaru.records import ANSWERED_BY_CLIENT, CallRecord, ExecutionRecord

if TYPE_CHECKING:
    from kitaru.client import KitaruClient

__all__ = ["Executions"]

_CONSISTENT_READS = 20
"""How often :meth:`Executions.get` re-reads an execution that changes while it is read."""

_TERMINAL_HINT = {
    ExecutionStatus.COMPLETED: "it completed; start a new execution from it with replay()",
    ExecutionStatus.FAILED: "it failed; re-run it with retry()",
    ExecutionStatus.CANCELLED: "it was cancelled; start a new execution from it with replay()",
}


class Executions:
    """``client.executions``."""

    def __init__(self, client: KitaruClient) -> None:
        self._client = client

    # -- reading ----------------------------------------------------------
    def _record(self, exec_id: str) -> ExecutionRecord:
        store = self._client._store
        return store.get_execution(store.resolve_exec_id(exec_id))

    def get(self, exec_id: str, *, checkpoints: bool = True) -> Execution:
        """Return one execution (a unique id prefix works) with its calls, artifacts and waits.

        ``checkpoints=False`` reads it without its calls, for long executions
        shown a page at a time: ``checkpoints`` is then empty, ``artifacts``
        holds only its inputs and result, and ``checkpoint_count`` says how many
        calls :meth:`list_checkpoints` pages through.
        """
        with gc_paused():
            return self._get(exec_id, checkpoints=checkpoints)

    def _get(self, exec_id: str, *, checkpoints: bool) -> Execution:
        store = self._client._store
        record = self._record(exec_id)
        loader = self._client._load_artifact
        if not checkpoints:
            record, pending = self._with_pending(record)
            inputs = store.list_artifacts(record.exec_id, kind=ArtifactKind.INPUT.value)
            shown = [a for a in inputs if a.call_id is None]  # not the answers to its waits
            if record.result_artifact_id is not None:
                shown.append(store.get_artifact(record.result_artifact_id))
            return to_execution(
                record,
                [],
                shown,
                loader,
                store.get_artifact,
                pending=pending,
                client=self._client,
                checkpoint_count=store.count_calls(record.exec_id),
            )
        calls, artifacts = store.list_calls(record.exec_id), store.list_artifacts(record.exec_id)
        record, pending = self._with_pending(record)
        return to_execution(
            record,
            calls,
            artifacts,
            loader,
            store.get_artifact,
            pending=pending,
            client=self._client,
            checkpoint_count=len(calls),
        )

    def _with_pending(self, record: ExecutionRecord) -> tuple[ExecutionRecord, builtins.list[CallRecord]]:
        """The execution and its pending waits as of one moment.

        The store enters a wait and sets ``waiting`` in one transaction, but these
        are two reads: they are repeated until the execution did not change
        between them, so a ``running`` execution is never shown with a pending wait.
        """
        store = self._client._store
        for _ in range(_CONSISTENT_READS):
            pending = store.list_pending_waits(record.exec_id)
            again = store.get_execution(record.exec_id)
            if again == record:
                break
            record = again
        return record, pending

    def _started(self, exec_id: str) -> Execution:
        """The execution right after an operation that set it running in this process: read
        without its calls, which the run changes from now on (``checkpoint_count`` counts
        them; ``refresh()`` or ``list_checkpoints()`` reads them). Reading thousands of
        calls here would hold up the run it just started."""
        return self.get(exec_id, checkpoints=False)

    def list_checkpoints(
        self, exec_id: str, *, offset: int = 0, limit: int | None = 50
    ) -> builtins.list[CheckpointCall]:
        """Return a page of an execution's calls in order (``seq``): at most ``limit``
        (``None``: all) after skipping ``offset``, paged by the store, each with its
        attempts and artifacts. ``executions.get(id, checkpoints=False).checkpoint_count``
        says how many there are.

        Raises:
            KitaruUsageError: A negative ``offset`` or ``limit``.
        """
        if offset < 0 or (limit is not None and limit < 0):
            raise KitaruUsageError(
                f"list_checkpoints needs an offset and a limit of 0 or more, got offset={offset}, "
                f"limit={limit}."
            )
        store = self._client._store
        full_id = store.resolve_exec_id(exec_id)
        with gc_paused():
            calls = store.list_calls(full_id, offset=offset, limit=limit, artifacts=True)
            loader = self._client._load_artifact
            produced = {c.call_id: [to_artifact(a, loader) for a in c.artifacts] for c in calls}
            return to_calls(calls, produced, loader, store.get_artifact)

    def list(
        self,
        *,
        flow: str | None = None,
        status: ExecutionStatus | str | None = None,
        limit: int | None = 50,
        since: dt.datetime | None = None,
    ) -> list[Execution]:
        """Return executions newest first, filtered by the store (without their calls)."""
        store = self._client._store
        records = store.list_executions(flow=flow, status=status, limit=limit, since=since)
        return [to_execution(r, [], [], None, store.get_artifact, client=self._client) for r in records]

    def latest(
        self, *, flow: str | None = None, status: ExecutionStatus | str | None = None
    ) -> Execution | None:
        """Return the newest execution (with its calls), or ``None`` when there is none."""
        records = self._client._store.list_executions(flow=flow, status=status, limit=1)
        return self.get(records[0].exec_id) if records else None

    def pending_waits(self, exec_id: str) -> builtins.list[PendingWait]:
        """Return the waits of the execution that wait for input."""
        record = self._record(exec_id)
        return [to_pending_wait(c) for c in self._client._store.list_pending_waits(record.exec_id)]

    def logs(
        self,
        exec_id: str,
        *,
        checkpoint: str | None = None,
        limit: int | None = None,
        follow: bool = False,
        poll_interval: float = 0.2,
    ) -> builtins.list[LogEntry] | Iterator[LogEntry]:
        """Return the captured log lines of an execution in order.

        ``checkpoint`` limits them to one call (invocation id, call id or a checkpoint
        name called once). ``follow=True`` returns an iterator that yields new lines
        until the execution ends.
        """
        store = self._client._store
        record = self._record(exec_id)
        call_id = None
        if checkpoint is not None:
            call_id = _select(store.list_calls(record.exec_id), checkpoint, record.exec_id).call_id
        if not follow:
            return [to_log(r) for r in store.list_logs(record.exec_id, call_id=call_id, limit=limit)]
        return self._follow(record.exec_id, call_id, poll_interval)

    def _follow(self, exec_id: str, call_id: str | None, poll_interval: float) -> Iterator[LogEntry]:
        store = self._client._store
        after: int | None = None
        while True:
            ended = store.get_execution(exec_id).status.is_terminal
            for record in store.list_logs(exec_id, call_id=call_id, after_seq=after):
                after = record.seq
                yield to_log(record)
            if ended:
                return
            time.sleep(poll_interval)

    # -- acting -----------------------------------------------------------
    def _pick_wait(self, record: ExecutionRecord, wait: str | None) -> CallRecord:
        pending = self._client._store.list_pending_waits(record.exec_id)
        if not pending:
            raise KitaruStateError(
                f"Execution {record.exec_id} ({record.status.value}) has no pending wait; nothing to answer."
            )
        if wait is None:
            if len(pending) > 1:
                names = ", ".join(repr(c.invocation_id) for c in pending)
                raise KitaruStateError(
                    f"Execution {record.exec_id} has {len(pending)} pending waits ({names}); "
                    "say which with wait=."
                )
            return pending[0]
        for call in pending:
            if wait in (call.invocation_id, call.call_id, call.name):
                return call
        names = ", ".join(repr(c.invocation_id) for c in pending)
        raise KitaruStateError(f"Execution {record.exec_id} has no pending wait {wait!r}; pending: {names}.")

    def input(self, exec_id: str, *, wait: str | None = None, value: Any = None) -> Execution:
        """Answer a pending wait; the execution continues (here, when its runner has left).

        Raises:
            KitaruWaitValidationError: the value does not fit the wait's schema (nothing recorded).
            KitaruStateError: no such pending wait.
        """
        record = self._record(exec_id)
        call = self._pick_wait(record, wait)
        self._resolve(record, call, value=value, aborted=False)
        return self._started(record.exec_id)

    def abort_wait(self, exec_id: str, *, wait: str | None = None) -> Execution:
        """Abort a pending wait: ``wait()`` raises ``KitaruWaitAbortedError`` in the flow body."""
        record = self._record(exec_id)
        call = self._pick_wait(record, wait)
        self._resolve(record, call, value=None, aborted=True)
        return self._started(record.exec_id)

    def _resolve(self, record: ExecutionRecord, call: CallRecord, *, value: Any, aborted: bool) -> None:
        store, artifacts = self._client._store, self._client._artifacts
        by = ANSWERED_BY_CLIENT
        if not record_answer(store, artifacts, call, value=value, aborted=aborted, answered_by=by):
            raise KitaruStateError(
                f"Wait {call.invocation_id!r} of execution {record.exec_id} was answered meanwhile."
            )
        try:
            self._continue_if_left(record.exec_id)
        except KitaruStateError as exc:
            raise KitaruStateError(
                f"The answer to wait {call.invocation_id!r} was recorded, but execution {record.exec_id} "
                f"could not be continued in this process: {exc} Once its code can be loaded here, "
                "continue it with executions.resume()."
            ) from exc

    def _continue_if_left(self, exec_id: str) -> bool:
        """Continue a waiting execution here when no live runner holds it."""
        store = self._client._store
        record = store.get_execution(exec_id)
        if record.status is not ExecutionStatus.WAITING:
            return False
        if record.runner_id is not None and not is_orphaned(record):
            return False  # its runner is still polling and picks the answer up
        return self._client._target.continue_execution(
            store,
            self._client._artifacts,
            exec_id,
            expected={ExecutionStatus.WAITING},
            expected_runner=record.runner_id,
        )

    def resume(self, exec_id: str) -> Execution:
        """Continue a ``waiting`` execution whose input is resolved, or an orphaned one."""
        store = self._client._store
        record = self._record(exec_id)
        if record.status.is_terminal:
            raise KitaruStateError(
                f"Execution {record.exec_id} cannot be resumed: {_TERMINAL_HINT[record.status]}."
            )
        orphaned = is_orphaned(record)
        if record.status is ExecutionStatus.WAITING and not orphaned:
            pending = store.list_pending_waits(record.exec_id)
            if pending:
                names = ", ".join(repr(c.invocation_id) for c in pending)
                raise KitaruStateError(
                    f"Execution {record.exec_id} waits for input at {names}; answer it with "
                    "executions.input(...), which continues it."
                )
            if record.runner_id is not None:
                raise KitaruStateError(
                    f"Execution {record.exec_id} is already being continued by runner {record.runner_id}."
                )
        elif record.status in (ExecutionStatus.RUNNING, ExecutionStatus.PENDING) and not orphaned:
            raise KitaruStateError(
                f"Execution {record.exec_id} is {record.status.value} in runner {record.runner_id} "
                "(alive); there is nothing to resume."
            )
        self._continue(record)
        return self._started(record.exec_id)

    def retry(self, exec_id: str) -> Execution:
        """Re-run a ``failed`` execution in place, reusing its completed checkpoints."""
        record = self._record(exec_id)
        if record.status is not ExecutionStatus.FAILED:
            hint = (
                _TERMINAL_HINT.get(record.status)
                or "it has not failed; use resume() for waiting or orphaned executions"
            )
            raise KitaruStateError(f"Execution {record.exec_id} cannot be retried: {hint}.")
        self._continue(record)
        return self._started(record.exec_id)

    def _continue(self, record: ExecutionRecord) -> None:
        ok = self._client._target.continue_execution(
            self._client._store,
            self._client._artifacts,
            record.exec_id,
            expected={record.status},
            expected_runner=record.runner_id,
        )
        if not ok:
            raise KitaruStateError(
                f"Execution {record.exec_id} changed meanwhile (another runner took it over); nothing done."
            )

    def replay(
        self, exec_id: str, *, from_: str, overrides: dict[str, Any] | None = None, **flow_inputs: Any
    ) -> Execution:
        """Start a new execution of the current code that reuses ``exec_id``'s calls
        before the frontier and runs the rest live.

        The frontier is the earliest of ``from_`` (checkpoint name, invocation id or
        call id) and every call pinned by ``overrides={"checkpoint.<selector>": value}``.
        A call before it is reused only when its arguments are unchanged.
        """
        new_exec = self.start_replay(exec_id, from_=from_, overrides=overrides, flow_inputs=flow_inputs)
        return self._started(new_exec)

    def start_replay(
        self,
        exec_id: str,
        *,
        from_: str,
        overrides: dict[str, Any] | None = None,
        flow_inputs: dict[str, Any] | None = None,
        flow: str | None = None,
    ) -> str:
        """The replay operation every surface goes through; returns the new exec id.

        Checks the state (and, with ``flow``, that the execution belongs to that
        flow), then asks the execution target to start the replay.

        Raises:
            KitaruStateError: the execution still runs, or belongs to another flow.
        """
        record = self._record(exec_id)
        if flow is not None and record.flow_name != flow:
            raise KitaruStateError(
                f"Execution {record.exec_id} is an execution of flow {record.flow_name!r}, not of flow "
                f"{flow!r}; replay it with {record.flow_name}.replay(...) or "
                "KitaruClient().executions.replay(...)."
            )
        if not record.status.is_terminal and record.status is not ExecutionStatus.WAITING:
            raise KitaruStateError(
                f"Execution {record.exec_id} is {record.status.value}; replay an execution that ended "
                "or waits."
            )
        return self._client._target.replay(
            self._client._store,
            self._client._artifacts,
            record.exec_id,
            from_=from_,
            overrides=overrides,
            flow_inputs=dict(flow_inputs or {}),
        )

    def cancel(self, exec_id: str) -> Execution:
        """Cancel an execution: its runner stops at the next durable boundary; one
        nobody runs ends ``cancelled`` at once."""
        store = self._client._store
        record = self._record(exec_id)
        if record.status.is_terminal:
            raise KitaruStateError(f"Execution {record.exec_id} already ended ({record.status.value}).")
        record = store.request_cancel(record.exec_id)
        self._client._target.cancel_here(record.exec_id)
        if record.runner_id is None or is_orphaned(record):
            store.set_execution_status(
                record.exec_id,
                ExecutionStatus.CANCELLED,
                expected={record.status},
                runner_id=record.runner_id,
                release=True,
            )
        return self.get(record.exec_id)

    def wait_for(self, exec_id: str, *, timeout: float | None = None) -> Execution:
        """Block until the execution ends (or waits for input); return it."""
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = 0.01
        while True:
            record = self._record(exec_id)
            pending = record.status is ExecutionStatus.WAITING and self._client._store.list_pending_waits(
                record.exec_id
            )
            if record.status.is_terminal or pending:
                return self.get(record.exec_id)
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(
                    f"Execution {record.exec_id} is still {record.status.value} after {timeout} s."
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.25)


def _select(calls: builtins.list[CallRecord], selector: str, exec_id: str) -> CallRecord:
    exact = [c for c in calls if selector in (c.call_id, c.invocation_id)]
    named = [c for c in calls if c.name == selector]
    found = exact or named
    if len(found) == 1:
        return found[0]
    listing = ", ".join(repr(c.invocation_id) for c in (found or calls)) or "none"
    problem = "is ambiguous" if found else "matches no call"
    raise KitaruStateError(f"{selector!r} {problem} in execution {exec_id}; candidates: {listing}.")
