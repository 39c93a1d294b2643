"""OpenTelemetry traces: the SDK's in-memory exporter sees execution → checkpoint → model call.

One SDK tracer provider for the whole module, given to Kitaru with
``kitaru.otel.set_tracer_provider`` (the global provider can be set only once per process, and
the other tests must not export spans); its exporter is cleared before each test. The global
provider, and a process without any, are tested in fresh interpreters (test_otel_processes.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from tests._fake_llm import FakeProvider, openai_server
from tests._helpers import retry_and_wait, wait_until

import kitaru
import kitaru.otel
from kitaru import checkpoint, flow
from kitaru.config.model_aliases import register_model

EXPORTER = InMemorySpanExporter()
PROVIDER = TracerProvider()
PROVIDER.add_span_processor(SimpleSpanProcessor(EXPORTER))
USER = PROVIDER.get_tracer("user-code")
state: dict[str, Any] = {}


@pytest.fixture(autouse=True)
def traced() -> Iterator[None]:
    kitaru.otel.set_tracer_provider(PROVIDER)
    EXPORTER.clear()
    state.clear()
    yield
    kitaru.otel.set_tracer_provider(None)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeProvider]:
    for name in ("KITARU_LLM_MOCK_RESPONSE", "KITARU_DEFAULT_MODEL", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    with openai_server() as provider:
        register_model("fast", model="openai/gpt-4o-mini", base_url=provider.url + "/v1")
        yield provider


def _spans() -> list[ReadableSpan]:
    return list(EXPORTER.get_finished_spans())


def _one(name: str) -> ReadableSpan:
    found = [s for s in _spans() if s.name == name]
    assert len(found) == 1, f"{name!r} among {[s.name for s in _spans()]}"
    return found[0]


def _parent_of(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


def _id(span: ReadableSpan) -> int:
    assert span.context is not None
    return span.context.span_id


@checkpoint(type="llm_call")
def summarize(text: str) -> str:
    return kitaru.llm(f"Summarize {text}", model="fast")


@flow
def agent(topic: str) -> str:
    outline = kitaru.llm(f"Outline {topic}", model="fast", name="outline")
    return summarize(outline)


def test_the_trace_is_execution_then_checkpoint_then_model_call(fake: FakeProvider) -> None:
    first, second = agent.run("agents"), agent.run("agents")  # two executions: a trace each
    assert first.wait() == second.wait() == "fake reply"
    exec_id = first.exec_id
    runs = [s for s in _spans() if s.name == "flow agent"]
    assert len(runs) == 2 and len({s.context.trace_id for s in runs if s.context}) == 2
    [run] = [s for s in runs if s.attributes and s.attributes["kitaru.exec_id"] == exec_id]
    assert run.parent is None
    assert run.attributes is not None
    assert run.attributes["kitaru.flow"] == "agent"
    assert run.attributes["kitaru.status"] == "completed"
    assert run.attributes["kitaru.run_count"] == 1
    assert "kitaru.original_exec_id" not in run.attributes
    assert run.status.status_code is StatusCode.UNSET
    trace_id = run.context.trace_id if run.context else None
    mine = [s for s in _spans() if s.context and s.context.trace_id == trace_id]
    names = sorted(s.name for s in mine)
    assert names == [
        "chat gpt-4o-mini",
        "chat gpt-4o-mini",
        "checkpoint summarize",
        "flow agent",
        "llm_call outline",
    ]

    step = next(s for s in mine if s.name == "checkpoint summarize")
    assert _parent_of(step) == _id(run)
    assert step.attributes is not None
    assert step.attributes["kitaru.exec_id"] == exec_id
    assert step.attributes["kitaru.checkpoint"] == "summarize"
    assert step.attributes["kitaru.invocation_id"] == "summarize"
    assert step.attributes["kitaru.checkpoint_type"] == "llm_call"
    assert step.attributes["kitaru.status"] == "completed"
    assert step.attributes["kitaru.attempts"] == 1 and step.attributes["kitaru.attempt"] == 1
    assert step.attributes["kitaru.reused"] is False and step.attributes["kitaru.cached"] is False

    outline = next(s for s in mine if s.name == "llm_call outline")
    assert _parent_of(outline) == _id(run)
    assert outline.attributes is not None and outline.attributes["kitaru.call_kind"] == "llm"
    chats = [s for s in mine if s.name == "chat gpt-4o-mini"]
    assert sorted(_parent_of(c) for c in chats) == sorted([_id(step), _id(outline)])
    for chat in chats:
        attributes = chat.attributes
        assert attributes is not None
        assert chat.kind is trace.SpanKind.CLIENT
        assert attributes["gen_ai.operation.name"] == "chat"
        assert attributes["gen_ai.provider.name"] == "openai"
        assert attributes["gen_ai.request.model"] == "gpt-4o-mini"
        assert (attributes["gen_ai.usage.input_tokens"], attributes["gen_ai.usage.output_tokens"]) == (11, 7)
        assert isinstance(attributes["kitaru.llm.cost_usd"], float) and attributes["kitaru.llm.cost_usd"] > 0
        assert attributes["kitaru.llm.alias"] == "fast"
        assert attributes["server.address"] == "127.0.0.1"
    assert {c.attributes["kitaru.llm.name"] for c in chats if c.attributes} == {"outline", "llm_1"}


@checkpoint
def traced_work(label: str) -> str:
    with USER.start_as_current_span(f"user {label}"):
        return label


@checkpoint
async def traced_async(label: str) -> str:
    with USER.start_as_current_span(f"user {label}"):
        await asyncio.sleep(0)
        return label


@flow
def nesting() -> list[str]:
    inline = traced_work("inline")
    futures = [traced_work.submit(f"submitted {i}") for i in range(3)]
    return [inline, *(f.result() for f in futures)]


@flow
async def nesting_async() -> list[str]:
    return list(await asyncio.gather(traced_async("first"), traced_async("second")))


@pytest.mark.parametrize(
    ("flow_obj", "labels"),
    [
        (nesting, ["inline", "submitted 0", "submitted 1", "submitted 2"]),
        (nesting_async, ["first", "second"]),
    ],
    ids=["sync and submit", "async gather"],
)
def test_user_spans_nest_under_their_checkpoint_call(flow_obj: Any, labels: list[str]) -> None:
    assert flow_obj.run().wait() == labels
    run = _one(f"flow {flow_obj.name}")
    calls = {
        s.attributes["kitaru.invocation_id"]: s
        for s in _spans()
        if s.name.startswith("checkpoint ") and s.attributes is not None
    }
    assert len(calls) == len(labels)
    for call in calls.values():
        assert _parent_of(call) == _id(run)
    for label in labels:
        user = _one(f"user {label}")
        [parent] = [c for c in calls.values() if _id(c) == _parent_of(user)]
        assert parent.context is not None and user.context is not None
        assert user.context.trace_id == parent.context.trace_id


@checkpoint(retries=2, retry_delay=0)
def flaky() -> str:
    state["tries"] = state.get("tries", 0) + 1
    if state["tries"] < 3:
        raise ConnectionError(f"try {state['tries']} failed")
    return "ok"


@checkpoint
def broken() -> None:
    raise LookupError("no such thing")


@flow
def retried() -> str:
    return flaky()


@flow
def failing() -> None:
    broken()


def test_a_retried_checkpoint_shows_its_attempts() -> None:
    assert retried.run().wait() == "ok"
    span = _one("checkpoint flaky")
    assert span.attributes is not None
    assert span.attributes["kitaru.attempts"] == 3 and span.attributes["kitaru.attempt"] == 3
    assert span.attributes["kitaru.status"] == "completed"
    assert span.status.status_code is StatusCode.UNSET
    failures = [e for e in span.events if e.name == "exception"]
    assert [(e.attributes or {}).get("kitaru.attempt") for e in failures] == [1, 2]
    assert all((e.attributes or {}).get("kitaru.retried") is True for e in failures)
    messages = [(e.attributes or {}).get("exception.message") for e in failures]
    assert messages == ["try 1 failed", "try 2 failed"]


def test_a_failing_checkpoint_span_has_the_error_and_the_exception() -> None:
    handle = failing.run()
    with pytest.raises(kitaru.KitaruExecutionError):
        handle.wait()
    span = _one("checkpoint broken")
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "LookupError: no such thing"
    assert span.attributes is not None
    assert span.attributes["kitaru.status"] == "failed" and span.attributes["error.type"] == "LookupError"
    [event] = [e for e in span.events if e.name == "exception"]  # recorded once
    assert event.attributes is not None
    assert event.attributes["exception.type"] == "LookupError"
    assert event.attributes["kitaru.retried"] is False
    assert "no such thing" in str(event.attributes["exception.stacktrace"])
    run = _one("flow failing")
    assert _parent_of(span) == _id(run)
    assert run.status.status_code is StatusCode.ERROR
    assert run.attributes is not None and run.attributes["kitaru.status"] == "failed"


@checkpoint
def once(text: str) -> str:
    state.setdefault("ran", []).append(text)
    return text.upper()


@checkpoint
def may_fail(text: str) -> str:
    if not state.get("healed"):
        raise RuntimeError("not yet")
    return text


@flow
def two_steps(text: str) -> str:
    return may_fail(once(text))


def test_a_retry_shows_reused_calls_and_a_replay_its_source() -> None:
    handle = two_steps.run("a")
    with pytest.raises(kitaru.KitaruExecutionError):
        handle.wait()
    first = _one("checkpoint once")
    assert first.attributes is not None and first.attributes["kitaru.status"] == "completed"
    EXPORTER.clear()
    state["healed"] = True
    assert retry_and_wait(handle.exec_id).status is kitaru.ExecutionStatus.COMPLETED
    # The store says completed a moment before the run's span ends.
    wait_until(lambda: any(s.name == "flow two_steps" for s in _spans()))
    run = _one("flow two_steps")
    assert run.attributes is not None and run.attributes["kitaru.run_count"] == 2
    reused = _one("checkpoint once")
    assert reused.attributes is not None
    assert reused.attributes["kitaru.status"] == "reused" and reused.attributes["kitaru.reused"] is True
    assert reused.attributes["kitaru.attempts"] == 0 and "kitaru.attempt" not in reused.attributes
    assert state["ran"] == ["a"]

    EXPORTER.clear()
    replay = two_steps.replay(handle.exec_id, from_="may_fail")
    assert replay.wait() == "A"
    run = _one("flow two_steps")
    assert run.attributes is not None and run.attributes["kitaru.original_exec_id"] == handle.exec_id


@flow
def in_user_span() -> str:
    return traced_work("from a request")


def test_an_execution_started_in_a_span_nests_under_it() -> None:
    with USER.start_as_current_span("request") as request:
        handle = in_user_span.run()
    assert handle.wait() == "from a request"
    run = _one("flow in_user_span")
    assert _parent_of(run) == request.get_span_context().span_id


def test_no_spans_without_a_tracer_provider() -> None:
    kitaru.otel.set_tracer_provider(trace.NoOpTracerProvider())
    state["healed"] = True
    assert two_steps.run("quiet").wait() == "QUIET"
    assert _spans() == []


def test_spans_of_an_isolated_process_nest_under_its_checkpoint_call() -> None:
    from tests._otel_flows import isolated_trace

    from kitaru._connect import default_stores
    from kitaru._leases import new_runner_id
    from kitaru.runtime.engine import create_execution
    from kitaru.runtime.isolated import ProcessBackend
    from kitaru.runtime.work import run_claimed

    stores, runner, entry = default_stores(), new_runner_id(), isolated_trace._entry
    exec_id = create_execution(
        stores.metadata,
        stores.artifacts,
        flow_name=entry.name,
        args=(),
        kwargs={},
        spec={"options": {}},
        source={"module": entry.func.__module__, "qualname": entry.func.__qualname__},
        runner_id=runner,
        func=entry.func,
    )
    claimed = stores.metadata.claim_execution(
        exec_id, runner_id=runner, expected=(kitaru.ExecutionStatus.PENDING,), expected_runner=runner
    )
    assert claimed is not None
    outcome = run_claimed(stores.metadata, stores.artifacts, exec_id, runner, isolated=ProcessBackend())
    assert outcome.status is kitaru.ExecutionStatus.COMPLETED, outcome.error
    call = _one("checkpoint traced_elsewhere")
    assert call.attributes is not None and call.attributes["kitaru.isolated"] == "process"
    assert call.context is not None
    assert outcome.value == {"trace_id": call.context.trace_id, "parent": call.context.span_id}


def _run_queued() -> tuple[str, Any]:
    """Claim the queued execution and run it in this thread, as a worker does."""
    from kitaru._connect import default_stores
    from kitaru.runtime.work import run_claimed

    stores = default_stores()
    record = stores.metadata.claim_queued_execution(runner_id="otel-worker", lease_seconds=30)
    assert record is not None
    return record.exec_id, run_claimed(stores.metadata, stores.artifacts, record.exec_id, "otel-worker")


def test_a_queued_execution_carries_its_trace_context_to_the_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KITARU_EXECUTION_TARGET", "worker")
    with USER.start_as_current_span("request") as request:
        queued = two_steps.run("w").exec_id
    monkeypatch.delenv("KITARU_EXECUTION_TARGET")
    exec_id, outcome = _run_queued()  # in this thread: no span is current here
    assert exec_id == queued and outcome.status is kitaru.ExecutionStatus.FAILED
    first = _one("flow two_steps")
    assert _parent_of(first) == request.get_span_context().span_id
    assert first.context is not None and first.context.trace_id == request.get_span_context().trace_id

    EXPORTER.clear()
    state["healed"] = True
    monkeypatch.setenv("KITARU_EXECUTION_TARGET", "worker")
    kitaru.KitaruClient().executions.retry(exec_id)  # queued again
    monkeypatch.delenv("KITARU_EXECUTION_TARGET")
    _, outcome = _run_queued()
    assert outcome.status is kitaru.ExecutionStatus.COMPLETED, outcome.error
    later = _one("flow two_steps")
    assert later.parent is None and later.context is not None
    assert later.context.trace_id != request.get_span_context().trace_id
    assert [link.context.span_id for link in later.links] == [request.get_span_context().span_id]


@checkpoint(cache=True)
def cached_step(text: str) -> str:
    return text * 2


@flow
def cached_flow(text: str) -> str:
    return cached_step(text)


def test_a_cache_hit_and_a_pinned_output_say_so() -> None:
    first = cached_flow.run("x")
    assert first.wait() == "xx"
    EXPORTER.clear()
    assert cached_flow.run("x").wait() == "xx"
    hit = _one("checkpoint cached_step")
    assert hit.attributes is not None
    assert hit.attributes["kitaru.status"] == "cached" and hit.attributes["kitaru.cached"] is True
    assert hit.attributes["kitaru.cached_from_exec_id"] == first.exec_id
    assert hit.attributes["kitaru.attempts"] == 0

    EXPORTER.clear()
    replay = cached_flow.replay(first.exec_id, from_="cached_step", overrides={"checkpoint.cached_step": "z"})
    assert replay.wait() == "z"
    pinned = _one("checkpoint cached_step")
    assert pinned.attributes is not None and pinned.attributes["kitaru.status"] == "pinned"
