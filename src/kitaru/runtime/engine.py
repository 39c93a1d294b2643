"""Start and continue executions: run the body, reuse the journal, finish.

:func:`run_in_place` is the one entry point that (re-)runs an existing
execution under its own exec id: the first run, flow-level retries, and
later continuation after a failure all go through it. Completed durable calls
are reused from the journal; the first call without a record runs live.
"""

from __future__ import annotations

import inspect
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from kitaru._leases import lease_settings, new_runner_id
from kitaru._sources import CodeNotLoadable, source_script
from kitaru._types import ExecutionStatus, Record, new_id, utcnow
from kitaru.artifacts.base import ArtifactStore
from kitaru.artifacts.values import make_artifact
from kitaru.errors import (
    KitaruBackendError,
    KitaruDivergenceError,
    KitaruExecutionError,
    KitaruUsageError,
    KitaruWaitAbortedError,
)
from kitaru.records import CallRecord, ExecutionRecord, SourceRef
from kitaru.runtime.context import (
    ExecutionContext,
    enter_execution,
    exit_execution,
    register_running,
    unregister_running,
)
from kitaru.runtime.failures import failure_from, type_path
from kitaru.runtime.heartbeat import Heartbeat
from kitaru.runtime.inputs import store_inputs
from kitaru.runtime.signals import ExecutionCancelled, RunnerFenced, RunnerReleased, StoreLost
from kitaru.runtime.tracing import end_execution_span, start_execution_span, tracer
from kitaru.serde import serialize
from kitaru.store.base import MetadataStore

__all__ = ["FlowEntry", "Outcome", "create_execution", "RunSettings", "run_in_place", "source_reference"]


@dataclass(eq=False)
class FlowEntry:
    """What the engine needs to know of a flow definition."""

    name: str
    func: Callable[..., Any]

    @property
    def is_async(self) -> bool:
        """Whether the flow body is an ``async def`` function."""
        return inspect.iscoroutinefunction(self.func)


@dataclass(eq=False)
class Outcome:
    """How a run of an execution ended, as seen by the process that ran it.

    ``status`` ``waiting`` means this runner left the execution (a wait timed out, or
    another runner took it over): whoever continues it records its end in the store.
    """

    status: ExecutionStatus
    value: Any = None
    error: BaseException | None = None
    failure: dict[str, Any] | None = None
    """The failure stored with the execution when it failed or was cancelled."""
    done: threading.Event = field(default_factory=threading.Event)


def source_reference(func: Callable[..., Any]) -> dict[str, Any]:
    """Record how another process can import ``func``: module and qualname, and the
    file path for scripts run as ``__main__``."""
    try:
        path = inspect.getsourcefile(func)
    except TypeError:
        path = None
    return SourceRef(module=func.__module__, qualname=func.__qualname__, path=path).to_dict()


def create_execution(
    store: MetadataStore,
    artifacts: ArtifactStore,
    *,
    flow_name: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    spec: dict[str, Any],
    source: dict[str, Any],
    original_exec_id: str | None = None,
    runner_id: str | None = None,
    func: Callable[..., Any] | None = None,
) -> str:
    """Create a ``pending`` execution with one input artifact per argument; return its exec id.

    ``runner_id`` names the runner about to start it, so an execution whose
    process died before it started counts as orphaned rather than pending forever.
    ``func`` (the flow function) names the artifacts after its parameters.

    An argument that cannot be serialized is not stored (the execution can then
    only continue in this process); the spec says which and why.
    """
    exec_id = new_id()
    inputs, problem = store_inputs(artifacts, exec_id=exec_id, func=func, args=args, kwargs=kwargs)
    if problem is None:
        spec = {**spec, "inputs_stored": True}
    else:
        spec = {**spec, "inputs_stored": False, "inputs_error": problem}
    now = utcnow()
    record = ExecutionRecord(
        exec_id=exec_id,
        flow_name=flow_name,
        status=ExecutionStatus.PENDING,
        created_at=now,
        updated_at=now,
        spec=spec,
        source=source,
        original_exec_id=original_exec_id,
        runner_id=runner_id,
    )
    store.create_execution(record, inputs=inputs)
    return exec_id


