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
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from kitaru._answers import record_answer
from kitaru._bulk import gc_paused
from kitaru._leases import is_orphaned, lease_seconds, lease_settings
from kitaru._lifecycle import check_replay, check_resume, check_retry, pick_wait
from kitaru._types import ArtifactKind, ExecutionStatus
from kitaru.client._convert import to_artifact, to_calls, to_execution, to_log, to_pending_wait
from kitaru.client._orphans import orphan_error, orphan_hint, stuck_orphan
from kitaru.client._results import flow_result
from kitaru.client._retention import Progress, delete_executions, prune_executions
from kitaru.errors import KitaruNotFoundError, KitaruStateError, KitaruUsageError
from kitaru.models import CheckpointCall, DeletionResult, Execution, LogEntry, PendingWait
from kitaru.records import ANSWERED_BY_CLIENT, CallRecord, ExecutionRecord, LogRecord
from kitaru.store.base import cancel_execution

if TYPE_CHECKING:
    from kitaru.client import KitaruClient


@runtime_checkable
class _LogFollower(Protocol):
    """A store that waits for new log lines itself (a server's: a long-poll)."""

    def follow_logs(
        self, exec_id: str, *, call_id: str | None = None, after_seq: int | None = None, wait: float = 10.0
    ) -> tuple[builtins.list[LogRecord], bool]: ...


_FOLLOW_WAIT = 5.0
"""Seconds a server holds one follow request for new lines (then the runner is looked at again)."""

__all__ = ["Executions"]

