"""Start and continue executions: run the body, reuse the journal, finish.

:func:`run_in_place` is the one entry point that (re-)runs an existing
execution under its own exec id: the first run, flow-level retries, and
later continuation after a failure all go through it. Completed durable calls
are reused from the journal; the first call without a record runs live.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from kitaru._leases import heartbeat_seconds, new_runner_id
from kitaru._types import ExecutionStatus, new_id, utcnow
from kitaru.artifacts.base import ArtifactStore
from kitaru.artifacts.values import make_artifact
from kitaru.errors import (
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
from kitaru.runtime.signals import ExecutionCancelled, RunnerReleased
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
    """How a run of an execution ended, as seen by the process that ran it."""

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


@dataclass(frozen=True, slots=True)
class RunSettings:
    """How one runner runs an execution."""

    cache: bool = False
    """The flow's resolved cache setting (a checkpoint's own setting wins over it)."""
    cache_allowed: bool = True
    """``False`` in a replay: calls from the frontier on run live, even with ``cache=True``."""
    retries: int = 0
    runner_id: str = ""
    claimed: bool = False
    """The caller already claimed the execution for ``runner_id`` (a continuation)."""
    overrides: dict[str, Any] = field(default_factory=dict)
    interactive: bool = True
    log_sink: Callable[[MetadataStore, str], Any] | None = None
    journal: Sequence[CallRecord] | None = None
    """The journal the caller has just written for a new execution, outputs filled: the first
    run uses it instead of reading it back from the store. A replay passes the calls it reused
    as recorded in its source (their copies here have ids ``copied_call_id(exec_id, call_id)``
    and no attempts; the run translates them)."""


def _run_once(
    exec_id: str,
    target: FlowEntry,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    *,
    store: MetadataStore,
    artifacts: ArtifactStore,
    settings: RunSettings,
    claimed: bool,
    journal: Sequence[CallRecord] | None,
) -> tuple[Any, BaseException | None, ExecutionContext]:
    if claimed:
        record = store.get_execution(exec_id)
    else:
        record = store.start_execution(exec_id, runner_id=settings.runner_id)
    ctx = ExecutionContext.from_journal(
        store.load_journal(exec_id) if journal is None else journal,
        exec_id=exec_id,
        flow_name=target.name,
        store=store,
        artifacts=artifacts,
        cache_enabled=settings.cache,
        runner_id=settings.runner_id,
    )
    ctx.overrides = dict(settings.overrides)
    ctx.interactive = settings.interactive
    ctx.cache_allowed = settings.cache_allowed
    if settings.log_sink is not None:
        ctx.logs = settings.log_sink(store, exec_id)
    if record.cancel_requested:
        ctx.cancel_event.set()
    register_running(ctx)
    heartbeat = Heartbeat(ctx, heartbeat_seconds()).start()
    token = enter_execution(ctx)
    try:
        if ctx.cancel_event.is_set():
            raise ExecutionCancelled(exec_id)
        value = _run_body(target, args, kwargs)
    except BaseException as exc:
        return None, ctx.divergence or exc, ctx
    finally:
        exit_execution(token)
        ctx.shutdown_pool()
        heartbeat.stop()
        unregister_running(ctx)
        if ctx.logs is not None:
            ctx.logs.close()
    if ctx.divergence is not None:
        return None, ctx.divergence, ctx
    return value, None, ctx


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
    settings = settings or RunSettings()
    if not settings.runner_id:
        settings = replace(settings, runner_id=new_runner_id())
    outcome = outcome or Outcome(status=ExecutionStatus.RUNNING)
    try:
        for run_number in range(settings.retries + 1):
            value, error, ctx = _run_once(
                exec_id,
                target,
                args,
                kwargs,
                store=store,
                artifacts=artifacts,
                settings=settings,
                claimed=settings.claimed and run_number == 0,
                journal=settings.journal if run_number == 0 else None,
            )
            if isinstance(error, RunnerReleased):
                outcome.status = ExecutionStatus.WAITING
                return outcome
            if error is None:
                try:
                    result = make_artifact(
                        artifacts, serialize(value), exec_id=exec_id, name="result", kind="result"
                    )
                except KitaruUsageError as exc:
                    error = KitaruUsageError(
                        f"Flow {target.name!r} returned a value that cannot be stored: {exc}"
                    )
                    error.__cause__ = exc
                else:
                    store.finish_execution(exec_id, ExecutionStatus.COMPLETED, result=result)
                    outcome.status, outcome.value = ExecutionStatus.COMPLETED, value
                    return outcome
            if _is_cancel(error, ctx):
                failure = _cancel_failure(error, ctx)
                store.finish_execution(exec_id, ExecutionStatus.CANCELLED, failure=failure)
                outcome.status, outcome.error, outcome.failure = ExecutionStatus.CANCELLED, error, failure
                return outcome
            retry = (
                run_number < settings.retries
                and isinstance(error, Exception)
                and not isinstance(error, KitaruDivergenceError | KitaruUsageError)
            )
            if not retry:
                failure = failure_from(error)
                store.finish_execution(exec_id, ExecutionStatus.FAILED, failure=failure)
                outcome.status, outcome.error, outcome.failure = ExecutionStatus.FAILED, error, failure
                return outcome
            store.merge_execution_metadata(
                exec_id, {"kitaru": {"flow_retries": {str(run_number + 1): failure_from(error)["message"]}}}
            )
        raise AssertionError("unreachable")  # pragma: no cover
    except BaseException as exc:  # the store itself failed: report, never hang the handle
        if outcome.status is ExecutionStatus.RUNNING:
            outcome.status, outcome.error = ExecutionStatus.FAILED, exc
        return outcome
    finally:
        outcome.done.set()
