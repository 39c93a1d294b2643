"""One durable call: invocation ids, journal reuse, cache, attempts, retries, output.

The write path of a live checkpoint call: assign the invocation id (flow
thread) → journal lookup (same execution) → cache lookup (other executions,
only when the call's cache is on) → record a ``running`` attempt → run →
serialize → write the blob when large → one transaction that completes the
call and links its output.

The cache key of a call is ``sha256(identity, source hash, argument
fingerprint)``: the checkpoint's ``module:qualname``, the hash of the
checkpoint function's own source text, and the fingerprint of its arguments.
Nothing else is in it (globals, closures, called helpers, the environment and
the time are not), which is why the cache is opt-in.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from kitaru._types import (
    CallKind,
    CallStatus,
    ExecutionStatus,
    FailureOrigin,
    copied_call_id,
    new_id,
    sha256_hex,
    utcnow,
)
from kitaru.artifacts.values import load_value, make_artifact
from kitaru.errors import (
    KitaruArtifactIntegrityError,
    KitaruDivergenceError,
    KitaruStateError,
    KitaruUsageError,
)
from kitaru.records import AttemptRecord, CallRecord, CompletedAttempt
from kitaru.runtime import pending, tracing
from kitaru.runtime.context import CallScope, ExecutionContext
from kitaru.runtime.failures import failure_from
from kitaru.runtime.isolated import FunctionRef, IsolatedCall
from kitaru.runtime.retry import RetryPolicy
from kitaru.runtime.signals import ExecutionCancelled
from kitaru.serde import fingerprint, serialize

__all__ = ["CallEntry", "DurableCall", "Slot", "assign_slot", "run_async", "run_sync"]


@dataclass(eq=False)
class CallEntry:
    """What the runtime needs to know of a checkpoint definition."""

    name: str
    identity: str
    entrypoint: Callable[..., Any]
    is_async: bool
    type: str | None
    retry: RetryPolicy | None
    source_hash: Callable[[], str]
    kind: CallKind = CallKind.CHECKPOINT
    cache: bool | None = None
    """The checkpoint's own cache setting; ``None`` follows the flow's resolved one."""
    cache_ttl: float | None = None
    """Seconds a completed call stays a cache hit; ``None``: no limit."""
    isolated: FunctionRef | None = None
    """Where another process finds the function, for ``runtime="isolated"``; ``None``: inline."""
    resources: dict[str, Any] = field(default_factory=dict)
    """What an isolated call asks of the target (``num_cpus``, ``num_gpus``, ...)."""


@dataclass(frozen=True, slots=True)
class Slot:
    """An assigned invocation: its id, its sequence number and the recorded call, if any."""

    invocation_id: str
    seq: int
    recorded: CallRecord | None


def _describe(record: CallRecord) -> str:
    return f"{record.kind.value} call {record.invocation_id!r} (of {record.name!r})"


def _diverged(ctx: ExecutionContext, seq: int, recorded: CallRecord, name: str, invocation_id: str) -> None:
    error = KitaruDivergenceError(
        f"Execution {ctx.exec_id} diverged from its record at durable call #{seq}: the record has "
        f"{_describe(recorded)} at #{recorded.seq}, this run made call {invocation_id!r} (of {name!r}) "
        f"at #{seq}. Code before the point where an execution continues must make the same durable "
        "calls in the same order; restore that order, or start a new execution.",
        exec_id=ctx.exec_id,
        status=ExecutionStatus.FAILED,
        failure_origin=FailureOrigin.DIVERGENCE,
    )
    ctx.divergence = error
    raise error


def assign_slot(ctx: ExecutionContext, target: CallEntry, explicit_id: str | None) -> Slot:
    """Assign the invocation id and sequence number of a new call (in the flow thread)
    and check it against the journal: a completed record is returned for reuse, a
    different completed call at the same position is a divergence."""
    if ctx.divergence is not None:
        raise ctx.divergence
    if ctx.writes.stopped is not None:  # fenced off, or the store lost: the runner stops here
        raise ctx.writes.stopped
    if ctx.cancel_event.is_set():
        raise ExecutionCancelled(ctx.exec_id)
    with ctx.lock:
        if explicit_id is not None:
            if not isinstance(explicit_id, str) or not explicit_id:
                raise KitaruUsageError(
                    f"id= of checkpoint {target.name!r} must be a non-empty string, got {explicit_id!r}."
                )
            if explicit_id in ctx.used_ids:
                raise KitaruUsageError(
                    f"Invocation id {explicit_id!r} is used twice in execution {ctx.exec_id}. "
                    "Give each call a distinct id=."
                )
            invocation_id = explicit_id
        else:
            count = ctx.name_counts.get(target.name, 0)
            while True:
                count += 1
                invocation_id = target.name if count == 1 else f"{target.name}_{count}"
                if invocation_id not in ctx.used_ids:
                    break
            ctx.name_counts[target.name] = count
        ctx.used_ids.add(invocation_id)
        ctx.seq += 1
        seq = ctx.seq
    at_seq = ctx.journal_by_seq.get(seq)
    if at_seq is not None and at_seq.status.is_done and at_seq.invocation_id != invocation_id:
        _diverged(ctx, seq, at_seq, target.name, invocation_id)
    recorded = ctx.journal_by_id.get(invocation_id)
    if recorded is not None and recorded.status.is_done:
        if recorded.seq != seq or recorded.name != target.name or recorded.kind != target.kind:
            _diverged(ctx, seq, recorded, target.name, invocation_id)
        return Slot(invocation_id, seq, recorded)
    return Slot(invocation_id, seq, recorded)


@dataclass(eq=False)
class DurableCall:
    """The live part of one call: cache lookup, attempts and the recorded outcome."""

    ctx: ExecutionContext
    target: CallEntry
    slot: Slot
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    after: tuple[str, ...] = ()
    call_id: str = field(init=False)
    attempt_id: str = field(init=False, default="")
    attempts_done: int = field(init=False, default=0)
    retries_done: int = field(init=False, default=0)
    fingerprint: str | None = field(init=False, default=None)
    cache_key: str | None = field(init=False, default=None)
    is_reused: bool = field(init=False, default=False)
    """Whether the journal holds the completed outcome of this same work (§2)."""
    rerun_reason: dict[str, Any] | None = field(init=False, default=None)
    cache_skipped: dict[str, Any] | None = field(init=False, default=None)
    """The cache hit this call could not use (its output could not be loaded), and why."""
    _fingerprinted: bool = field(init=False, default=False)
    begun: pending.PendingBegin | None = field(init=False, default=None)
    was_pinned: bool = field(init=False, default=False)
    """Whether a replay pinned this call's output (it was recorded, not run)."""
    cached_from: str | None = field(init=False, default=None)
    """The execution whose cached call answered this one, on a cache hit."""
    span: tracing.Span | None = field(init=False, default=None)
    """The call's trace span while it runs, when spans are exported."""
    finish_with: Callable[[CompletedAttempt | None], None] | None = field(init=False, default=None)
    """Set by a call that records more than its output (a flow-level model call): :meth:`succeed`
    hands it the completed attempt to write with the rest in one transaction, or ``None`` when
    the attempt's running row was written already (the call is then completed right after)."""

    def __post_init__(self) -> None:
        recorded = self.slot.recorded
        if recorded is None:
            self.call_id = new_id()
        elif recorded.exec_id == self.ctx.exec_id:
            self.call_id, self.attempts_done = recorded.call_id, recorded.attempt_count
        else:
            # A call a replay reuses, as recorded in its source: its copy here has a derived id.
            self.call_id = copied_call_id(self.ctx.exec_id, recorded.call_id)
        if recorded is not None and recorded.status.is_done:
            self.is_reused = self._same_work(recorded)

    def args_fingerprint(self) -> str | None:
        """The fingerprint of the call's arguments (``None`` when they cannot be
        fingerprinted), computed once per call: the journal check and the cache key share it."""
        if not self._fingerprinted:
            self.fingerprint = fingerprint((self.args, self.kwargs))
            self._fingerprinted = True
        return self.fingerprint

    def _same_work(self, recorded: CallRecord) -> bool:
        """Whether a completed record may be reused: its arguments' fingerprint equals
        this call's. Without a fingerprint on either side the invocation id decides."""
        if recorded.input_fingerprint is None:
            return True
        current = self.args_fingerprint()
        if current is None or current == recorded.input_fingerprint:
            return True
        self.rerun_reason = {
            "rerun_reason": "arguments changed",
            "recorded_fingerprint": recorded.input_fingerprint,
            "fingerprint": current,
        }
        return False

    def reused_value(self) -> Any:
        """The recorded output of a completed call."""
        recorded = self.slot.recorded
        assert recorded is not None and recorded.output is not None
        return load_value(
            self.ctx.artifacts, recorded.output, shared_store=self.ctx.store.shared, script=self.ctx.script
        )

    def _record(self, status: CallStatus) -> CallRecord:
        return CallRecord(
            call_id=self.call_id,
            exec_id=self.ctx.exec_id,
            invocation_id=self.slot.invocation_id,
            seq=self.slot.seq,
            name=self.target.name,
            kind=self.target.kind,
            status=status,
            started_at=utcnow(),
            type=self.target.type,
            cache_key=self.cache_key,
            input_fingerprint=self.args_fingerprint(),
            after=self.after,
        )

    def pinned(self) -> tuple[bool, Any]:
        """Record the output a replay pinned for this call, without running it."""
        if self.slot.invocation_id not in self.ctx.overrides:
            return False, None
        value = self.ctx.overrides[self.slot.invocation_id]
        # No fingerprint: a pinned output stays pinned when the execution continues.
        self.fingerprint, self._fingerprinted = None, True
        self.was_pinned = True
        self.begin()
        self.succeed(value)
        self.ctx.writes.merge_call_metadata(self.call_id, {"kitaru": {"override": True}})
        return True, value

    def cache_on(self) -> bool:
        """Whether this call may be answered from the cache: the checkpoint's own
        setting, else the flow's resolved one; never in a replay."""
        if not self.ctx.cache_allowed:
            return False
        own = self.target.cache
        return self.ctx.cache_enabled if own is None else own

    def cached(self) -> tuple[bool, Any]:
        """Look the call up in other executions when its cache is on; record and return a hit.

        A hit is the newest completed call with the same cache key (younger than the
        checkpoint's ``cache_ttl`` when set); the new call gets its output, saved
        artifacts, metadata and log lines. With the cache off nothing is computed or read.
        """
        if not self.cache_on():
            return False, None
        fp = self.args_fingerprint()
        if fp is None:
            return False, None
        raw = f"{self.target.identity}\0{self.target.source_hash()}\0{fp}".encode()
        self.cache_key = sha256_hex(raw)
        ttl = self.target.cache_ttl
        not_before = None if ttl is None else utcnow() - dt.timedelta(seconds=ttl)
        key, exec_id = self.cache_key, self.ctx.exec_id
        hit = self.ctx.writes.read(
            "looked up the cache",
            lambda: self.ctx.store.find_cached_call(key, exclude_exec_id=exec_id, not_before=not_before),
        )
        if hit is None or hit.output is None:
            return False, None
        try:
            value = load_value(
                self.ctx.artifacts, hit.output, shared_store=self.ctx.store.shared, script=self.ctx.script
            )
        except (KitaruArtifactIntegrityError, KitaruStateError) as exc:
            # The cache is a shortcut, never a reason to fail: a hit whose output is missing,
            # corrupt, refused (a pickle) or unloadable counts as a miss, and the call runs live.
            self.cache_skipped = {"exec_id": hit.exec_id, "call_id": hit.call_id, "reason": str(exc)}
            return False, None
        marker = {"kitaru": {"cached_from": {"exec_id": hit.exec_id, "call_id": hit.call_id}}}
        record = replace(self._record(CallStatus.CACHED), ended_at=utcnow(), metadata=marker)
        if not self.ctx.writes.record_cached_call(record, source=hit):
            return False, None  # the source's execution was deleted since the lookup: a miss
        self.cached_from = hit.exec_id
        return True, value

    def begin(self) -> CallScope:
        """Begin a new attempt and return the scope to run the code in.

        The ``running`` row is deferred (:mod:`kitaru.runtime.pending`): written with the
        outcome in one transaction when the attempt ends soon, else by a background thread.
        First the runner makes sure it still holds the execution (:meth:`RunnerStore.check`).
        """
        self.ctx.writes.check()
        self.attempts_done += 1
        self.attempt_id = new_id()
        record = self._record(CallStatus.RUNNING)
        attempt = AttemptRecord(
            attempt_id=self.attempt_id,
            call_id=self.call_id,
            number=self.attempts_done,
            status=CallStatus.RUNNING,
            started_at=record.started_at,
        )
        self.begun = pending.defer(self.ctx.writes, record, attempt)
        if self.rerun_reason is not None:
            # The recorded call's row exists already: the reason goes on it now.
            self._note_rerun(self.rerun_reason)
            self.rerun_reason = None
        if self.cache_skipped is not None:
            self._note_cache_skipped(self.cache_skipped)
            self.cache_skipped = None
        return CallScope(self.ctx, self.call_id, self.slot.invocation_id, self.target.name, self.attempt_id)

    def _note_rerun(self, reason: dict[str, Any]) -> None:
        """Record on the call, and in the execution's logs, why a recorded call runs again."""
        self.ctx.writes.merge_call_metadata(self.call_id, {"kitaru": reason})
        if self.ctx.logs is not None:
            self.ctx.logs.emit(
                "kitaru",
                "INFO",
                f"Call {self.slot.invocation_id!r} runs again: arguments changed since it was "
                f"recorded (fingerprint {reason['recorded_fingerprint'][:12]} -> "
                f"{reason['fingerprint'][:12]}).",
                call_id=self.call_id,
                invocation_id=self.slot.invocation_id,
            )

    def _note_cache_skipped(self, skipped: dict[str, Any]) -> None:
        """Record on the call, and in the execution's logs, why it runs live despite a cache hit."""
        assert self.begun is not None
        pending.flush(self.begun)  # rare: the row is needed now, to carry the reason
        self.ctx.writes.merge_call_metadata(self.call_id, {"kitaru": {"cache_skipped": skipped}})
        if self.ctx.logs is not None:
            self.ctx.logs.emit(
                "kitaru",
                "WARNING",
                f"Call {self.slot.invocation_id!r} runs live: its cache hit (call {skipped['call_id']} of "
                f"execution {skipped['exec_id']}) could not be loaded: {skipped['reason']}",
                call_id=self.call_id,
                invocation_id=self.slot.invocation_id,
            )

    def succeed(self, value: Any) -> None:
        """Serialize the output and complete the call in one transaction."""
        try:
            serialized = serialize(value)
        except KitaruUsageError as exc:
            error = KitaruUsageError(
                f"Checkpoint {self.target.name!r} (invocation {self.slot.invocation_id!r}) returned a "
                f"value that cannot be stored: {exc}"
            )
            self.fail(error, retryable=False)
            raise error from exc
        artifact = make_artifact(
            self.ctx.artifacts,
            serialized,
            exec_id=self.ctx.exec_id,
            name=self.slot.invocation_id,
            kind="output",
            call_id=self.call_id,
            original=value,
        )
        begun = self.begun
        if begun is not None and pending.settle(begun):
            # One commit: the attempt's running row was not written yet.
            if self.finish_with is not None:
                self.finish_with(CompletedAttempt(begun.call, begun.attempt, artifact, utcnow()))
                return
            self.ctx.writes.record_completed_attempt(
                begun.call, begun.attempt, output=artifact, ended_at=utcnow()
            )
        else:
            if self.finish_with is not None:
                # Usage first: a crash before the completion re-runs the call, whose first usage
                # was spent and stays counted; the other order could lose it.
                self.finish_with(None)
            self.ctx.writes.complete_call(self.call_id, self.attempt_id, output=artifact, ended_at=utcnow())

    def isolated(self) -> IsolatedCall | None:
        """The call to hand to the execution's isolated backend, or ``None`` when it runs inline
        (an inline checkpoint, or a target without isolation)."""
        ref = self.target.isolated
        if ref is None or self.ctx.isolated is None:
            return None
        return IsolatedCall(
            exec_id=self.ctx.exec_id,
            name=self.target.name,
            invocation_id=self.slot.invocation_id,
            function=ref,
            args=self.args,
            kwargs=self.kwargs,
            resources=self.target.resources,
            is_async=self.target.is_async,
            trace_context=None if self.span is None else self.span.carrier(),
        )

    def fail(self, exc: BaseException, *, retryable: bool = True) -> float | None:
        """Record the failed attempt; return the delay before a retry, or ``None`` when final."""
        policy = self.target.retry
        retry = retryable and policy is not None and policy.should_retry(exc, self.retries_done)
        failure = failure_from(exc, attempt=self.attempts_done, invocation_id=self.slot.invocation_id)
        if self.ctx.cancel_event.is_set():
            failure["origin"] = "cancelled"
        if self.span is not None:
            self.span.add_failure(exc, {"kitaru.attempt": self.attempts_done, "kitaru.retried": retry})
        if self.begun is not None:
            pending.flush(self.begun)  # a failed attempt keeps its running row, then its failure
        self.ctx.writes.fail_attempt(
            self.call_id, self.attempt_id, failure=failure, ended_at=utcnow(), final=not retry
        )
        if not retry:
            return None
        assert policy is not None
        self.retries_done += 1
        return policy.delay_for(self.retries_done)


