"""Durable waits for human (or any outside) input.

A wait is a durable call of kind ``wait``. While it is pending its call is
``running`` and the execution ``waiting`` (both written in one transaction by
the store's ``begin_wait``); the runner prompts in its terminal, or polls
cheaply for the answer up to ``timeout`` seconds and then releases its thread
(the execution stays ``waiting``). An answer given later continues the
execution elsewhere. Answers are checked and stored by :mod:`kitaru._answers`,
as every other surface's are: with the wait's own type, which the request
records (:func:`kitaru.serde.describe_type`) so that another process can
rebuild it.

An answer that was recorded but that the flow's type refuses when it takes it
(only its JSON schema could be checked where it was given, or the code changed
since) does not fail the execution: the wait is entered again, says why in its
request (``rejected``) and in the execution's logs, and asks anew.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from typing import Any

from kitaru._answers import describe_validation_error, parse_answer_text, record_answer
from kitaru._types import CallKind, CallStatus, ExecutionStatus, FailureOrigin, copied_call_id, new_id, utcnow
from kitaru.artifacts.values import load_value
from kitaru.errors import KitaruUsageError, KitaruWaitAbortedError, KitaruWaitValidationError
from kitaru.records import ANSWERED_BY_TERMINAL, AttemptRecord, CallRecord, WaitAnswer, WaitRequest
from kitaru.runtime.calls import CallEntry, assign_slot
from kitaru.runtime.context import ExecutionContext
from kitaru.runtime.signals import ExecutionCancelled, RunnerReleased
from kitaru.serde import describe_type

__all__ = ["WaitSpec", "typed_answer", "wait_for_input"]

_POLL_FAST = 0.02
_POLL_SLOW = 0.25
_FAST_FOR = 30.0


@dataclass(frozen=True, slots=True)
class WaitSpec:
    """What a ``wait()`` asks for."""

    name: str
    schema: Any
    question: str | None
    timeout: float
    metadata: dict[str, Any]

    def adapter(self) -> Any:
        """The pydantic adapter of the schema, or ``None`` for a continue/abort gate."""
        if self.schema is None:
            return None
        from pydantic import TypeAdapter

        try:
            return TypeAdapter(self.schema)
        except Exception as exc:
            raise KitaruUsageError(
                f"wait({self.name!r}): schema {self.schema!r} is not usable: {exc}"
            ) from exc


def _target(name: str) -> CallEntry:
    return CallEntry(
        name=name,
        identity=f"wait:{name}",
        entrypoint=lambda *_: None,
        is_async=False,
        type=None,
        retry=None,
        source_hash=lambda: "",
        kind=CallKind.WAIT,
    )


def typed_answer(adapter: Any, value: Any, *, wait_name: str) -> Any:
    """Return the answer ``value`` (a JSON value that matched the wait's schema) as the
    wait's Python type; ``None`` for a gate.

    Raises:
        KitaruWaitValidationError: the type's own validators reject the value.
    """
    if adapter is None:
        return None
    try:
        return adapter.validate_python(value)
    except Exception as exc:
        raise KitaruWaitValidationError(
            f"Input for wait {wait_name!r} is not valid for its type: {describe_validation_error(exc)}"
        ) from None


def _answer(ctx: ExecutionContext, record: CallRecord, adapter: Any) -> Any:
    answer = WaitAnswer.from_metadata(record.metadata, output_artifact_id=record.output_artifact_id)
    if answer is not None and answer.aborted:
        raise KitaruWaitAbortedError(
            f"Wait {record.invocation_id!r} of execution {ctx.exec_id} was aborted.",
            exec_id=ctx.exec_id,
            status=ExecutionStatus.CANCELLED,
            failure_origin=FailureOrigin.CANCELLED,
        )
    value = (
        load_value(ctx.artifacts, record.output, shared_store=ctx.store.shared, script=ctx.script)
        if record.output is not None
        else None
    )
    return typed_answer(adapter, value, wait_name=record.invocation_id)


def _prompt(ctx: ExecutionContext, request: WaitRequest, adapter: Any) -> tuple[bool, Any]:
    """Ask in the terminal until the answer is valid; return (aborted, JSON value)."""
    out = sys.__stdout__ or sys.stdout
    print(f"\n[kitaru] execution {ctx.exec_id} waits for input at {request.name!r}", file=out)
    if request.question:
        print(f"  {request.question}", file=out)
    if request.rejected:
        print(f"  asked again: {request.rejected}", file=out)
    if request.schema is not None:
        print(f"  schema: {json.dumps(request.schema)}", file=out)
    hint = "press Enter to continue" if adapter is None else "enter a JSON value"
    while True:
        raw = _read_line(ctx, f"  ({hint}, or 'abort') > ", out).strip()
        if raw == "abort":
            return True, None
        try:
            value = parse_answer_text(raw, request.schema, wait_name=request.name)
            typed_answer(adapter, value, wait_name=request.name)
        except KitaruWaitValidationError as exc:
            print(f"  invalid: {exc}", file=out)
            continue
        return False, value


def _read_line(ctx: ExecutionContext, prompt: str, out: Any) -> str:
    """Read one line from the terminal, giving up when the execution is cancelled meanwhile."""
    print(prompt, end="", file=out, flush=True)
    stdin = sys.stdin
    try:
        import select

        while not select.select([stdin], [], [], _POLL_SLOW)[0]:
            if ctx.cancel_event.is_set():
                print(file=out, flush=True)
                raise ExecutionCancelled(ctx.exec_id)
    except (OSError, ValueError, TypeError):  # no select() on this stream: just read
        pass
    line = stdin.readline()
    if not line:
        raise EOFError(f"the terminal closed while wait {ctx.exec_id} asked for input")
    return line.rstrip("\n")


def _interactive(ctx: ExecutionContext) -> bool:
    try:
        return ctx.interactive and sys.stdin.isatty() and sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def _left(ctx: ExecutionContext, wait_name: str) -> BaseException:
    """Why the runner may not enter or leave a wait: cancelled, or another runner holds it."""
    record = ctx.store.get_execution(ctx.exec_id)
    if record.cancel_requested or record.status is ExecutionStatus.CANCELLED or ctx.cancel_event.is_set():
        return ExecutionCancelled(ctx.exec_id)
    return RunnerReleased(ctx.exec_id, wait_name)


def wait_for_input(ctx: ExecutionContext, spec: WaitSpec) -> Any:
    """Run one ``wait()`` of the flow body and return the (validated) input.

    A recorded answer that the wait's type refuses enters the wait again, so it asks anew.
    """
    adapter = spec.adapter()
    slot = assign_slot(ctx, _target(spec.name), None)
    recorded = slot.recorded
    rejected = None
    if recorded is not None and recorded.status.is_done:
        try:
            return _answer(ctx, recorded, adapter)
        except KitaruWaitValidationError as exc:
            rejected = _reject(ctx, recorded, exc)
    while True:
        answered = _ask(ctx, spec, slot.invocation_id, slot.seq, adapter, recorded, rejected)
        try:
            return _answer(ctx, answered, adapter)
        except KitaruWaitValidationError as exc:
            recorded, rejected = answered, _reject(ctx, answered, exc)


def _reject(ctx: ExecutionContext, answered: CallRecord, error: KitaruWaitValidationError) -> str:
    """Say (in the execution's logs) that a recorded answer is refused and the wait asks again."""
    reason = f"the answer recorded before was refused by the wait's type: {error}"
    if ctx.logs is not None:
        ctx.logs.emit(
            "kitaru",
            "WARNING",
            f"Wait {answered.invocation_id!r} asks again: {reason}. Answer it with "
            f"`kitaru executions input {ctx.exec_id} --value JSON`.",
            invocation_id=answered.invocation_id,
        )
    return reason


def _ask(
    ctx: ExecutionContext,
    spec: WaitSpec,
    invocation_id: str,
    seq: int,
    adapter: Any,
    recorded: CallRecord | None,
    rejected: str | None,
) -> CallRecord:
    """Enter the wait (pending, execution ``waiting``), get it answered, return the answered call."""
    if ctx.cancel_event.is_set():
        raise ExecutionCancelled(ctx.exec_id)
    store, writes = ctx.store, ctx.writes
    reused = recorded if recorded is not None and recorded.kind is CallKind.WAIT else None
    pending = reused is not None and reused.status is CallStatus.RUNNING
    request = WaitRequest(
        name=invocation_id,
        question=spec.question,
        schema=adapter.json_schema() if adapter is not None else None,
        metadata=spec.metadata,
        timeout=spec.timeout,
        type=describe_type(spec.schema) if adapter is not None else None,
        rejected=rejected,
    )
    now = utcnow()
    call_id = new_id()
    if reused is not None:
        # A call a replay reused from its source execution has a derived id here.
        same = reused.exec_id == ctx.exec_id
        call_id = reused.call_id if same else copied_call_id(ctx.exec_id, reused.call_id)
    call = CallRecord(
        call_id=call_id,
        exec_id=ctx.exec_id,
        invocation_id=invocation_id,
        seq=seq,
        name=spec.name,
        kind=CallKind.WAIT,
        status=CallStatus.RUNNING,
        started_at=reused.started_at if pending and reused is not None else now,
        metadata=request.to_metadata(),
    )
    attempt = None
    if not pending:
        number = (recorded.attempt_count if recorded is not None else 0) + 1
        attempt = AttemptRecord(new_id(), call.call_id, number, CallStatus.RUNNING, now)
    if ctx.logs is not None:  # what was written before the wait is stored once it is seen waiting
        ctx.logs.flush(partial=False)
    # One transaction: the pending wait and the execution's `waiting` status.
    if not writes.begin_wait(call, attempt):
        raise _left(ctx, spec.name)
    if _interactive(ctx):
        aborted, value = _prompt(ctx, request, adapter)
        # False when another surface answered first: its answer is the one read below.
        record_answer(
            store,
            ctx.artifacts,
            call,
            value=value,
            aborted=aborted,
            answered_by=ANSWERED_BY_TERMINAL,
            adapter=adapter,
        )
        _resume_running(ctx, spec.name)
    else:
        _poll(ctx, call.call_id, spec)
    journal = writes.read("read its answer", lambda: store.load_journal(ctx.exec_id))
    return next(c for c in journal if c.call_id == call.call_id)


def _pending(ctx: ExecutionContext, call_id: str) -> bool:
    waits = ctx.writes.read("polled for input", lambda: ctx.store.list_pending_waits(ctx.exec_id))
    return any(c.call_id == call_id for c in waits)


def _resume_running(ctx: ExecutionContext, wait_name: str) -> None:
    """The wait was answered: this runner takes the execution from ``waiting`` back to ``running``."""
    if not ctx.writes.set_status(ExecutionStatus.RUNNING, expected={ExecutionStatus.WAITING}):
        raise _left(ctx, wait_name)


def _poll(ctx: ExecutionContext, call_id: str, spec: WaitSpec) -> None:
    writes = ctx.writes
    start = time.monotonic()
    deadline = start + spec.timeout
    while _pending(ctx, call_id):
        if writes.stopped is not None:  # fenced off while it waited (the heartbeat found out)
            raise writes.stopped
        if ctx.cancel_event.is_set():
            raise ExecutionCancelled(ctx.exec_id)
        now = time.monotonic()
        if now >= deadline:
            writes.set_status(ExecutionStatus.WAITING, expected={ExecutionStatus.WAITING}, release=True)
            # An answer may have arrived just before the release: take the execution back then.
            if _pending(ctx, call_id):
                raise RunnerReleased(ctx.exec_id, spec.name)
            claimed = writes.claim({ExecutionStatus.WAITING})
            if claimed is None:
                raise RunnerReleased(ctx.exec_id, spec.name)  # another process continues it
            return
        interval = _POLL_FAST if now - start < _FAST_FOR else _POLL_SLOW
        ctx.cancel_event.wait(min(interval, max(0.0, deadline - now)))
    _resume_running(ctx, spec.name)
