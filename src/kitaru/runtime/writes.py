"""How a runner writes to the store: fenced by its epoch, through store outages, never after it lost.

Every write a runner makes goes through its :class:`RunnerStore`, which

- passes the runner's *epoch* (the fencing token of its claim) to the store, which
  refuses a stale one (:class:`kitaru.errors.KitaruFencedError`): the runner then
  stops with :class:`~kitaru.runtime.signals.RunnerFenced`, a ``BaseException``
  that user code's ``except Exception:`` does not swallow;
- retries a write that failed in the store for a reason that may pass
  (:class:`kitaru.errors.KitaruBackendError` with ``transient``: a full disk, a
  restarted database, a lock timeout) with backoff, for up to the lease, and then
  gives the execution up with :class:`~kitaru.runtime.signals.StoreLost` (a write the
  store refuses as such is not retried: it fails the execution as before);
- before a checkpoint's code runs (:meth:`RunnerStore.check`), makes sure the runner
  still holds its lease: a runner that was stopped or suspended past it renews first,
  and learns there that another runner took over before it runs anything twice.

Time is the boot clock where there is one (it counts while the machine sleeps).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Collection
from typing import Any, TypeVar

from kitaru._types import ExecutionStatus
from kitaru.errors import KitaruBackendError, KitaruFencedError
from kitaru.records import (
    ArtifactRecord,
    AttemptRecord,
    CallRecord,
    CompletedAttempt,
    ExecutionRecord,
    LlmUsageRecord,
    MemoryEntry,
    MemoryOp,
)
from kitaru.runtime.signals import RunnerFenced, StoreLost
from kitaru.store.base import MetadataStore

__all__ = ["RunnerStore", "boot_clock"]

T = TypeVar("T")

_FIRST_DELAY = 0.05
_MAX_DELAY = 2.0

if hasattr(time, "CLOCK_BOOTTIME"):

    def boot_clock() -> float:
        """Seconds on a clock that also runs while the machine sleeps (Linux), else monotonic."""
        return time.clock_gettime(time.CLOCK_BOOTTIME)

else:  # pragma: no cover - other systems
    boot_clock = time.monotonic


class RunnerStore:
    """The store as one runner of one execution writes to it.

    Args:
        store: The metadata store.
        exec_id: The execution the runner holds.
        runner_id: The runner's id.
        epoch: The epoch of the runner's claim; ``None`` writes unfenced (no claim).
        lease_seconds: How long a renewal of the lease holds.
        on_stop: Called once when the runner must stop (fenced off, or the store lost).
    """

    __slots__ = (
        "_lock",
        "_on_stop",
        "_own_since",
        "epoch",
        "exec_id",
        "lease_seconds",
        "lease_until",
        "runner_id",
        "stopped",
        "store",
    )

    def __init__(
        self,
        store: MetadataStore,
        exec_id: str,
        runner_id: str,
        *,
        epoch: int | None,
        lease_seconds: float = 30.0,
        on_stop: Callable[[BaseException], None] | None = None,
    ) -> None:
        self.store = store
        self.exec_id = exec_id
        self.runner_id = runner_id
        self.epoch = epoch
        self._own_since = epoch
        self.lease_seconds = lease_seconds
        self.lease_until = boot_clock() + lease_seconds  # the claim was just made
        self.stopped: BaseException | None = None
        self._on_stop = on_stop
        self._lock = threading.Lock()

    # -- the runner's writes --------------------------------------------------
    def begin_attempt(self, call: CallRecord, attempt: AttemptRecord, *, retry: bool = True) -> None:
        """Record a running attempt (``retry=False``: one try, the store's error raised)."""
        self._write("recorded a running attempt", self.store.begin_attempt, call, attempt, retry=retry)

    def record_completed_attempt(
        self, call: CallRecord, attempt: AttemptRecord, *, output: ArtifactRecord, ended_at: Any
    ) -> None:
        """Record a whole attempt and its output in one transaction."""
        self._write(
            "recorded a completed checkpoint",
            self.store.record_completed_attempt,
            call,
            attempt,
            output=output,
            ended_at=ended_at,
        )

    def complete_call(self, call_id: str, attempt_id: str, *, output: ArtifactRecord, ended_at: Any) -> None:
        """Complete a call whose running attempt is recorded."""
        self._write(
            "recorded a completed checkpoint",
            self.store.complete_call,
            call_id,
            attempt_id,
            output=output,
            ended_at=ended_at,
        )

    def write_memory(self, entry: MemoryEntry, *, op: MemoryOp) -> MemoryEntry:
        """Write a memory version journaled as ``op``: made once, however often it is retried."""
        return self._write("wrote memory", self.store.write_memory, entry, op=op)

    def record_memory_op(self, op: MemoryOp) -> MemoryOp:
        """Journal a memory read of the flow body (the first record of ``op.op_id`` stays)."""
        return self._write("journaled a memory read", self.store.record_memory_op, op)

    def fail_attempt(
        self, call_id: str, attempt_id: str, *, failure: dict[str, Any], ended_at: Any, final: bool
    ) -> None:
        """Record a failed attempt (and the call's failure when ``final``)."""
        self._write(
            "recorded a failed attempt",
            self.store.fail_attempt,
            call_id,
            attempt_id,
            failure=failure,
            ended_at=ended_at,
            final=final,
        )

    def record_cached_call(self, call: CallRecord, *, source: CallRecord) -> bool:
        """Record a cache hit; ``False`` when its source is gone (see the store's method)."""
        return self._write("recorded a cache hit", self.store.record_cached_call, call, source=source)

    def begin_wait(self, call: CallRecord, attempt: AttemptRecord | None) -> bool:
        """Enter a wait (the execution becomes ``waiting``) while this runner holds it."""
        return self._write("entered a wait", self.store.begin_wait, call, attempt, runner_id=self.runner_id)

    def finish_execution(
        self,
        status: ExecutionStatus,
        *,
        result: ArtifactRecord | None = None,
        failure: dict[str, Any] | None = None,
    ) -> None:
        """End the run of the body."""
        self._write(
            f"recorded its end ({status.value})",
            self.store.finish_execution,
            self.exec_id,
            status,
            result=result,
            failure=failure,
        )

    def merge_execution_metadata(self, patch: dict[str, Any]) -> None:
        """Merge metadata into the execution's."""
        self._write("recorded metadata", self.store.merge_execution_metadata, self.exec_id, patch)

    def merge_call_metadata(
        self, call_id: str, patch: dict[str, Any], *, attempt_id: str | None = None
    ) -> None:
        """Merge metadata into a call's (and into its attempt ``attempt_id``'s)."""
        self._write(
            "recorded metadata", self.store.merge_call_metadata, call_id, patch, attempt_id=attempt_id
        )

    def add_artifact(self, artifact: ArtifactRecord) -> None:
        """Insert a saved artifact's row."""
        self._write("saved an artifact", self.store.add_artifact, artifact)

    def record_llm_usage(
        self,
        usage: LlmUsageRecord,
        *,
        artifacts: Collection[ArtifactRecord],
        metadata: dict[str, Any],
        completed: CompletedAttempt | None = None,
    ) -> None:
        """Record a live model call: its usage row, prompt and response artifacts and metadata
        (with its completed attempt, when given, in the same transaction)."""
        self._write(
            "recorded a model call",
            self.store.record_llm_usage,
            usage,
            artifacts=tuple(artifacts),
            metadata=metadata,
            completed=completed,
        )

    def set_status(
        self, status: ExecutionStatus, *, expected: Collection[ExecutionStatus], release: bool = False
    ) -> bool:
        """Change the status while this runner holds the execution; ``release`` lets it go
        (the store then raises the epoch: this runner's epoch follows)."""
        with self._lock:
            epoch = self.epoch
        changed = self._write(
            f"set its status to {status.value}",
            self.store.set_execution_status,
            self.exec_id,
            status,
            expected=expected,
            runner_id=self.runner_id,
            release=release,
        )
        if changed and release and epoch is not None:
            self.adopt(epoch + 1)
        return changed

    def claim(self, expected: Collection[ExecutionStatus]) -> ExecutionRecord | None:
        """Take the execution back after this runner let it go (no other runner holds it)."""
        claimed = self._retrying_call(
            "claimed it again",
            lambda: self.store.claim_execution(
                self.exec_id, runner_id=self.runner_id, expected=expected, expected_runner=None
            ),
        )
        if claimed is not None:
            self.adopt(claimed.epoch)
            self.lease_until = boot_clock() + self.lease_seconds
        return claimed

    def read(self, what: str, read: Callable[[], T]) -> T:
        """Read something the run needs, retried through a store outage like a write."""
        if self.stopped is not None:
            raise self.stopped
        try:
            return read()
        except KitaruBackendError as exc:
            if not exc.transient:
                raise
            return self._retry(what, read, exc)

    # -- the lease ------------------------------------------------------------
    def renew(self) -> ExecutionRecord | None:
        """Renew the lease (the heartbeat): the updated record, or ``None`` when this runner
        does not hold the execution (it let it go at a wait).

        Raises:
            RunnerFenced: Another runner holds the execution now.
            KitaruBackendError: The store failed (the next beat tries again).
        """
        if self.stopped is not None:
            raise self.stopped
        epoch = self.epoch
        sent = boot_clock()
        try:
            record = self.store.heartbeat(self.exec_id, runner_id=self.runner_id, epoch=epoch)
        except KitaruFencedError as exc:
            if self._was_ours(epoch):
                return None  # this runner claimed it again meanwhile: the next beat has the new epoch
            raise self._fenced(exc) from None
        if record is not None:
            self.lease_until = sent + self.lease_seconds
        return record

    def check(self) -> None:
        """Before a checkpoint's code runs: stop when the runner was fenced off; renew the lease
        first when it is running out (the process was stopped, or the machine slept), so a
        runner that lost the execution finds out before it runs anything again."""
        stopped = self.stopped
        if stopped is not None:
            raise stopped
        if self.epoch is not None and boot_clock() > self.lease_until - self.lease_seconds / 2:
            self._retrying_call("renewed its lease", self.renew)

    # -- stopping -------------------------------------------------------------
    def adopt(self, epoch: int) -> None:
        """Take ``epoch`` as this runner's, after it let the execution go or claimed it again."""
        with self._lock:
            if self.epoch is None or epoch != self.epoch + 1:
                self._own_since = epoch  # another runner may have held it in between
            self.epoch = epoch

    def stop(self, signal: BaseException) -> BaseException:
        """Mark the runner stopped (the first reason wins) and return the reason."""
        with self._lock:
            first = self.stopped is None
            if first:
                self.stopped = signal
            signal = self.stopped if self.stopped is not None else signal
        if first and self._on_stop is not None:
            self._on_stop(signal)
        return signal

    def _was_ours(self, epoch: int | None) -> bool:
        """Whether a write refused for ``epoch`` came from an earlier hold of this very runner."""
        with self._lock:
            current, since = self.epoch, self._own_since
        return epoch is not None and current is not None and since is not None and since <= epoch < current

    def _fenced(self, exc: KitaruFencedError) -> BaseException:
        return self.stop(RunnerFenced(self.exec_id, exc.epoch, exc.current))

    # -- writing --------------------------------------------------------------
    def _write(self, what: str, write: Callable[..., T], *args: Any, retry: bool = True, **kwargs: Any) -> T:
        stopped = self.stopped
        if stopped is not None:
            raise stopped
        epoch = self.epoch
        try:
            return write(*args, epoch=epoch, **kwargs)
        except KitaruFencedError as exc:
            if self._was_ours(epoch):
                return self._write(what, write, *args, retry=retry, **kwargs)
            raise self._fenced(exc) from None
        except KitaruBackendError as exc:
            if not retry or not exc.transient:
                raise
            return self._retry(what, lambda: self._write(what, write, *args, retry=False, **kwargs), exc)

    def _retrying_call(self, what: str, call: Callable[[], T]) -> T:
        try:
            return call()
        except KitaruBackendError as exc:
            if not exc.transient:
                raise
            return self._retry(what, call, exc)

    def _retry(self, what: str, again: Callable[[], T], first: KitaruBackendError) -> T:
        """Try ``again`` with backoff until it works or the lease has passed (then give up)."""
        started = boot_clock()
        deadline = started + self.lease_seconds
        _say(
            f"the store failed while execution {self.exec_id} {what}: {first}; retrying for up to "
            f"{self.lease_seconds:g} s"
        )
        delay, last = _FIRST_DELAY, first
        while boot_clock() + delay < deadline:
            time.sleep(delay)
            delay = min(delay * 2, _MAX_DELAY)
            try:
                result = again()
            except KitaruBackendError as exc:
                if not exc.transient:
                    raise
                last = exc
                continue
            _say(f"the store works again; execution {self.exec_id} goes on")
            return result
        raise self.stop(StoreLost(self.exec_id, what, last, boot_clock() - started))


def _say(message: str) -> None:
    print(f"kitaru: {message}.", file=sys.__stderr__, flush=True)
