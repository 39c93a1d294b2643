"""OpenTelemetry traces of executions, checkpoint calls and model calls (extra ``otel``).

When an OpenTelemetry SDK tracer provider is configured, each run of a flow body is a
span (``flow <name>``), each checkpoint call a child span (``checkpoint <name>``), and
each ``kitaru.llm()`` call a GenAI client span (``chat <model>``) with the GenAI
semantic conventions' attributes. A checkpoint call's span is the current span while
its code runs, so spans the code opens nest under it (in ``.submit()`` threads and
isolated processes too). Without a configured provider nothing is recorded and
OpenTelemetry is not even imported.

By default Kitaru uses the global tracer provider
(``opentelemetry.trace.set_tracer_provider``); :func:`set_tracer_provider` gives it one
of its own instead. This is the only module of Kitaru that imports OpenTelemetry.

Example:
    >>> from opentelemetry import trace  # doctest: +SKIP
    >>> from opentelemetry.sdk.trace import TracerProvider  # doctest: +SKIP
    >>> from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter  # doctest: +SKIP
    >>> provider = TracerProvider()  # doctest: +SKIP
    >>> provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))  # doctest: +SKIP
    >>> trace.set_tracer_provider(provider)  # doctest: +SKIP
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from kitaru.errors import KitaruFeatureNotAvailableError, KitaruUsageError

__all__ = ["attached", "set_tracer_provider", "tracer"]

_INSTRUMENTATION = "kitaru"
_lock = threading.Lock()
_own_provider: Any = None  # given by set_tracer_provider(); None: the global one
_cached: tuple[Any, _Tracer] | None = None  # (provider, its tracer)


def _trace() -> Any:
    try:
        from opentelemetry import trace
    except ImportError as exc:  # pragma: no cover - the extra is missing
        raise KitaruFeatureNotAvailableError(
            f"OpenTelemetry traces need the OpenTelemetry API ({exc.name} is not installed): "
            "pip install 'kitaru[otel]'"
        ) from exc
    return trace


def set_tracer_provider(provider: Any) -> None:
    """Export Kitaru's spans through ``provider`` instead of the global tracer provider.

    ``None`` goes back to the global one. A ``NoOpTracerProvider`` turns Kitaru's spans
    off while the rest of the program keeps tracing. Takes effect for runs of flow bodies
    that start afterwards.

    Example:
        >>> from opentelemetry.sdk.trace import TracerProvider  # doctest: +SKIP
        >>> kitaru.otel.set_tracer_provider(TracerProvider())  # doctest: +SKIP
    """
    global _own_provider
    if provider is not None and not callable(getattr(provider, "get_tracer", None)):
        raise KitaruUsageError(
            f"set_tracer_provider() takes an OpenTelemetry TracerProvider (or None for the global "
            f"one), got {provider!r}."
        )
    _trace()
    with _lock:
        _own_provider = provider


def tracer() -> _Tracer | None:
    """The tracer Kitaru's spans go to, or ``None`` when no tracer provider is configured
    (the global one is still OpenTelemetry's default proxy, or a no-op provider)."""
    global _cached
    trace = _trace()
    provider = _own_provider
    if provider is None:
        provider = trace.get_tracer_provider()
    if isinstance(provider, trace.ProxyTracerProvider | trace.NoOpTracerProvider):
        return None
    cached = _cached
    if cached is not None and cached[0] is provider:
        return cached[1]
    found = _Tracer(provider.get_tracer(_INSTRUMENTATION))
    with _lock:
        _cached = (provider, found)
    return found


def _clean(attributes: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in attributes.items() if v is not None}


def _type_path(error: BaseException) -> str:
    cls = type(error)
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


class _Span:
    """A span of the OpenTelemetry API, as the runtime's tracing hooks use it."""

    __slots__ = ("_recorded", "span")

    def __init__(self, span: Any) -> None:
        self.span = span
        self._recorded: BaseException | None = None

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        self.span.set_attributes(_clean(attributes))

    def rename(self, name: str) -> None:
        self.span.update_name(name)

    def add_failure(self, error: BaseException, attributes: Mapping[str, Any]) -> None:
        self.span.record_exception(error, attributes=_clean(attributes))
        self._recorded = error

    def end(self, error: BaseException | None = None) -> None:
        if error is not None:
            from opentelemetry.trace import Status, StatusCode

            if error is not self._recorded:
                self.span.record_exception(error)
            self.span.set_attribute("error.type", _type_path(error))
            self.span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
        self.span.end()

    def activate(self) -> Any:
        from opentelemetry import context, trace

        return context.attach(trace.set_span_in_context(self.span))

    def deactivate(self, token: Any) -> None:
        from opentelemetry import context

        context.detach(token)

    def carrier(self) -> dict[str, str]:
        from opentelemetry import propagate, trace

        carrier: dict[str, str] = {}
        propagate.inject(carrier, context=trace.set_span_in_context(self.span))
        return carrier


class _Tracer:
    """A tracer of the OpenTelemetry API, as the runtime's tracing hooks use it."""

    __slots__ = ("_tracer",)

    def __init__(self, tracer: Any) -> None:
        self._tracer = tracer

    def start_span(
        self,
        name: str,
        attributes: Mapping[str, Any],
        *,
        client: bool = False,
        parent: Any = None,
        link: Mapping[str, str] | None = None,
    ) -> _Span:
        from opentelemetry import trace

        kind = trace.SpanKind.CLIENT if client else trace.SpanKind.INTERNAL
        links = None
        if link:
            linked = trace.get_current_span(self.extract(link)).get_span_context()
            links = [trace.Link(linked)] if linked.is_valid else None
        span = self._tracer.start_span(
            name, context=parent, kind=kind, attributes=_clean(attributes), links=links
        )
        return _Span(span)

    def capture(self) -> Any:
        from opentelemetry import context

        return context.get_current()

    def inject(self) -> dict[str, str]:
        from opentelemetry import propagate

        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        return carrier

    def extract(self, carrier: Mapping[str, str]) -> Any:
        from opentelemetry import propagate
        from opentelemetry.context import Context

        return propagate.extract(dict(carrier), context=Context())


@contextmanager
def attached(carrier: Mapping[str, str] | None) -> Iterator[None]:
    """Run the block in the trace context of ``carrier`` (from a span's ``carrier()`` in
    another process), so the spans it opens nest under that span. Does nothing without a
    carrier, or where OpenTelemetry was not imported (no tracer provider here)."""
    import sys

    if not carrier or "opentelemetry.trace" not in sys.modules:
        yield
        return
    from opentelemetry import context, propagate

    token = context.attach(propagate.extract(dict(carrier)))
    try:
        yield
    finally:
        context.detach(token)