def run_sync(call: DurableCall, wait_for: Sequence[Any] = ()) -> Any:
    """Run a call in this thread: reuse, cache, or live attempts with retries."""
    tracer = call.ctx.tracer
    if tracer is None:
        return _run_sync(call, wait_for)
    span = call.span = tracing.start_call_span(tracer, call)
    first_attempt = call.attempts_done
    token = span.activate()  # the code's own spans nest under the call's
    try:
        value = _run_sync(call, wait_for)
    except BaseException as exc:
        span.deactivate(token)
        tracing.end_call_span(span, call, exc, first_attempt=first_attempt)
        raise
    span.deactivate(token)
    tracing.end_call_span(span, call, None, first_attempt=first_attempt)
    return value


def _run_sync(call: DurableCall, wait_for: Sequence[Any]) -> Any:
    if call.is_reused:
        return call.reused_value()
    for future in wait_for:
        future.result()
    hit, value = call.pinned()
    if not hit:
        hit, value = call.cached()
    if hit:
        return value
    while True:
        scope = call.begin()
        isolated = call.isolated()
        try:
            if isolated is None:
                value = call.target.entrypoint(scope, *call.args, **call.kwargs)
            else:
                value = call.ctx.isolated.run(isolated, call.ctx.cancel_event)
        except BaseException as exc:
            delay = call.fail(exc, retryable=isinstance(exc, Exception))
            if delay is None:
                raise
            time.sleep(delay)
            continue
        call.succeed(value)
        return value