def _run_body(target: FlowEntry, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if target.is_async:
        import asyncio

        return asyncio.run(target.func(*args, **kwargs))
    return target.func(*args, **kwargs)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class RunSettings(Record):
    """How one runner runs an execution."""

    cache: bool = False
    """The flow's resolved cache setting (a checkpoint's own setting wins over it)."""
    cache_allowed: bool = True
    """``False`` in a replay: calls from the frontier on run live, even with ``cache=True``."""
    retries: int = 0
    runner_id: str = ""
    claimed: ExecutionRecord | None = None
    """The execution as the caller's claim for ``runner_id`` left it (a continuation): the run
    starts from that claim instead of starting the execution itself."""
    heartbeat_seconds: float = 2.0
    """How often the runner renews its lease (``KITARU_HEARTBEAT_SECONDS``)."""
    lease_seconds: float = 30.0
    """How long a renewal holds (``KITARU_LEASE_SECONDS``)."""
    overrides: dict[str, Any] = field(default_factory=dict)
    interactive: bool = True
    log_sink: Callable[[MetadataStore, str], Any] | None = None
    isolated: Any = None
    """Where ``runtime="isolated"`` checkpoints run (an
    :class:`~kitaru.runtime.isolated.IsolatedBackend`); ``None``: inline, with a warning."""
    journal: Sequence[CallRecord] | None = None
    """The journal the caller has just written for a new execution, outputs filled: the first
    run uses it instead of reading it back from the store. A replay passes the calls it reused
    as recorded in its source (their copies here have ids ``copied_call_id(exec_id, call_id)``
    and no attempts; the run translates them)."""
    trace_parent: Any = None
    """The trace context the runs' spans open under (where the run was started, another
    thread); ``None``: the current one of the thread that runs the body."""


def _run_once(
    exec_id: str,
    target: FlowEntry,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    *,
    store: MetadataStore,
    artifacts: ArtifactStore,
    settings: RunSettings,
    claimed: ExecutionRecord | None,
    journal: Sequence[CallRecord] | None,
    held: int,
) -> tuple[Any, BaseException | None, ExecutionContext]:
    record = claimed or _start(store, exec_id, settings.runner_id, held)
    ctx = ExecutionContext.from_journal(
        store.load_journal(exec_id) if journal is None else journal,
        exec_id=exec_id,
        flow_name=target.name,
        store=store,
        artifacts=artifacts,
        cache_enabled=settings.cache,
        runner_id=settings.runner_id,
        epoch=record.epoch,
        lease_seconds=settings.lease_seconds,
        script=source_script(record.source),
    )
    ctx.overrides = dict(settings.overrides)
    ctx.interactive = settings.interactive
    ctx.cache_allowed = settings.cache_allowed
    ctx.isolated = settings.isolated
    if settings.log_sink is not None:
        ctx.logs = settings.log_sink(store, exec_id)
    if record.cancel_requested:
        ctx.cancel_event.set()
    register_running(ctx)
    heartbeat = Heartbeat(ctx, settings.heartbeat_seconds).start()
    token = enter_execution(ctx)
    ctx.tracer = tracer()
    if ctx.tracer is not None:
        ctx.span = start_execution_span(ctx.tracer, record, target.name, parent=settings.trace_parent)
    span_token = None if ctx.span is None else ctx.span.activate()
    try:
        if ctx.cancel_event.is_set():
            raise ExecutionCancelled(exec_id)
        value = _run_body(target, args, kwargs)
    except BaseException as exc:
        return None, _stopped(ctx) or ctx.divergence or exc, ctx
    finally:
        if span_token is not None:
            ctx.span.deactivate(span_token)
        exit_execution(token)
        ctx.shutdown_pool()
        heartbeat.stop()
        unregister_running(ctx)
        if ctx.logs is not None:
            ctx.logs.close()
    if ctx.divergence is not None:
        return None, ctx.divergence, ctx
    return value, None, ctx


def _start(store: MetadataStore, exec_id: str, runner_id: str, held: int) -> ExecutionRecord:
    """Start a run of the body: a claim of the execution this runner holds (it created it,
    or ran it before a flow retry), so a runner whose execution was taken over meanwhile
    does not take it back.

    Raises:
        RunnerFenced: Another runner holds the execution now, or it was released.
    """
    record = store.claim_execution(
        exec_id,
        runner_id=runner_id,
        expected=(ExecutionStatus.PENDING, ExecutionStatus.RUNNING),
        expected_runner=runner_id,
    )
    if record is None:
        raise RunnerFenced(exec_id, held, store.get_execution(exec_id).epoch)
    return record


def _stopped(ctx: ExecutionContext) -> BaseException | None:
    """Why the runner had to stop, whatever the body raised on its way out: fenced off, or
    the store lost (user code may have turned the signal into another exception)."""
    return ctx.writes.stopped


def _fenced_off(store: MetadataStore, fenced: RunnerFenced, outcome: Outcome) -> None:
    """The runner lost the execution to another one: say so, write nothing, and let the
    handle follow the execution in the store (its new runner stores the end)."""
    exec_id, message = fenced.exec_id, str(fenced)
    try:
        record = store.get_execution(exec_id)
    except Exception:  # only the wording depends on it
        record = None
    if record is not None and record.runner_id is None and record.status.is_terminal:
        how = f"was {record.status.value} by another process"
        message = str(RunnerFenced(exec_id, fenced.epoch, fenced.current, how=how))
    print(
        f"kitaru: {message}. Follow the execution with `kitaru executions get {exec_id}`.",
        file=sys.__stderr__,
        flush=True,
    )
    outcome.status = ExecutionStatus.WAITING  # this runner left; the store has the end


def _store_lost(ctx: ExecutionContext, lost: StoreLost, outcome: Outcome) -> None:
    """The store failed for longer than the lease: give the execution up. It ends ``failed``
    (origin ``backend``) when the store takes that; otherwise its lease runs out (this
    runner no longer renews it) and it is orphaned: either way another process can continue it."""
    error = KitaruBackendError(
        f"{str(lost)[0].upper()}{str(lost)[1:]}. The runner gave the execution up; once the store "
        f"works again, continue it with `kitaru executions retry {ctx.exec_id}`."
    )
    error.__cause__ = lost.cause
    failure = failure_from(error)
    epoch = ctx.writes.epoch
    try:
        ctx.store.finish_execution(ctx.exec_id, ExecutionStatus.FAILED, failure=failure, epoch=epoch)
    except Exception as exc:
        print(
            f"kitaru: execution {ctx.exec_id} could not be marked failed either ({exc}); it stays "
            f"{ExecutionStatus.RUNNING.value} until its lease expires, then `kitaru executions resume "
            f"{ctx.exec_id}` continues it.",
            file=sys.__stderr__,
            flush=True,
        )
    else:
        print(f"kitaru: {error}", file=sys.__stderr__, flush=True)
    outcome.status, outcome.error, outcome.failure = ExecutionStatus.FAILED, error, failure


def _is_cancel(error: BaseException, ctx: ExecutionContext) -> bool:
    if isinstance(error, ExecutionCancelled | KitaruWaitAbortedError):
        return True
    return ctx.cancel_event.is_set() and not isinstance(error, KitaruDivergenceError)


def _cancel_failure(error: BaseException, ctx: ExecutionContext) -> dict[str, Any]:
    """The stored failure of a cancellation: says who cancelled, never names an internal class."""
    if isinstance(error, KitaruWaitAbortedError):
        return {**failure_from(error), "origin": "cancelled"}
    reason = ctx.cancel_reason or "a cancel was requested"
    return {
        "message": f"{reason[0].upper()}{reason[1:]}; it stopped at its next checkpoint or wait.",
        "exception_type": type_path(KitaruExecutionError),
        "traceback": None,
        "origin": "cancelled",
    }


def _failure(error: BaseException, exec_id: str) -> dict[str, Any]:
    """The stored failure of a run; one caused by code this process cannot load says it is
    recoverable, and where to retry."""
    failure = failure_from(error)
    if failure.get("recoverable"):
        failure["message"] += (
            f" Nothing recorded is lost: retry the execution where that code can be loaded, e.g. "
            f"`kitaru executions retry {exec_id}` in its project directory."
        )
    return failure


def _end_run(
    ctx: ExecutionContext,
    target: FlowEntry,
    value: Any,
    error: BaseException | None,
    outcome: Outcome,
    *,
    retries_left: bool,
) -> bool:
    """Record how one run of the body ended; ``False`` when the flow retries it.

    Raises:
        RunnerFenced: The runner was fenced off (nothing is recorded).
        StoreLost: The store failed for longer than the lease.
    """
    if isinstance(error, RunnerFenced | StoreLost):
        raise error
    if isinstance(error, RunnerReleased):
        outcome.status = ExecutionStatus.WAITING
        return True
    writes = ctx.writes
    if error is None:
        try:
            result = make_artifact(
                ctx.artifacts,
                serialize(value),
                exec_id=ctx.exec_id,
                name="result",
                kind="result",
                original=value,
            )
        except KitaruUsageError as exc:
            error = KitaruUsageError(f"Flow {target.name!r} returned a value that cannot be stored: {exc}")
            error.__cause__ = exc
        else:
            writes.finish_execution(ExecutionStatus.COMPLETED, result=result)
            outcome.status, outcome.value = ExecutionStatus.COMPLETED, value
            return True
    if _is_cancel(error, ctx):
        failure = _cancel_failure(error, ctx)
        writes.finish_execution(ExecutionStatus.CANCELLED, failure=failure)
        outcome.status, outcome.error, outcome.failure = ExecutionStatus.CANCELLED, error, failure
        return True
    retry = (
        retries_left
        and isinstance(error, Exception)
        and not isinstance(error, KitaruDivergenceError | KitaruUsageError | CodeNotLoadable)
    )
    if not retry:
        failure = _failure(error, ctx.exec_id)
        writes.finish_execution(ExecutionStatus.FAILED, failure=failure)
        outcome.status, outcome.error, outcome.failure = ExecutionStatus.FAILED, error, failure
        return True
    return False


def _end_span(ctx: ExecutionContext, outcome: Outcome, error: BaseException | None) -> None:
    """End the span of a run of the body with how it ended (a run the flow retries: failed)."""
    retried = outcome.status is ExecutionStatus.RUNNING
    status = ExecutionStatus.FAILED if retried else outcome.status
    end_execution_span(ctx.span, status.value, outcome.error or error, retried=retried)


def run_in_place(
    exec_id: str,
    target: FlowEntry,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    *,
    store: MetadataStore,
    artifacts: ArtifactStore,
    settings: RunSettings | None = None,
    outcome: Outcome | None = None,
) -> Outcome:
    """Run (or re-run) execution ``exec_id`` in this thread until it ends or waits.

    The body re-runs from the top; completed durable calls return their recorded
    outputs. A failure re-runs the body up to ``settings.retries`` more times. The
    result is stored as the execution's result artifact. A wait that times out
    releases the runner: the outcome is then ``waiting`` and the execution
    continues elsewhere when its input arrives.
    """
    if settings is None:
        heartbeat, lease = lease_settings()
        settings = RunSettings(heartbeat_seconds=heartbeat, lease_seconds=lease)
    if not settings.runner_id:
        settings = replace(settings, runner_id=new_runner_id())
    outcome = outcome or Outcome(status=ExecutionStatus.RUNNING)
    held = 0  # the epoch this runner last held: none yet for a new execution
    try:
        for run_number in range(settings.retries + 1):
            try:
                value, error, ctx = _run_once(
                    exec_id,
                    target,
                    args,
                    kwargs,
                    store=store,
                    artifacts=artifacts,
                    settings=settings,
                    claimed=settings.claimed if run_number == 0 else None,
                    journal=settings.journal if run_number == 0 else None,
                    held=held,
                )
            except RunnerFenced as fenced:  # taken over before the body started
                _fenced_off(store, fenced, outcome)
                return outcome
            held = ctx.writes.epoch or 0
            try:
                if _end_run(ctx, target, value, error, outcome, retries_left=run_number < settings.retries):
                    return outcome
                assert error is not None
                ctx.writes.merge_execution_metadata(
                    {"kitaru": {"flow_retries": {str(run_number + 1): failure_from(error)["message"]}}}
                )
            except RunnerFenced as fenced:
                _fenced_off(store, fenced, outcome)
                return outcome
            except StoreLost as lost:
                _store_lost(ctx, lost, outcome)
                return outcome
            finally:
                if ctx.span is not None:
                    _end_span(ctx, outcome, error)
        raise AssertionError("unreachable")  # pragma: no cover
    except BaseException as exc:  # the store itself failed: report, never hang the handle
        if outcome.status is ExecutionStatus.RUNNING:
            outcome.status, outcome.error = ExecutionStatus.FAILED, exc
        return outcome
    finally:
        outcome.done.set()
