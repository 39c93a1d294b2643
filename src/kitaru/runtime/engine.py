"""Start and continue executions: run the body, reuse the journal, finish.

:func:`run_in_place` is the one entry point that (re-)runs an existing
execution under its own exec id: the first run, flow-level retries, and
later continuation after a failure all go through it. Completed durable calls
are reused from the journal; the first call without a record runs live.
"""

from __future__ import annotations

import inspect
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kitaru._types import ExecutionStatus, new_id, utcnow
from kitaru._values import make_artifact
from kitaru.artifacts.base import ArtifactStore
from kitaru.errors import KitaruDivergenceError, KitaruUsageError
from kitaru.runtime.context import ExecutionContext, enter_execution, exit_execution
from kitaru.runtime.failures import failure_from
from kitaru.serde import serialize
from kitaru.store.base import ExecutionRecord, MetadataStore

__all__ = ["FlowTarget", "Outcome", "create_execution", "run_in_place", "runner_id", "source_reference"]


@dataclass(eq=False)
class FlowTarget:
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
    done: threading.Event = field(default_factory=threading.Event)


def runner_id() -> str:
    """Identify this runner: host, process and thread."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def source_reference(func: Callable[..., Any]) -> dict[str, Any]:
    """Record how another process can import ``func``: module and qualname, and the
    file path for scripts run as ``__main__``."""
    ref: dict[str, Any] = {"module": func.__module__, "qualname": func.__qualname__}
    try:
        ref["path"] = inspect.getsourcefile(func)
    except TypeError:
        ref["path"] = None
    return ref


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
) -> str:
    """Create a ``pending`` execution with its inputs artifact and return its exec id.

    Inputs that cannot be serialized are not stored (the execution can then only
    continue in this process); the spec says so.
    """
    exec_id = new_id()
    inputs = None
    try:
        serialized = serialize({"args": list(args), "kwargs": kwargs})
    except KitaruUsageError as exc:
        spec = {**spec, "inputs_stored": False, "inputs_error": str(exc)}
    else:
        inputs = make_artifact(artifacts, serialized, exec_id=exec_id, name="inputs", kind="input")
        spec = {**spec, "inputs_stored": True}
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
        inputs_artifact_id=inputs.artifact_id if inputs is not None else None,
    )
    store.create_execution(record, inputs=inputs)
    return exec_id


def _run_body(target: FlowTarget, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if target.is_async:
        import asyncio

        return asyncio.run(target.func(*args, **kwargs))
    return target.func(*args, **kwargs)


def _run_once(
    exec_id: str,
    target: FlowTarget,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    *,
    store: MetadataStore,
    artifacts: ArtifactStore,
    cache: bool,
) -> tuple[Any, BaseException | None]:
    me = runner_id()
    store.start_execution(exec_id, runner_id=me)
    ctx = ExecutionContext.from_journal(
        store.load_journal(exec_id),
        exec_id=exec_id,
        flow_name=target.name,
        store=store,
        artifacts=artifacts,
        cache_enabled=cache,
        runner_id=me,
    )
    token = enter_execution(ctx)
    try:
        value = _run_body(target, args, kwargs)
    except BaseException as exc:
        return None, ctx.divergence or exc
    finally:
        exit_execution(token)
        ctx.shutdown_pool()
    if ctx.divergence is not None:
        return None, ctx.divergence
    return value, None


def run_in_place(
    exec_id: str,
    target: FlowTarget,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    *,
    store: MetadataStore,
    artifacts: ArtifactStore,
    cache: bool = True,
    retries: int = 0,
    outcome: Outcome | None = None,
) -> Outcome:
    """Run (or re-run) execution ``exec_id`` in this thread until it ends.

    The body re-runs from the top; completed durable calls return their recorded
    outputs. A failure re-runs the body up to ``retries`` more times. The result
    is stored as the execution's result artifact.
    """
    outcome = outcome or Outcome(status=ExecutionStatus.RUNNING)
    try:
        for run_number in range(retries + 1):
            value, error = _run_once(
                exec_id, target, args, kwargs, store=store, artifacts=artifacts, cache=cache
            )
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
            retry = (
                run_number < retries
                and isinstance(error, Exception)
                and not isinstance(error, KitaruDivergenceError | KitaruUsageError)
            )
            if not retry:
                store.finish_execution(exec_id, ExecutionStatus.FAILED, failure=failure_from(error))
                outcome.status, outcome.error = ExecutionStatus.FAILED, error
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
