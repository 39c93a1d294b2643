"""The metadata store interface: the only store module the runtime imports.

A :class:`MetadataStore` keeps executions, durable calls (checkpoint calls,
waits, flow-level llm calls), their attempts and artifact rows. Stores never
read the runtime's context: every id comes in as an argument. Every method is
thread-safe and each write is one short transaction. Driver exceptions stop at
the store and become :class:`kitaru.errors.KitaruBackendError`; a missing row
is a :class:`kitaru.errors.KitaruStateError`.

Example:
    >>> from kitaru.store.base import MetadataStore
    >>> def count(store: MetadataStore) -> int:
    ...     return len(store.list_executions(limit=10))
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from kitaru._types import CallKind, CallStatus, ExecutionStatus

__all__ = [
    "ArtifactRecord",
    "AttemptRecord",
    "CallRecord",
    "ExecutionRecord",
    "LogRecord",
    "MetadataStore",
]


@dataclass(frozen=True, slots=True)
class ExecutionRecord:
    """One flow execution as stored.

    ``failure`` is a dict with keys ``message``, ``exception_type``,
    ``traceback``, ``origin`` (a ``FailureOrigin`` value) or ``None``.
    ``source`` says how to import the flow: ``{"module", "qualname", "path"}``.
    ``run_count`` counts how often the flow body was started (first run,
    flow retries, re-runs in place).
    """

    exec_id: str
    flow_name: str
    status: ExecutionStatus
    created_at: dt.datetime
    updated_at: dt.datetime
    started_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    failure: dict[str, Any] | None = None
    original_exec_id: str | None = None
    spec: dict[str, Any] = field(default_factory=dict)
    source: dict[str, Any] = field(default_factory=dict)
    inputs_artifact_id: str | None = None
    result_artifact_id: str | None = None
    runner_id: str | None = None
    heartbeat_at: dt.datetime | None = None
    run_count: int = 0
    cancel_requested: bool = False


@dataclass(frozen=True, slots=True)
class ArtifactRecord:
    """One stored value: a checkpoint output, a flow's inputs/result, or a saved value.

    Exactly one of ``data`` (small values, stored inline in the row) and
    ``blob_key`` (the artifact store's key, the sha256 hex digest) is set.
    ``kind`` is an ``ArtifactKind`` value. ``call_id`` is the producing call.
    """

    artifact_id: str
    exec_id: str
    name: str
    kind: str
    serializer: str
    type_path: str
    size: int
    sha256: str
    created_at: dt.datetime
    call_id: str | None = None
    data: bytes | None = None
    blob_key: str | None = None
    tags: tuple[str, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """One attempt at a durable call. ``number`` starts at 1 per call."""

    attempt_id: str
    call_id: str
    number: int
    status: CallStatus
    started_at: dt.datetime
    ended_at: dt.datetime | None = None
    failure: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One durable call of an execution, unique per ``(exec_id, invocation_id)``.

    ``seq`` is the call's position in the flow (1-based, order of calls).
    ``after`` lists the invocation ids this call waited for. ``output`` (the
    output artifact; data included unless the read says otherwise),
    ``attempts`` and ``artifacts`` (what the call produced in its execution,
    in creation order, without data) are filled by reads that say so;
    ``attempt_count`` always is.
    """

    call_id: str
    exec_id: str
    invocation_id: str
    seq: int
    name: str
    kind: CallKind
    status: CallStatus
    started_at: dt.datetime
    type: str | None = None
    ended_at: dt.datetime | None = None
    cache_key: str | None = None
    input_fingerprint: str | None = None
    output_artifact_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    after: tuple[str, ...] = ()
    parent_call_id: str | None = None
    failure: dict[str, Any] | None = None
    attempt_count: int = 0
    output: ArtifactRecord | None = None
    attempts: tuple[AttemptRecord, ...] = ()
    artifacts: tuple[ArtifactRecord, ...] = ()


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One captured log line (stdout, stderr or a ``logging`` record) of an execution.

    ``seq`` is assigned by the store when the record is inserted: it increases in
    insertion order within a store and orders :meth:`MetadataStore.list_logs`.
    Records passed to :meth:`MetadataStore.append_logs` leave it 0.
    """

    exec_id: str
    timestamp: dt.datetime
    message: str
    level: str = "INFO"
    source: str = "stdout"
    call_id: str | None = None
    invocation_id: str | None = None
    seq: int = 0


@runtime_checkable
class MetadataStore(Protocol):
    """Storage of executions, calls, attempts and artifact rows."""

    # -- executions -------------------------------------------------------
    def create_execution(self, record: ExecutionRecord, *, inputs: ArtifactRecord | None = None) -> None:
        """Insert a new execution (and its inputs artifact) in one transaction."""
        ...

    def get_execution(self, exec_id: str) -> ExecutionRecord:
        """Return one execution; ``KitaruStateError`` when there is none."""
        ...

    def resolve_exec_id(self, prefix: str) -> str:
        """Return the full id of the one execution whose id starts with ``prefix``.

        ``KitaruStateError`` when none matches or several do (listing them).
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

    def start_execution(self, exec_id: str, *, runner_id: str) -> ExecutionRecord:
        """Mark the execution ``running`` for a (re-)run of its body.

        Sets ``started_at`` when unset, clears ``ended_at`` and ``failure``,
        increments ``run_count``, records ``runner_id`` and ``heartbeat_at``.
        Returns the updated record.
        """
        ...

    def finish_execution(
        self,
        exec_id: str,
        status: ExecutionStatus,
        *,
        result: ArtifactRecord | None = None,
        failure: dict[str, Any] | None = None,
    ) -> None:
        """End a run of the body: set status, ``ended_at`` (for terminal statuses),
        the failure, and insert and link the result artifact, in one transaction."""
        ...

    def merge_execution_metadata(self, exec_id: str, patch: dict[str, Any]) -> None:
        """Merge ``patch`` into the execution's metadata (``merge_metadata`` rules)."""
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
        ``run_count`` + 1, ``runner_id``, ``heartbeat_at`` now, ``started_at`` when
        unset, ``ended_at`` and ``failure`` cleared, ``cancel_requested`` kept) and
        returns the updated record; otherwise returns ``None`` and changes nothing.
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
    ) -> bool:
        """Set the status (compare-and-set): only when the current status is in
        ``expected`` (any when ``None``) and, when ``runner_id`` is given, the stored
        runner is that one. ``release=True`` also clears ``runner_id`` (the runner
        left). Terminal statuses set ``ended_at``. Returns whether it changed.
        ``KitaruStateError`` when the execution does not exist."""
        ...

    def heartbeat(self, exec_id: str, *, runner_id: str) -> ExecutionRecord | None:
        """Renew the runner's lease: set ``heartbeat_at`` to now when ``runner_id`` holds
        the execution. Returns the updated record (so the runner sees
        ``cancel_requested``), or ``None`` when another runner or none holds it."""
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

    def begin_attempt(self, call: CallRecord, attempt: AttemptRecord) -> None:
        """In one transaction: insert the call, or update the existing row with the same
        ``(exec_id, invocation_id)`` (new seq, name, type, status ``running``,
        cache key, fingerprint, after; keeps its ``call_id``, metadata and
        attempts), and insert the attempt. ``call.call_id`` of an existing row wins:
        callers pass the id from the journal when there is one."""
        ...

    def complete_call(
        self,
        call_id: str,
        attempt_id: str,
        *,
        output: ArtifactRecord,
        ended_at: dt.datetime,
    ) -> None:
        """In one transaction: insert the output artifact, mark the attempt and the
        call ``completed``, link the output, set ``ended_at``, clear ``failure``."""
        ...

    def fail_attempt(
        self,
        call_id: str,
        attempt_id: str,
        *,
        failure: dict[str, Any],
        ended_at: dt.datetime,
        final: bool,
    ) -> None:
        """Mark the attempt ``failed`` with ``failure``; when ``final``, mark the call
        ``failed`` with the same failure and ``ended_at``."""
        ...

    def record_cached_call(self, call: CallRecord, *, output_artifact_id: str) -> None:
        """Insert (or update, as in :meth:`begin_attempt`) a call with status ``cached``
        whose output is an existing artifact of another execution. No attempt."""
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
        ``exec_id`` replaced by ``exec_id``; no attempts are copied."""
        ...

    def find_cached_output(self, cache_key: str, *, exclude_exec_id: str) -> ArtifactRecord | None:
        """Return the output artifact (data included) of the newest completed call with
        ``cache_key`` in an execution other than ``exclude_exec_id``, or ``None``."""
        ...

    def merge_call_metadata(self, call_id: str, patch: dict[str, Any]) -> None:
        """Merge ``patch`` into the call's metadata (``merge_metadata`` rules)."""
        ...

    # -- artifacts --------------------------------------------------------
    def add_artifact(self, artifact: ArtifactRecord) -> None:
        """Insert one artifact row (e.g. a value saved with ``kitaru.save``)."""
        ...

    def get_artifact(self, artifact_id: str) -> ArtifactRecord:
        """Return one artifact, data included; ``KitaruStateError`` when there is none."""
        ...

    def list_artifacts(
        self,
        exec_id: str,
        *,
        name: str | None = None,
        kind: str | None = None,
        call_id: str | None = None,
    ) -> list[ArtifactRecord]:
        """Return the execution's artifacts in creation order, filtered in the database.
        ``data`` is left ``None`` here; fetch values with :meth:`get_artifact`."""
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

    # -- lifecycle --------------------------------------------------------
    def close(self) -> None:
        """Release connections. The store is unusable afterwards."""
        ...