async def run_async(call: DurableCall, wait_for: Sequence[Any] = ()) -> Any:
    """Run a call of an ``async def`` checkpoint on the running event loop."""
    tracer = call.ctx.tracer
    if tracer is None:
        return await _run_async(call, wait_for)
    span = call.span = tracing.start_call_span(tracer, call)
    first_attempt = call.attempts_done
    token = span.activate()  # the code's own spans nest under the call's (its task copies the context)
    try:
        value = await _run_async(call, wait_for)
    except BaseException as exc:
        span.deactivate(token)
        tracing.end_call_span(span, call, exc, first_attempt=first_attempt)
        raise
    span.deactivate(token)
    tracing.end_call_span(span, call, None, first_attempt=first_attempt)
    return value


async def _run_async(call: DurableCall, wait_for: Sequence[Any]) -> Any:
    import asyncio  # already loaded: a loop is running

    if call.is_reused:
        return call.reused_value()
    for future in wait_for:
        await asyncio.wrap_future(future.concurrent_future)
    hit, value = call.pinned()
    if not hit:
        hit, value = call.cached()
    if hit:
        return value
    ctx = call.ctx
    while True:
        scope = call.begin()
        isolated = call.isolated()
        if isolated is None:
            task = asyncio.ensure_future(call.target.entrypoint(scope, *call.args, **call.kwargs))
        else:
            task = asyncio.ensure_future(asyncio.to_thread(ctx.isolated.run, isolated, ctx.cancel_event))
        entry = (asyncio.get_running_loop(), task)
        with ctx.lock:
            ctx.async_tasks.add(entry)
        if ctx.cancel_event.is_set():
            task.cancel()
        try:
            value = await task
        except BaseException as exc:
            with ctx.lock:
                ctx.async_tasks.discard(entry)
            delay = call.fail(exc, retryable=isinstance(exc, Exception))
            if delay is None:
                raise
            await asyncio.sleep(delay)
            continue
        with ctx.lock:
            ctx.async_tasks.discard(entry)
        call.succeed(value)
        return value
