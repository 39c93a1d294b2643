"""Where the runtime opens trace spans: one per run of a flow body, one per checkpoint call.

The runtime sees tracing only through the two small protocols below, :class:`Tracer`
and :class:`Span`; :mod:`kitaru.otel` implements them with OpenTelemetry, and
nothing in the runtime imports OpenTelemetry. :func:`tracer` asks for one only when
OpenTelemetry was imported in this process (configuring a tracer provider imports it),
so without it a run of a flow body pays one dictionary lookup, and a checkpoint call
one ``is None`` test.

Example:
    >>> from kitaru.runtime.tracing import tracer
    >>> tracer() is None  # no OpenTelemetry tracer provider configured
    True
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from kitaru.records import ExecutionRecord
    from kitaru.runtime.calls import DurableCall

__all__ = [
    "TRACE_CONTEXT_KEY",
    "Attributes",
    "Span",
    "Tracer",
    "capture",
    "with_trace_context",
    "queued_parent",
    "end_call_span",
    "end_execution_span",
    "start_call_span",
    "start_execution_span",
    "tracer",
]

#: The key of a queued execution's spec that carries the trace context of where it was queued.
TRACE_CONTEXT_KEY = "trace_context"

#: Span attributes as the runtime gives them (``None`` values are left out).
Attributes = Mapping[str, str | bool | int | float | None]


class Span(Protocol):
    """An open span."""

    def set_attributes(self, attributes: Attributes) -> None:
        """Set attributes (``None`` values are skipped)."""
        ...

    def rename(self, name: str) -> None:
        """Give the span a better name once it is known (a model call's model)."""
        ...

    def add_failure(self, error: BaseException, attributes: Attributes) -> None:
        """Record a failure that did not end the span (an attempt that is retried) as an
        exception event."""
        ...

    def end(self, error: BaseException | None = None) -> None:
        """End the span; with ``error``, its status is an error and the exception is recorded
        (once: not again when :meth:`add_failure` recorded it already)."""
        ...

    def activate(self) -> Any:
        """Make the span current in this context (spans opened now nest under it); the token
        goes to :meth:`deactivate`."""
        ...

    def deactivate(self, token: Any) -> None:
        """Undo :meth:`activate`."""
        ...

    def carrier(self) -> dict[str, str]:
        """The span's trace context as text headers (``traceparent``), for another process."""
        ...


class Tracer(Protocol):
    """Opens spans."""

    def start_span(
        self,
        name: str,
        attributes: Attributes,
        *,
        client: bool = False,
        parent: Any = None,
        link: Mapping[str, str] | None = None,
    ) -> Span:
        """Open a span under ``parent`` (a context from :meth:`capture` or :meth:`extract`;
        ``None``: the current span), linked to the span of the ``link`` carrier if given.
        ``client``: a call to a remote service (a model provider)."""
        ...

    def capture(self) -> Any:
        """The current trace context, to open spans under it in another thread."""
        ...

    def inject(self) -> dict[str, str]:
        """The current trace context as text headers (``traceparent``), for another process."""
        ...

    def extract(self, carrier: Mapping[str, str]) -> Any:
        """The trace context of text headers made by :meth:`inject` or a span's ``carrier()``."""
        ...


def tracer() -> Tracer | None:
    """The tracer of the configured OpenTelemetry tracer provider, or ``None`` when there is none."""
    if "opentelemetry.trace" not in sys.modules:  # nobody configured a provider: no spans
        return None
    from kitaru import otel

    return otel.tracer()


def capture() -> Any:
    """The current trace context when spans are exported (``None`` otherwise): a run started
    in another thread opens its spans under it."""
    found = tracer()
    return None if found is None else found.capture()


def with_trace_context(spec: dict[str, Any]) -> dict[str, Any]:
    """``spec`` with the current trace context (under :data:`TRACE_CONTEXT_KEY`) when spans are
    exported and a span is current: what a queued execution carries to the process that runs it."""
    found = tracer()
    carrier = None if found is None else found.inject()
    return {**spec, TRACE_CONTEXT_KEY: carrier} if carrier else spec


def queued_parent(tracer: Tracer, record: ExecutionRecord) -> tuple[Any, Mapping[str, str] | None]:
    """Where the span of a run of a queued execution goes: under the span that was current where
    it was queued (its first run), or in a trace of its own linked to that span (later runs:
    a resume, a retry, a recovery). ``(parent, link)``; both ``None`` when nothing was carried."""
    carrier = record.spec.get(TRACE_CONTEXT_KEY)
    if not isinstance(carrier, dict) or not carrier:
        return None, None
    if record.run_count <= 1:
        return tracer.extract(carrier), None
    return tracer.extract({}), carrier  # an empty context: a trace of its own


def start_execution_span(
    tracer: Tracer, record: ExecutionRecord, flow_name: str, *, parent: Any = None
) -> Span:
    """Open the span of one run of an execution's flow body: under ``parent`` (where the run was
    started) when given, else as :func:`queued_parent` says, else under the current span."""
    link = None
    if parent is None:
        parent, link = queued_parent(tracer, record)
    return tracer.start_span(
        f"flow {flow_name}",
        {
            "kitaru.exec_id": record.exec_id,
            "kitaru.flow": flow_name,
            "kitaru.run_count": record.run_count,
            "kitaru.original_exec_id": record.original_exec_id,
        },
        parent=parent,
        link=link,
    )


def end_execution_span(span: Span, status: str, error: BaseException | None, *, retried: bool) -> None:
    """End a run's span with how the run ended (``completed``, ``failed``, ``cancelled``, or
    ``waiting`` when this runner left the execution); a failure is the span's error."""
    span.set_attributes({"kitaru.status": status, "kitaru.flow_retry": retried or None})
    span.end(error if status == "failed" else None)


def start_call_span(tracer: Tracer, call: DurableCall) -> Span:
    """Open the span of a checkpoint call (or of a flow-level model call, a durable call too)."""
    target, slot, ctx = call.target, call.slot, call.ctx
    kind = target.kind.value
    name = f"checkpoint {target.name}" if kind == "checkpoint" else f"{kind}_call {slot.invocation_id}"
    isolated = ctx.isolated if target.isolated is not None else None
    reason = call.rerun_reason
    return tracer.start_span(
        name,
        {
            "kitaru.exec_id": ctx.exec_id,
            "kitaru.checkpoint": target.name,
            "kitaru.invocation_id": slot.invocation_id,
            "kitaru.call_id": call.call_id,
            "kitaru.seq": slot.seq,
            "kitaru.call_kind": kind,
            "kitaru.checkpoint_type": target.type,
            "kitaru.isolated": None if isolated is None else getattr(isolated, "name", "isolated"),
            "kitaru.rerun_reason": None if reason is None else reason.get("rerun_reason"),
        },
    )


def end_call_span(span: Span, call: DurableCall, error: BaseException | None, *, first_attempt: int) -> None:
    """End a call's span: its status, the attempts it made, where a reused value came from."""
    if error is None:
        if call.is_reused:
            status = "reused"
        elif call.was_pinned:
            status = "pinned"
        elif call.cached_from is not None:
            status = "cached"
        else:
            status = "completed"
    elif call.ctx.cancel_event.is_set() or not isinstance(error, Exception):
        status = "stopped"  # cancelled, or the runner had to stop: not the code's failure
    else:
        status = "failed"
    made = call.attempts_done - first_attempt
    span.set_attributes(
        {
            "kitaru.status": status,
            "kitaru.reused": call.is_reused,
            "kitaru.cached": call.cached_from is not None,
            "kitaru.cached_from_exec_id": call.cached_from,
            "kitaru.attempts": made,
            "kitaru.attempt": call.attempts_done if made else None,
        }
    )
    span.end(error if status == "failed" else None)