_CONSISTENT_READS = 20
"""How often :meth:`Executions.get` re-reads an execution that changes while it is read."""


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
                llm_usage=store.llm_usage_totals(record.exec_id),
            )
        for _ in range(_CONSISTENT_READS):
            calls, artifacts = store.list_calls(record.exec_id), store.list_artifacts(record.exec_id)
            seen, (record, pending) = record, self._with_pending(record)
            if record == seen:  # no status change (such as entering a wait) between the reads
                break
        return to_execution(
            record,
            calls,
            artifacts,
            loader,
            store.get_artifact,
            pending=pending,
            client=self._client,
            checkpoint_count=len(calls),
            llm_usage=store.llm_usage_totals(record.exec_id),
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
            known = {c.invocation_id for c in calls}
            waited_for = {i for c in calls for i in c.after if i not in known}
            # The calls of the page waited for calls before it: read those (once) to name them.
            earlier = store.list_calls(full_id, limit=offset) if waited_for and offset else None
            return to_calls(calls, produced, loader, store.get_artifact, earlier=earlier)

    def list(
        self,
        *,
        flow: str | None = None,
        status: ExecutionStatus | str | None = None,
        limit: int | None = 50,
        since: dt.datetime | None = None,
    ) -> list[Execution]:
        """Return executions newest first, filtered by the store (without their calls).

        Each carries ``checkpoint_count`` and ``artifact_count``, counted by the store in
        the listing's query, and its pending waits when it has any.
        """
        store = self._client._store
        summaries = store.list_execution_summaries(flow=flow, status=status, limit=limit, since=since)
        return [
            to_execution(
                s.record,
                [],
                [],
                None,
                store.get_artifact,
                pending=store.list_pending_waits(s.record.exec_id) if s.pending_wait_count else None,
                client=self._client,
                checkpoint_count=s.checkpoint_count,
                artifact_count=s.artifact_count,
                llm_usage=s.llm_usage,
            )
            for s in summaries
        ]

    def latest(self, *, flow: str | None = None, status: ExecutionStatus | str | None = None) -> Execution:
        """Return the newest execution (with its calls).

        Raises:
            KitaruNotFoundError: No execution matches (it is also a ``LookupError``).
        """
        records = self._client._store.list_executions(flow=flow, status=status, limit=1)
        if not records:
            filters = [f"flow={flow!r}"] if flow is not None else []
            filters += [f"status={str(status)!r}"] if status is not None else []
            matching = f" matching {', '.join(filters)}" if filters else ""
            raise KitaruNotFoundError(
                f"There is no execution{matching} in this store. Start one with a flow's .run() "
                "(or `kitaru run FILE:FLOW`); `kitaru executions list` shows those there are."
            )
        return self.get(records[0].exec_id)

    def _result(self, exec_id: str) -> Any:
        """The flow's return value (``Execution.result()``)."""
        record = self._record(exec_id)
        return flow_result(self._client._store, self._client._artifacts, record)

    def pending_waits(self, exec_id: str) -> builtins.list[PendingWait]:
        """Return the waits of the execution that wait for input."""
        record = self._record(exec_id)
        return [to_pending_wait(c) for c in self._client._store.list_pending_waits(record.exec_id)]

    def logs(
        self,
        exec_id: str,
        *,
        checkpoint: str | None = None,
        source: str | None = None,
        limit: int | None = None,
        follow: bool = False,
        poll_interval: float = 0.2,
    ) -> builtins.list[LogEntry] | Iterator[LogEntry]:
        """Return the captured log lines of an execution in order.

        ``checkpoint`` limits them to the calls of one checkpoint (its name: all its
        calls), or to one call (an invocation id or call id). ``source="step"`` keeps
        the lines written inside checkpoint calls, ``"runner"`` those of the flow body
        (``None``, the default: all). ``follow=True`` returns
        an iterator that yields new lines until the execution ends; when its runner is
        gone with nothing to continue it (an orphan), it yields the last lines and
        raises :class:`KitaruStateError` saying so and naming the command that resumes it.

        Example:
            >>> entries = client.executions.logs(exec_id, checkpoint="research")  # doctest: +SKIP
            >>> [(e.checkpoint_name, e.message) for e in entries]  # doctest: +SKIP
            [('research', 'researching agents'), ('research', 'found sources on agents')]
        """
        inside = _log_source(source, checkpoint)
        store = self._client._store
        record = self._record(exec_id)
        call_ids: builtins.list[str | None] = [None]
        if checkpoint is not None:
            call_ids = [
                c.call_id for c in _log_calls(store.list_calls(record.exec_id), checkpoint, record.exec_id)
            ]
        if not follow:
            read_limit = limit if inside is None else None  # the source is told by the lines read
            records = self._read_logs(record.exec_id, call_ids, limit=read_limit)
            if inside is not None:
                records = [r for r in records if (r.call_id is not None) == inside][:limit]
            names = self._call_names(record.exec_id) if any(r.call_id for r in records) else {}
            return [to_log(r, names) for r in records]
        lines = self._follow(record.exec_id, call_ids, poll_interval)
        return lines if inside is None else (e for e in lines if (e.call_id is not None) == inside)

    def _read_logs(
        self,
        exec_id: str,
        call_ids: builtins.list[str | None],
        *,
        after: int | None = None,
        limit: int | None = None,
    ) -> builtins.list[LogRecord]:
        """The log lines of the calls ``call_ids`` (``[None]``: all lines) in ``seq`` order,
        each call's read by the store."""
        store = self._client._store
        if len(call_ids) == 1:
            return store.list_logs(exec_id, call_id=call_ids[0], after_seq=after, limit=limit)
        merged = [
            r for c in call_ids for r in store.list_logs(exec_id, call_id=c, after_seq=after, limit=limit)
        ]
        merged.sort(key=lambda r: r.seq)
        return merged if limit is None else merged[:limit]

    def _call_names(self, exec_id: str) -> dict[str, str]:
        """The checkpoint name of each call of the execution, by call id."""
        return {c.call_id: c.name for c in self._client._store.list_calls(exec_id)}

    def _follow(
        self, exec_id: str, call_ids: builtins.list[str | None], poll_interval: float
    ) -> Iterator[LogEntry]:
        store = self._client._store
        # A server waits for new lines itself (one call id at a time); elsewhere this polls.
        follower = store if isinstance(store, _LogFollower) and len(call_ids) == 1 else None
        after: int | None = None
        names: dict[str, str] = {}
        while True:
            execution = store.get_execution(exec_id)
            ended = execution.status.is_terminal
            # Read before the lines: a dead runner writes none after it was seen gone.
            orphan = None if ended else stuck_orphan(store, execution)
            if follower is not None and not ended and orphan is None:
                records, ended = follower.follow_logs(
                    exec_id, call_id=call_ids[0], after_seq=after, wait=_FOLLOW_WAIT
                )
            else:
                records = self._read_logs(exec_id, call_ids, after=after)
            for record in records:
                after = record.seq
                if record.call_id is not None and record.call_id not in names:
                    names = self._call_names(exec_id)  # a call that began since the last read
                yield to_log(record, names)
            if ended:
                return
            if orphan is not None:
                raise orphan_error(orphan)
            if follower is None:
                time.sleep(poll_interval)

    # -- acting -----------------------------------------------------------
    def _pick_wait(self, record: ExecutionRecord, wait: str | None) -> CallRecord:
        store = self._client._store

        def hint() -> str:
            orphan = stuck_orphan(store, record)
            return "" if orphan is None else orphan_hint(orphan)

        return pick_wait(record, lambda: store.list_pending_waits(record.exec_id), wait, hint=hint)

    def input(self, exec_id: str, *, wait: str | None = None, value: Any = None) -> Execution:
        """Answer a pending wait; the execution continues: in the live runner that holds it,
        or here when its runner left or is gone (an orphan is claimed as ``resume`` claims it).

        Raises:
            KitaruWaitValidationError: the value does not fit the wait's schema (nothing recorded).
            KitaruStateError: no such pending wait; or the answer was recorded but the
                execution cannot be continued (the error says what to do).
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
        lease_settings()  # a bad lease setting stops here, before the answer is recorded
        if not record_answer(store, artifacts, call, value=value, aborted=aborted, answered_by=by):
            orphan = stuck_orphan(store, store.get_execution(record.exec_id))
            raise KitaruStateError(
                f"Wait {call.invocation_id!r} of execution {record.exec_id} was answered meanwhile."
                + ("" if orphan is None else f" {orphan_hint(orphan)}")
            )
        self._continue_answered(record.exec_id, call.invocation_id)

    def _continue_answered(self, exec_id: str, wait_name: str) -> None:
        """Make sure something continues the execution now that its wait is answered.

        - No runner holds it (it left at the wait): it continues here.
        - Its runner is gone, whatever the status (it died holding the wait, or a resumed
          run died before it entered the wait again): it is claimed with the same
          compare-and-set as ``resume`` and continues here.
        - A live runner holds it ``running`` (it reaches the wait later and takes the
          answer) or ``waiting`` at another pending wait: that runner continues it.
        - A live runner holds it ``waiting`` with no wait pending: it is polling for this
          answer. Returning now would leave nothing continuing should it die before it
          takes the execution back, so this waits until it did, or died (then as above).
          A runner that neither takes it nor counts as gone within two leases (by then a
          runner that stopped renewing its lease is gone) is reported, not waited for.
        """
        store = self._client._store
        patience = 2 * lease_seconds()
        deadline = time.monotonic() + patience
        delay = 0.005
        while True:
            record = store.get_execution(exec_id)
            if record.status.is_terminal:
                return
            left = record.status is ExecutionStatus.WAITING and record.runner_id is None
            if left or is_orphaned(record):
                if self._continue_here(record, wait_name):
                    return
                # Another process claimed it first: look again at who holds it now.
            elif record.status is not ExecutionStatus.WAITING or store.list_pending_waits(exec_id):
                return
            if time.monotonic() >= deadline:
                raise KitaruStateError(
                    f"The answer to wait {wait_name!r} of execution {exec_id} was recorded, but its "
                    f"runner {record.runner_id} has not taken it within {patience:g} s, though it "
                    "still counts as alive. It continues the execution when it does; if that process "
                    f"is stuck, end it, then continue the execution with `kitaru executions resume "
                    f"{exec_id}`."
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.05)

    def _continue_here(self, record: ExecutionRecord, wait_name: str) -> bool:
        """Claim the execution as it was read and continue it in this process; ``False``
        when another process claimed it first."""
        try:
            return self._client._target.continue_execution(
                self._client._store,
                self._client._artifacts,
                record.exec_id,
                expected={record.status},
                expected_runner=record.runner_id,
            )
        except KitaruStateError as exc:
            raise KitaruStateError(
                f"The answer to wait {wait_name!r} was recorded, but execution {record.exec_id} "
                f"could not be continued in this process: {exc} Once its code can be loaded here, "
                f"continue it with executions.resume() (`kitaru executions resume {record.exec_id}`)."
            ) from exc

    def resume(self, exec_id: str) -> Execution:
        """Continue a ``waiting`` execution whose input is resolved, or an orphaned one."""
        store = self._client._store
        record = self._record(exec_id)
        check_resume(record, lambda: store.list_pending_waits(record.exec_id))
        self._continue(record)
        return self._started(record.exec_id)

    def retry(self, exec_id: str) -> Execution:
        """Re-run a ``failed`` execution in place, reusing its completed checkpoints."""
        record = self._record(exec_id)
        check_retry(record)
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
        options: dict[str, Any] | None = None,
    ) -> str:
        """The replay operation every surface goes through; returns the new exec id.

        Checks the state (and, with ``flow``, that the execution belongs to that
        flow), then asks the execution target to start the replay. ``options``
        (validated ``cache``, ``retries``, ``image`` as a dict) change the new
        execution's options.

        Raises:
            KitaruStateError: the execution still runs, or belongs to another flow.
        """
        record = self._record(exec_id)
        check_replay(record, flow=flow)
        return self._client._target.replay(
            self._client._store,
            self._client._artifacts,
            record.exec_id,
            from_=from_,
            overrides=overrides,
            flow_inputs=dict(flow_inputs or {}),
            options=dict(options or {}),
        )

    def cancel(self, exec_id: str) -> Execution:
        """Cancel an execution: its runner stops at the next durable boundary; one
        nobody runs ends ``cancelled`` at once."""
        record = cancel_execution(self._client._store, self._record(exec_id).exec_id)
        self._client._target.cancel_here(record.exec_id)
        return self.get(record.exec_id)

    def delete(self, *exec_ids: str, progress: Progress | None = None) -> DeletionResult:
        """Delete executions (ids or unique prefixes) with their calls, attempts,
        artifacts and log lines, and the blobs no other artifact uses.

        An execution that ended may be deleted, and so may one that no live runner
        holds (a waiting execution whose runner left, an orphaned one). Calls of
        other executions that use one of its outputs (cache hits, replays) keep a
        copy of it. ``progress(done, total)`` is called after each batch.

        Raises:
            KitaruStateError: an id matches nothing, or a live runner holds one of the
                executions (nothing is deleted: cancel it first).
            KitaruUsageError: no id given.

        Example:
            >>> KitaruClient().executions.delete("0199c0de").executions  # doctest: +SKIP
            1
        """
        return delete_executions(self._client, exec_ids, progress=progress)

    def prune(
        self,
        *,
        older_than: dt.timedelta | str | None = None,
        status: ExecutionStatus | str | Iterable[ExecutionStatus | str] | None = None,
        keep_last: int | None = None,
        dry_run: bool = False,
        progress: Progress | None = None,
    ) -> DeletionResult:
        """Delete the executions a retention policy selects, as :meth:`delete` does.

        Selected (in the store) are executions with one of ``status`` (by default
        the ended ones: completed, failed, cancelled) that ended more than
        ``older_than`` ago (a ``timedelta`` or ``"30d"``, ``"12h"``, ``"90m"``,
        ``"2w"``; one that has not ended counts from its last change), except the
        ``keep_last`` newest of each flow among those with one of ``status``. At
        least one of ``older_than`` and ``keep_last`` is needed. Executions that a
        live runner holds are skipped (``skipped`` says why). Blobs no artifact
        uses any more are deleted, and so are unreferenced blobs older than an hour
        left by interrupted writes or deletions. ``dry_run=True`` deletes nothing
        and reports what would go.

        Raises:
            KitaruUsageError: an invalid duration, status or ``keep_last``, or neither
                ``older_than`` nor ``keep_last``.

        Example:
            >>> client = KitaruClient()  # doctest: +SKIP
            >>> client.executions.prune(older_than="30d", keep_last=10, dry_run=True)  # doctest: +SKIP
            DeletionResult(dry_run=True, ...)
        """
        return prune_executions(
            self._client,
            older_than=older_than,
            status=status,
            keep_last=keep_last,
            dry_run=dry_run,
            progress=progress,
        )

    def wait_for(self, exec_id: str, *, timeout: float | None = None) -> Execution:
        """Block until the execution ends (or waits for input); return it.

        Raises:
            KitaruStateError: its runner is gone and nothing continues it (an orphan); the
                message names the command that resumes it.
            TimeoutError: ``timeout`` seconds passed first.
        """
        store = self._client._store
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = 0.01
        while True:
            record = self._record(exec_id)
            pending = record.status is ExecutionStatus.WAITING and store.list_pending_waits(record.exec_id)
            if record.status.is_terminal or pending:
                return self.get(record.exec_id)
            orphan = stuck_orphan(store, record)
            if orphan is not None:
                raise orphan_error(orphan)
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(
                    f"Execution {record.exec_id} is still {record.status.value} after {timeout} s."
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.25)


def _log_source(source: str | None, checkpoint: str | None) -> bool | None:
    """Whether the lines asked for were written inside checkpoint calls (``source="step"``),
    outside them (``"runner"``), or either (``None``)."""
    if source is None:
        return None
    named = str(source).strip().lower()
    if named not in ("step", "runner"):
        raise KitaruUsageError(
            f"Unknown log source {source!r}: pass 'step' (lines of checkpoint calls), "
            "'runner' (lines of the flow body) or None (all)."
        )
    if named == "runner" and checkpoint is not None:
        raise KitaruUsageError(
            f"checkpoint={checkpoint!r} selects lines of checkpoint calls, and source='runner' those "
            "of the flow body: pass one of them."
        )
    return named == "step"


def _log_calls(calls: builtins.list[CallRecord], selector: str, exec_id: str) -> builtins.list[CallRecord]:
    """The calls whose log lines ``selector`` asks for: every call of the checkpoint it
    names, else the one call with that invocation id or call id."""
    named = [c for c in calls if c.name == selector]
    return named or [_select(calls, selector, exec_id)]


def _select(calls: builtins.list[CallRecord], selector: str, exec_id: str) -> CallRecord:
    exact = [c for c in calls if selector in (c.call_id, c.invocation_id)]
    named = [c for c in calls if c.name == selector]
    found = exact or named
    if len(found) == 1:
        return found[0]
    listing = ", ".join(repr(c.invocation_id) for c in (found or calls)) or "none"
    problem = "is ambiguous" if found else "matches no call"
    raise KitaruStateError(f"{selector!r} {problem} in execution {exec_id}; candidates: {listing}.")
