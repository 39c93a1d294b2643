"""Durable waits for human (or any outside) input.

A wait is a durable call of kind ``wait``. While it is pending its call is
``running`` and the execution ``waiting``; the runner polls cheaply for the
answer up to ``timeout`` seconds, then releases its thread (the execution stays
``waiting``). An answer given later continues the execution elsewhere.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from typing import Any

from kitaru._types import CallKind, CallStatus, ExecutionStatus, new_id, utcnow
from kitaru.artifacts.values import load_value, make_artifact
from kitaru.errors import KitaruUsageError, KitaruWaitAbortedError
from kitaru.records import AttemptRecord, CallRecord
from kitaru.runtime.calls import CallEntry, assign_slot
from kitaru.runtime.context import ExecutionContext
from kitaru.runtime.signals import ExecutionCancelled, RunnerReleased
from kitaru.serde import serialize

__all__ = ["WaitSpec", "record_answer", "wait_for_input"]

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


def _answer(ctx: ExecutionContext, record: CallRecord, adapter: Any) -> Any:
    info = record.metadata.get("wait", {})
    if info.get("aborted"):
        raise KitaruWaitAbortedError(
            f"Wait {record.invocation_id!r} of execution {ctx.exec_id} was aborted.",
            exec_id=ctx.exec_id,
            status=ExecutionStatus.CANCELLED,
            failure_origin="cancelled",
        )
    value = load_value(ctx.artifacts, record.output) if record.output is not None else None
    if adapter is None:
        return None
    return adapter.validate_python(value)


def _prompt(ctx: ExecutionContext, spec: WaitSpec, adapter: Any, json_schema: Any) -> tuple[bool, Any]:
    """Ask in the terminal; return (aborted, JSON value)."""
    out = sys.__stdout__ or sys.stdout
    print(f"\n[kitaru] execution {ctx.exec_id} waits for input at {spec.name!r}", file=out)
    if spec.question:
        print(f"  {spec.question}", file=out)
    if json_schema is not None:
        print(f"  schema: {json.dumps(json_schema)}", file=out)
    hint = "press Enter to continue" if adapter is None else "enter a JSON value"
    while True:
        raw = input(f"  ({hint}, or 'abort') > ").strip()
        if raw == "abort":
            return True, None
        if adapter is None:
            return False, None
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw  # plain text is taken as a string
        try:
            adapter.validate_python(value)
        except Exception as exc:
            print(f"  invalid: {exc}", file=out)
            continue
        return False, value


def _interactive(ctx: ExecutionContext) -> bool:
    try:
        return ctx.interactive and sys.stdin.isatty() and sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def wait_for_input(ctx: ExecutionContext, spec: WaitSpec) -> Any:
    """Run one ``wait()`` of the flow body and return the (validated) input."""
    adapter = spec.adapter()
    json_schema = adapter.json_schema() if adapter is not None else None
    slot = assign_slot(ctx, _target(spec.name), None)
    recorded = slot.recorded
    if recorded is not None and recorded.status.is_done:
        return _answer(ctx, recorded, adapter)
    store = ctx.store
    call_id = recorded.call_id if recorded is not None and recorded.kind is CallKind.WAIT else new_id()
    if recorded is None or recorded.status is not CallStatus.RUNNING:
        now = utcnow()
        info = {
            "name": slot.invocation_id,
            "question": spec.question,
            "schema": json_schema,
            "metadata": spec.metadata,
            "timeout": spec.timeout,
        }
        call = CallRecord(
            call_id=call_id,
            exec_id=ctx.exec_id,
            invocation_id=slot.invocation_id,
            seq=slot.seq,
            name=spec.name,
            kind=CallKind.WAIT,
            status=CallStatus.RUNNING,
            started_at=now,
            metadata={"wait": info},
        )
        attempts = recorded.attempt_count if recorded is not None else 0
        store.begin_attempt(call, AttemptRecord(new_id(), call_id, attempts + 1, CallStatus.RUNNING, now))
        store.merge_call_metadata(call_id, {"wait": info})
    if _interactive(ctx):
        aborted, value = _prompt(ctx, spec, adapter, json_schema)
        record_answer(ctx, call_id, value=value, aborted=aborted)
    else:
        _poll(ctx, call_id, spec)
    answered = next(c for c in store.load_journal(ctx.exec_id) if c.call_id == call_id)
    return _answer(ctx, answered, adapter)


def record_answer(ctx: ExecutionContext, call_id: str, *, value: Any, aborted: bool) -> bool:
    """Store the answer of a pending wait (the runner's own terminal prompt)."""
    output = None
    if not aborted:
        output = make_artifact(
            ctx.artifacts, serialize(value), exec_id=ctx.exec_id, name="input", kind="input", call_id=call_id
        )
    patch = {"wait": {"aborted": aborted, "answered_by": "terminal"}}
    return ctx.store.resolve_wait(call_id, output=output, metadata=patch, ended_at=utcnow())


def _pending(ctx: ExecutionContext, call_id: str) -> bool:
    return any(c.call_id == call_id for c in ctx.store.list_pending_waits(ctx.exec_id))


def _poll(ctx: ExecutionContext, call_id: str, spec: WaitSpec) -> None:
    store, me = ctx.store, ctx.runner_id
    store.set_execution_status(
        ctx.exec_id, ExecutionStatus.WAITING, expected={ExecutionStatus.RUNNING}, runner_id=me
    )
    start = time.monotonic()
    deadline = start + spec.timeout
    while _pending(ctx, call_id):
        if ctx.cancel_event.is_set():
            raise ExecutionCancelled(ctx.exec_id)
        now = time.monotonic()
        if now >= deadline:
            store.set_execution_status(
                ctx.exec_id,
                ExecutionStatus.WAITING,
                expected={ExecutionStatus.WAITING},
                runner_id=me,
                release=True,
            )
            # An answer may have arrived just before the release: take the execution back then.
            if _pending(ctx, call_id):
                raise RunnerReleased(ctx.exec_id, spec.name)
            claimed = store.claim_execution(
                ctx.exec_id, runner_id=me, expected={ExecutionStatus.WAITING}, expected_runner=None
            )
            if claimed is None:
                raise RunnerReleased(ctx.exec_id, spec.name)  # another process continues it
            return
        interval = _POLL_FAST if now - start < _FAST_FOR else _POLL_SLOW
        ctx.cancel_event.wait(min(interval, max(0.0, deadline - now)))
    if not store.set_execution_status(
        ctx.exec_id, ExecutionStatus.RUNNING, expected={ExecutionStatus.WAITING}, runner_id=me
    ):
        raise ExecutionCancelled(ctx.exec_id)
