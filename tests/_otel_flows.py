"""A flow with an isolated checkpoint that opens a span of its own, for the OpenTelemetry tests:
module-level, so the isolated process imports it by its source reference
(``tests._otel_flows``)."""

from __future__ import annotations

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from kitaru import checkpoint, flow


@checkpoint(runtime="isolated")
def traced_elsewhere() -> dict[str, int | None]:
    """Open a span in the isolated process (with a provider of that process) and say where it sits."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("user-code").start_as_current_span("in the isolated process"):
        pass
    [span] = exporter.get_finished_spans()
    assert span.context is not None
    return {
        "trace_id": span.context.trace_id,
        "parent": span.parent.span_id if span.parent is not None else None,
    }


@flow
def isolated_trace() -> dict[str, int | None]:
    """One isolated call."""
    return traced_elsewhere()
