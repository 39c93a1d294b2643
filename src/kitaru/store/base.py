"""The metadata store interface: the only store module the runtime imports.

A :class:`MetadataStore` keeps executions, durable calls (checkpoint calls,
waits, flow-level llm calls), their attempts and artifact rows. Stores never
read the runtime's context: every id comes in as an argument. Every method is
thread-safe and each write is one short transaction. Driver exceptions stop at
the store and become :class:`kitaru.errors.KitaruBackendError`; a missing row
is a :class:`kitaru.errors.KitaruStateError`.

Fencing: every execution has an ``epoch`` that each start and claim raises
(and a release by anyone but its runner). The writes a runner makes take an
``epoch`` keyword: the runner's epoch, checked atomically with the write
(in the same transaction, the execution's row locked against a claim until
the commit); a stale one is refused with
:class:`kitaru.errors.KitaruFencedError` and nothing is written. ``epoch=None``
(the default) is a write of no runner (a client, an operator) and is not checked.
A remote store passes the epoch through to the store that decides.

Example:
    >>> from kitaru.store.base import MetadataStore
    >>> def count(store: MetadataStore) -> int:
    ...     return len(store.list_executions(limit=10))
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Sequence
from typing import Any, Protocol, runtime_checkable

from kitaru._types import ExecutionStatus
from kitaru.records import (
    ApiKeyRecord,
    ArtifactRecord,
    AttemptRecord,
    CallRecord,
    CompletedAttempt,
    DeletedRows,
    ExecutionRecord,
    ExecutionSummary,
    LlmUsageRecord,
    LlmUsageSummary,
    LlmUsageTotals,
    LogRecord,
    MemoryCompaction,
    MemoryEntry,
    MemoryOp,
    MemoryScope,
)

__all__ = ["MetadataStore", "cancel_execution"]


@runtime_checkable
class MetadataStore(Protocol):
    """Storage of executions, calls, attempts and artifact rows."""

    @property
    def shared(self) -> bool:
        """Whether others can write this store (a database server, a Kitaru server), not only
        this machine's user (the embedded SQLite file, memory).

        Values read from a shared store are not trusted to run code: pickles from it are
        refused unless ``KITARU_ALLOW_PICKLE`` allows them.
        """
        ...

    # -- executions -------------------------------------------------------
    def create_execution(self, record: ExecutionRecord, *, inputs: Sequence[ArtifactRecord] = ()) -> None:
        """Insert a new execution and its input artifacts (one per flow argument) in one transaction."""
        ...

    def get_execution(self, exec_id: str) -> ExecutionRecord:
        """Return one execution; ``KitaruStateError`` when there is none."""
        ...

    def resolve_exec_id(self, prefix: str) -> str:
        """Return the full id of the one execution whose id starts or ends with ``prefix``
        (``latest``: the newest execution). Its end is what tables print (``short_id``).

        ``KitaruStateError`` when none matches or several do (listing them, one a line);
        ``KitaruUsageError`` when ``prefix`` is empty or blank (it would match every execution).
        """
        ...

    def list_executions(
        self,
        *,
        flow: str | None = None,
        status: ExecutionStatus | str | None = None,
        limit: int | None = None,
        since: dt.datetime | None = None,
    ) -> list[ExecutionRecord]:
        """Return executions newest first, filtered in the database."""
        ...

    def list_execution_summaries(
        self,
        *,
        flow: str | None = None,
        status: ExecutionStatus | str | None = None,
        limit: int | None = None,
        since: dt.datetime | None = None,
        before: tuple[dt.datetime, str] | None = None,
        after: tuple[dt.datetime, str] | None = None,
    ) -> list[ExecutionSummary]:
        """Return executions as :meth:`list_executions` does, each with its numbers of
        calls, artifacts and pending waits and its model usage totals, counted in the same query.

        A page is bounded by a cursor, the ``(created_at, exec_id)`` of an execution:
        ``before`` keeps the executions listed after it (older), ``after`` those listed
        before it (newer; with ``limit``, the ones nearest the cursor), newest first
        either way. Read from an index, so a deep page costs what the first one does.
        ``KitaruUsageError`` when both are given.
        """
        ...

    def count_executions(self, *, since: dt.datetime | None = None) -> dict[str, dict[str, int]]:
        """Return the number of executions of each flow in each status (created since
        ``since``), as ``{flow_name: {status: count}}``, counted in one query."""
        ...

    def start_execution(self, exec_id: str, *, runner_id: str) -> ExecutionRecord:
        """Mark the execution ``running`` for a (re-)run of its body.

        Sets ``started_at`` when unset, clears ``ended_at`` and ``failure``,
        increments ``run_count`` and ``epoch``, records ``runner_id`` and ``heartbeat_at``.
        Returns the updated record (the runner writes with its ``epoch``).
        """
        ...

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
        Fenced by ``epoch`` (see the module)."""
        ...

    def merge_execution_metadata(
        self, exec_id: str, patch: dict[str, Any], *, epoch: int | None = None
    ) -> None:
        """Merge ``patch`` into the execution's metadata (``merge_metadata`` rules).
        Fenced by ``epoch``."""
        ...

    def claim_execution(
        self,
        exec_id: str,
        *,
        runner_id: str,
        expected: Collection[ExecutionStatus],
        expected_runner: str | None = None,
    ) -> ExecutionRecord | None:
        """Atomically take over an execution to (re-)run its body (compare-and-set).

        Succeeds only when the status is in ``expected`` and the stored
        ``runner_id`` equals ``expected_runner`` (``None``: no runner holds it).
        On success does what :meth:`start_execution` does (status ``running``,
        ``run_count`` + 1, ``epoch`` + 1, ``runner_id``, ``heartbeat_at`` now, ``started_at`` when
        unset, ``ended_at`` and ``failure`` cleared, ``cancel_requested`` kept) and
        returns the updated record; otherwise returns ``None`` and changes nothing.
        """
        ...

    def enqueue_execution(
        self,
        exec_id: str,
        *,
        expected: Collection[ExecutionStatus],
        expected_runner: str | None = None,
        queue: str | None = None,
        not_before: dt.datetime | None = None,
    ) -> ExecutionRecord | None:
        """Put an execution in the work queue of workers (compare-and-set).

        Succeeds only when the status is in ``expected`` and the stored ``runner_id``
        equals ``expected_runner`` (``None``: no runner holds it). On success the
        execution is ``pending``, no runner holds it, its ``epoch`` is raised (whatever
        still runs for the old holder is fenced off), ``ended_at`` is cleared,
        ``queued_at`` is ``not_before`` (now when ``None``: no claim takes it earlier) and
        ``queue`` is ``queue``; waiting claims are woken. Returns the updated record, or
        ``None`` when nothing changed. ``KitaruStateError`` when the execution does not exist.
        """
        ...

    def claim_queued_execution(
        self,
        *,
        runner_id: str,
        lease_seconds: float,
        flows: Sequence[str] | None = None,
        queue: str | None = None,
        wait: float = 0.0,
    ) -> ExecutionRecord | None:
        """Claim the oldest work for ``runner_id`` and start it as :meth:`claim_execution`
        does (``queued_at`` cleared): the queued execution queued earliest (``queued_at``
        no later than now), else the oldest orphan (``running`` or ``pending``, held by a
        runner whose heartbeat, or its last update when it has none, is older than
        ``lease_seconds``). ``flows`` (flow names) and ``queue`` restrict the candidates.
        Two claims never take the same execution. When there is no work, waits up to
        ``wait`` seconds for some (woken when work is queued) before it returns ``None``.
        """
        ...

    def set_execution_status(
        self,
        exec_id: str,
        status: ExecutionStatus,
        *,
        expected: Collection[ExecutionStatus] | None = None,
        runner_id: str | None = None,
        release: bool = False,
        epoch: int | None = None,
    ) -> bool:
        """Set the status (compare-and-set): only when the current status is in
        ``expected`` (any when ``None``) and, when ``runner_id`` is given, the stored
        runner is that one. ``release=True`` also clears ``runner_id`` (the runner
        left) and raises ``epoch`` (whatever still writes for the old holder is
        fenced off). Terminal statuses set ``ended_at``. Returns whether it changed.
        ``KitaruStateError`` when the execution does not exist. Fenced by ``epoch``
        (a runner changing its own status): a stale one raises ``KitaruFencedError``."""
        ...

    def heartbeat(self, exec_id: str, *, runner_id: str, epoch: int | None = None) -> ExecutionRecord | None:
        """Renew the runner's lease: set ``heartbeat_at`` to now when ``runner_id`` holds
        the execution. Returns the updated record (so the runner sees
        ``cancel_requested``), or ``None`` when another runner or none holds it.
        Fenced by ``epoch``: a stale one raises ``KitaruFencedError``."""
        ...

    def request_cancel(self, exec_id: str) -> ExecutionRecord:
        """Set ``cancel_requested`` and return the updated record."""
        ...

    # -- calls ------------------------------------------------------------
    def load_journal(self, exec_id: str) -> list[CallRecord]:
        """Return every call of the execution ordered by ``seq``, with ``output`` filled."""
        ...

    def list_calls(
        self,
        exec_id: str,
        *,
        offset: int = 0,
        limit: int | None = None,
        artifacts: bool = False,
    ) -> list[CallRecord]:
        """Return the execution's calls ordered by ``seq`` (then ``call_id``): all, or
        the page of at most ``limit`` after ``offset`` (paged in the database), with
        ``attempts``; ``output`` (no data) only when another execution holds it
        (cached, replayed calls); with ``artifacts=True`` also ``artifacts``.
        ``KitaruUsageError`` for a negative offset or limit."""
        ...

    def count_calls(self, exec_id: str) -> int:
        """Return the number of calls the execution has recorded."""
        ...

    def begin_attempt(self, call: CallRecord, attempt: AttemptRecord, *, epoch: int | None = None) -> None:
        """In one transaction: insert the call, or update the existing row with the same
        ``(exec_id, invocation_id)`` (new seq, name, type, status ``running``,
        cache key, fingerprint, after; keeps its ``call_id``, metadata and
        attempts), and insert the attempt. ``call.call_id`` of an existing row wins:
        callers pass the id from the journal when there is one. Fenced by ``epoch``."""
        ...

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
        call ``completed``, link the output, set ``ended_at``, clear ``failure``.
        Fenced by ``epoch`` (the epoch of the call's execution)."""
        ...

    def record_completed_attempt(
        self,
        call: CallRecord,
        attempt: AttemptRecord,
        *,
        output: ArtifactRecord,
        ended_at: dt.datetime,
        epoch: int | None = None,
    ) -> None:
        """In one transaction: what :meth:`begin_attempt` of ``call`` and ``attempt``
        and then :meth:`complete_call` of that attempt with ``output`` and
        ``ended_at`` would record (the attempt and the call end ``completed``).
        Fenced by ``epoch``."""
        ...

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
        ``failed`` with the same failure and ``ended_at``. Fenced by ``epoch``."""
        ...

    def record_cached_call(self, call: CallRecord, *, source: CallRecord, epoch: int | None = None) -> bool:
        """Record a cache hit in one transaction: insert (or update, as in
        :meth:`begin_attempt`) ``call`` with status ``cached`` and ``source``'s
        output artifact as its output (``source`` is a completed call of another
        execution, as :meth:`find_cached_call` returns it); merge ``source``'s
        metadata, then ``call``'s, into the call's metadata; copy every artifact
        ``source`` saved (its ``call_id`` is ``source.call_id``; not its output)
        into ``call.exec_id`` under new ids, linked to the call; copy ``source``'s
        log lines to the call. No attempt. Returns ``True``; ``False`` (nothing
        recorded: the caller counts a miss) when ``source``'s output artifact no
        longer exists, because its execution was deleted since it was found.
        Fenced by ``epoch``."""
        ...

    def begin_wait(
        self, call: CallRecord, attempt: AttemptRecord | None, *, runner_id: str, epoch: int | None = None
    ) -> bool:
        """Enter a wait, in one transaction: record the pending ``wait`` call (insert, or
        update the row with the same ``(exec_id, invocation_id)`` as :meth:`begin_attempt`
        does; the top-level keys of ``call.metadata`` replace the row's) and insert
        ``attempt`` when given, AND move the execution from ``running`` to ``waiting``
        (compare-and-set: only while ``runner_id`` holds it). No reader ever sees a
        ``running`` execution with a pending wait. Returns ``False`` and changes
        nothing when the execution is not ``running`` or another runner (or none)
        holds it. ``KitaruUsageError`` for a call that is not a ``wait``;
        ``KitaruStateError`` when the execution does not exist. Fenced by ``epoch``
        (checked first: a stale one raises ``KitaruFencedError``)."""
        ...

    def resolve_wait(
        self,
        call_id: str,
        *,
        output: ArtifactRecord | None,
        metadata: dict[str, Any],
        ended_at: dt.datetime,
    ) -> bool:
        """Answer a pending wait (a ``wait`` call whose status is ``running``), in one
        transaction: insert ``output`` (when given) and link it, merge ``metadata``
        into the call's metadata, mark the call and its running attempt
        ``completed`` with ``ended_at``. Returns ``False`` and changes nothing when
        the call is not pending (already answered or aborted): input races are
        decided here. ``KitaruStateError`` when the call does not exist."""
        ...

    def list_pending_waits(self, exec_id: str) -> list[CallRecord]:
        """Return the execution's ``wait`` calls whose status is ``running``, by ``seq``."""
        ...

    def seed_calls(self, exec_id: str, calls: Sequence[CallRecord]) -> None:
        """Insert copies of done calls into another execution (replay reuses them), in
        one transaction. Each record is inserted as given (its ``call_id``, status,
        ``output_artifact_id`` pointing at an existing artifact, metadata), with
        ``exec_id`` replaced by ``exec_id``; no attempts are copied.
        ``KitaruStateError`` (nothing inserted) when an output artifact does not
        exist (its execution was deleted)."""
        ...

    def copy_calls(
        self, exec_id: str, source_exec_id: str, *, before_seq: int, exclude: Collection[str] = ()
    ) -> int:
        """Copy the done calls (``completed``, ``cached``) of ``source_exec_id`` whose
        ``seq`` is below ``before_seq`` and whose invocation id is not in ``exclude``
        into ``exec_id`` (a replay reuses them), in one transaction, inside the store;
        return how many were copied. A copy has every field of its source call except
        ``call_id`` (``copied_call_id(exec_id, source call id)``), ``exec_id``,
        ``attempt_count`` (0) and ``metadata`` (the source's, with ``{"kitaru":
        {"replayed_from": {"exec_id": source_exec_id, "call_id": source call id}}}``
        merged in); no attempts are copied. ``KitaruStateError`` when either
        execution does not exist; ``KitaruBackendError`` when a copy's call id or
        invocation id is taken. Either way nothing is copied."""
        ...

    def find_cached_call(
        self, cache_key: str, *, exclude_exec_id: str, not_before: dt.datetime | None = None
    ) -> CallRecord | None:
        """Return the newest (by ``ended_at``) ``completed`` call with ``cache_key`` and at
        least one attempt, in an execution other than ``exclude_exec_id``, that ended at
        or after ``not_before`` (when given), with ``output`` (data included) filled;
        or ``None``. Copies of calls seeded into a replay (no attempts) never answer."""
        ...

    def merge_call_metadata(
        self,
        call_id: str,
        patch: dict[str, Any],
        *,
        epoch: int | None = None,
        attempt_id: str | None = None,
    ) -> None:
        """Merge ``patch`` into the call's metadata (``merge_metadata`` rules) and, with
        ``attempt_id``, into that attempt's metadata too, in one transaction
        (``KitaruStateError`` when the call has no such attempt). Fenced by ``epoch``
        (the epoch of the call's execution)."""
        ...

    # -- artifacts --------------------------------------------------------
    def add_artifact(self, artifact: ArtifactRecord, *, epoch: int | None = None) -> None:
        """Insert one artifact row (e.g. a value saved with ``kitaru.save``). Fenced by ``epoch``."""
        ...

    # -- model usage ------------------------------------------------------
    def record_llm_usage(
        self,
        usage: LlmUsageRecord,
        *,
        artifacts: Sequence[ArtifactRecord] = (),
        metadata: dict[str, Any] | None = None,
        completed: CompletedAttempt | None = None,
        epoch: int | None = None,
    ) -> None:
        """Record one live model call in one transaction: its usage row, its artifacts (the
        prompt and the response, produced by ``usage.call_id``) and ``metadata`` merged into
        the call's metadata (``merge_metadata`` rules). With ``completed`` (a flow-level model
        call whose running row was not written yet), first what ``record_completed_attempt``
        writes for it, in the same transaction. Fenced by ``epoch`` (see the module).

        Raises:
            KitaruStateError: the execution or the call does not exist; nothing is written.
        """
        ...

    def llm_usage_totals(self, exec_id: str) -> LlmUsageTotals:
        """Return the model usage of one execution, summed (zeros when it made no model call).
        ``KitaruStateError`` when the execution does not exist."""
        ...

    def list_llm_usage(self, exec_id: str) -> list[LlmUsageRecord]:
        """Return the usage rows of one execution in the order they were recorded."""
        ...

    def summarize_llm_usage(
        self,
        *,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        bucket_seconds: int = 86400,
        executions: int = 50,
    ) -> LlmUsageSummary:
        """Return the model calls recorded from ``since`` (included) to ``until`` (excluded),
        summed in total, per flow, per model, per execution (the ``executions`` costliest) and
        per time bucket of ``bucket_seconds`` (counted from the Unix epoch, in UTC). Calls
        of unknown price are counted as such (``unpriced_calls``), never as a cost of 0.

        Raises:
            KitaruUsageError: a bucket outside a minute to a year, ``executions`` outside
                0 to 1000, a naive datetime or a range that ends before it starts.
        """
        ...

    def get_artifact(self, artifact_id: str) -> ArtifactRecord:
        """Return one artifact, data included; ``KitaruStateError`` when there is none."""
        ...

    def resolve_artifact_id(self, prefix: str) -> str:
        """Return the full id of the one artifact whose id starts or ends with ``prefix``.

        ``KitaruStateError`` when none matches or several do (listing them, one a line);
        ``KitaruUsageError`` when ``prefix`` is empty or blank.
        """
        ...

    def list_artifacts(
        self,
        exec_id: str,
        *,
        name: str | None = None,
        kind: str | None = None,
        call_id: str | None = None,
        producing_call: str | None = None,
    ) -> list[ArtifactRecord]:
        """Return the execution's artifacts in creation order, filtered in the database:
        by ``name``, ``kind``, the id of the call that produced them (``call_id``), or
        ``producing_call``: the checkpoint name, invocation id or call id of the calls of
        this execution that produced them. ``data`` is left ``None`` here; fetch values
        with :meth:`get_artifact`."""
        ...

    # -- logs -------------------------------------------------------------
    def append_logs(self, records: Sequence[LogRecord]) -> None:
        """Insert a batch of log records in one transaction, keeping their order."""
        ...

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
        (for following), at most ``limit``."""
        ...

    # -- retention --------------------------------------------------------
    def list_prunable_executions(
        self,
        *,
        statuses: Collection[ExecutionStatus],
        before: dt.datetime | None = None,
        keep_last: int | None = None,
    ) -> list[ExecutionRecord]:
        """Return the executions a retention policy selects, oldest first (by
        ``created_at``, then ``exec_id``), chosen in the database: status in
        ``statuses``; ended before ``before`` (one that has not ended: last
        updated before it), when given; and not among the ``keep_last`` newest
        executions (by ``created_at``, then ``exec_id``) of its flow with one of
        ``statuses``, when given. ``KitaruUsageError`` for a negative ``keep_last``."""
        ...

    def delete_executions(self, records: Sequence[ExecutionRecord], *, dry_run: bool = False) -> DeletedRows:
        """Delete executions with all their rows (calls, attempts, artifacts, logs) in
        one transaction, and say what went.

        Each execution of ``records`` is deleted only while its status and
        ``runner_id`` are still those of its record (compare-and-set: one claimed
        or changed meanwhile is skipped, as is one that no longer exists). An
        artifact row of a deleted execution that a call of a kept execution links
        as its output (a cache hit, a replayed call) is first copied into that
        call's execution under a new id, produced by that call, and the link moves
        to the copy: nothing kept points at a deleted row. ``blobs`` of the result
        are the blob keys (with sizes) the deleted artifact rows held that no
        artifact row references after the deletion. With ``dry_run`` everything is
        counted the same way and nothing changes."""
        ...

    def referenced_blob_keys(self, keys: Collection[str]) -> set[str]:
        """Return those of ``keys`` that an artifact row or a memory version references as
        its blob key."""
        ...

    # -- memory -----------------------------------------------------------
    def write_memory(
        self,
        entry: MemoryEntry,
        *,
        op: MemoryOp | None = None,
        compaction: MemoryCompaction | None = None,
        epoch: int | None = None,
    ) -> MemoryEntry:
        """Write the next version of ``entry``'s key (its ``version`` is ignored), in one
        transaction, and return it with its version. Concurrent writers of one key get
        consecutive versions; none is lost.

        With ``op`` (a flow body's operation, journaled with ``op.exec_id``, fenced by ``epoch``):
        when the execution already journaled ``op.op_id``, nothing is written and the entry that
        operation wrote is returned; else the operation is journaled with the new version as its
        ``result``. With ``compaction``, its audit record is inserted with the new version as
        its ``target_version``.
        ``KitaruStateError`` when ``op``'s execution does not exist.
        """
        ...

    def record_memory_op(self, op: MemoryOp, *, epoch: int | None = None) -> MemoryOp:
        """Journal a read of a flow body unless its ``op_id`` is journaled already; return
        the journaled operation (the earlier one wins). Fenced by ``epoch``."""
        ...

    def list_memory_ops(self, exec_id: str) -> list[MemoryOp]:
        """Return the memory operations journaled with the execution (none: ``[]``)."""
        ...

    def copy_memory_ops(self, exec_id: str, source_exec_id: str, *, before_seq: int) -> int:
        """Copy the memory operations ``source_exec_id`` journaled before its durable call
        number ``before_seq`` (``after_seq < before_seq``) into ``exec_id`` (a replay reuses
        them); return how many. ``KitaruStateError`` when ``exec_id`` does not exist."""
        ...

    def get_memory(
        self, scope_type: str, scope: str, key: str, *, version: int | None = None
    ) -> MemoryEntry | None:
        """Return the key's newest version (a tombstone too), or the given ``version``, with
        its data; ``None`` when there is none."""
        ...

    def list_memory(self, scope_type: str, scope: str, *, prefix: str | None = None) -> list[MemoryEntry]:
        """Return the newest version of each key of the scope that is not deleted, by key,
        with data; only keys starting with ``prefix`` when given."""
        ...

    def memory_history(self, scope_type: str, scope: str, key: str) -> list[MemoryEntry]:
        """Return every stored version of the key, newest first, tombstones included, with data."""
        ...

    def list_memory_scopes(self) -> list[MemoryScope]:
        """Return every scope that has keys, by scope type and name."""
        ...

    def purge_memory(self, scope_type: str, scope: str, key: str, *, keep: int) -> int:
        """Delete all but the ``keep`` newest versions of the key; return how many went.
        ``KitaruUsageError`` when ``keep`` is below 1 (the newest version always stays)."""
        ...

    def purge_memory_scope(self, scope_type: str, scope: str) -> int:
        """Delete every version of every key of the scope; return how many went."""
        ...

    def add_memory_compaction(self, record: MemoryCompaction) -> None:
        """Insert an audit record of memory maintenance (a purge; a compaction's comes with
        its write, :meth:`write_memory`)."""
        ...

    def list_memory_compactions(
        self, *, scope_type: str | None = None, scope: str | None = None, key: str | None = None
    ) -> list[MemoryCompaction]:
        """Return the audit records of memory maintenance, newest first, filtered when given
        (``key``: the compaction's target key)."""
        ...

    # -- API keys of a server ----------------------------------------------
    def create_api_key(self, record: ApiKeyRecord) -> None:
        """Insert an API key. ``KitaruStateError`` when a key that is not revoked has the same
        name (revoke it first) or the same ``key_id``."""
        ...

    def list_api_keys(self) -> list[ApiKeyRecord]:
        """Return every API key, revoked ones too, by creation time (then ``key_id``)."""
        ...

    def revoke_api_key(self, name: str) -> ApiKeyRecord:
        """Revoke the key called ``name`` that is not revoked yet (set ``revoked_at`` to now) and
        return it. ``KitaruStateError`` when there is none."""
        ...

    def find_api_key(self, token_hash: str) -> ApiKeyRecord | None:
        """Return the key that is not revoked whose token has the sha256 hex digest
        ``token_hash``; ``None`` when there is none."""
        ...

    # -- idempotency keys of a server's writes -----------------------------
    def write_idempotently(self, key: str, write: Callable[[], bytes], *, at: dt.datetime) -> bytes:
        """Run ``write`` at most once for ``key`` and return its answer: the bytes ``write``
        returns, kept under ``key`` (claimed ``at``) in the same transaction as the writes it
        makes through this store on this thread, so a retry after a crash finds either both
        or neither. When ``key`` already has an answer, return it without calling ``write``;
        a request with the same key arriving meanwhile waits for the first one. When ``write``
        raises, nothing is kept for ``key`` and the exception propagates (a SQL store rolls back
        its writes; each write of the in-memory store changes nothing when it is refused).
        Not nested: ``write`` may not call this method."""
        ...

    def prune_idempotency_keys(self, before: dt.datetime) -> int:
        """Delete every key claimed before ``before``, answered or not; return how many."""
        ...

    # -- lifecycle --------------------------------------------------------
    def close(self) -> None:
        """Release connections. The store is unusable afterwards."""
        ...


def cancel_execution(store: MetadataStore, exec_id: str) -> ExecutionRecord:
    """Request cancellation of ``exec_id`` (a full id) and return its record: its runner stops
    at the next durable boundary; one no live runner holds (none, or an orphan) ends
    ``cancelled`` at once. :class:`KitaruStateError` when it already ended."""
    from kitaru._leases import is_orphaned
    from kitaru.errors import KitaruStateError

    record = store.get_execution(exec_id)
    if record.status.is_terminal:
        raise KitaruStateError(f"Execution {record.exec_id} already ended ({record.status.value}).")
    record = store.request_cancel(record.exec_id)
    if record.runner_id is None or is_orphaned(record):
        store.set_execution_status(
            record.exec_id,
            ExecutionStatus.CANCELLED,
            expected={record.status},
            runner_id=record.runner_id,
            release=True,
        )
        record = store.get_execution(record.exec_id)
    return record
