"""The PydanticAI adapter with PydanticAI's own test models (``FunctionModel``, ``TestModel``) and
the real OpenAI SDK against a local fake provider: child events of a checkpoint call (artifacts,
usage rows with tokens and cost, metadata), a flow-body run as one ``llm_call`` checkpoint call,
``hitl_tool`` as a wait, and a plain agent outside a flow."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from genai_prices import Usage, calc_price
from pydantic import BaseModel
from pydantic_ai import Agent
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart, ToolReturnPart
from pydantic_ai.models.function import AgentInfo, FunctionModel
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.models.test import TestModel
from pydantic_ai.providers.openai import OpenAIProvider
from tests._fake_llm import openai_server
from tests._helpers import retry_and_wait, wait_until

import kitaru
from kitaru import KitaruClient, checkpoint, flow
from kitaru._connect import default_stores
from kitaru.adapters.pydantic_ai import CaptureConfig, KitaruAgent, hitl_tool, wrap
from kitaru.errors import KitaruUsageError, KitaruUserCodeError
from kitaru.models import Execution

pytestmark = pytest.mark.both_modes

ES = kitaru.ExecutionStatus
state: dict[str, Any] = {}


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    state.clear()
    state["requests"] = 0
    yield


def _returns(messages: list[ModelMessage]) -> list[Any]:
    return [p.content for p in messages[-1].parts if isinstance(p, ToolReturnPart)]


def lookup_then_answer(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    """Call the first tool once, then answer with what it returned."""
    state["requests"] += 1
    returned = _returns(messages)
    if returned:
        return ModelResponse(parts=[TextPart(f"answer: {returned[0]}")])
    tool = info.function_tools[0]
    (param,) = tool.parameters_json_schema["properties"]
    return ModelResponse(parts=[ToolCallPart(tool.name, {param: "durable agents"}, tool_call_id="call-1")])


def _researcher(name: str = "researcher", **wrap_options: Any) -> KitaruAgent[Any, Any]:
    agent = Agent(FunctionModel(lookup_then_answer), name=name)

    @agent.tool_plain
    def search(query: str) -> list[str]:
        """Search the index."""
        return [f"https://example.com/{query.replace(' ', '-')}"]

    return wrap(agent, **wrap_options)


def _execution(exec_id: str) -> Execution:
    return KitaruClient().executions.get(exec_id)


def _load(artifact: Any) -> Any:
    return KitaruClient().artifacts.get(artifact.artifact_id).load()


def test_inside_a_checkpoint_each_model_request_and_tool_call_is_a_child_event() -> None:
    researcher = _researcher()

    @checkpoint
    def research(topic: str) -> str:
        return str(researcher.run_sync(f"Research {topic}.").output)

    @flow
    def study(topic: str) -> str:
        return research(topic)

    handle = study.run("durable agents")
    assert handle.wait(timeout=30) == "answer: ['https://example.com/durable-agents']"
    execution = _execution(handle.exec_id)
    assert [c.invocation_id for c in execution.checkpoints] == ["research"]  # no durable call of its own
    (call,) = execution.checkpoints
    assert set(call.metadata["llm_calls"]) == {"researcher_model_1", "researcher_model_2"}
    tool = call.metadata["tool_calls"]["researcher_tool_1"]
    assert tool["tool_name"] == "search" and tool["status"] == "completed" and tool["duration_ms"] >= 0
    saved = {a.name: a for a in call.artifacts}
    assert {name: saved[name].kind for name in saved if name != "research"} == {
        "researcher_model_1_prompt": "prompt",
        "researcher_model_1_response": "response",
        "researcher_tool_1_args": "input",
        "researcher_tool_1_result": "output",
        "researcher_model_2_prompt": "prompt",
        "researcher_model_2_response": "response",
    }
    prompt = _load(saved["researcher_model_1_prompt"])
    assert prompt[0]["parts"][-1]["content"] == "Research durable agents."
    assert _load(saved["researcher_model_1_response"])["parts"][0]["tool_name"] == "search"
    assert _load(saved["researcher_tool_1_args"]) == {"query": "durable agents"}
    assert _load(saved["researcher_tool_1_result"]) == ["https://example.com/durable-agents"]
    # One usage row per model request, on the checkpoint call, with the response's tokens.
    rows = default_stores().metadata.list_llm_usage(handle.exec_id)
    assert [(r.name, r.call_id, r.model) for r in rows] == [
        ("researcher_model_1", call.call_id, "function/function:lookup_then_answer:"),
        ("researcher_model_2", call.call_id, "function/function:lookup_then_answer:"),
    ]
    assert all(r.input_tokens and r.output_tokens for r in rows)
    assert all(r.cost_usd is None for r in rows)  # a local function has no price: never a guessed 0
    usage = execution.llm_usage
    assert usage is not None and (usage.calls, usage.unpriced_calls) == (2, 2)


def test_usage_and_cost_of_a_priced_model() -> None:
    with openai_server() as fake:
        model = OpenAIChatModel(
            "gpt-4o-mini", provider=OpenAIProvider(base_url=fake.url + "/v1", api_key="sk-t")
        )
        writer = wrap(Agent(model, name="writer"))

        @checkpoint(type="llm_call")
        def draft(topic: str) -> str:
            return str(writer.run_sync(f"Draft {topic}").output)

        @flow
        def write(topic: str) -> str:
            return draft(topic)

        handle = write.run("kitaru")
        assert handle.wait(timeout=30) == "fake reply"
    (row,) = default_stores().metadata.list_llm_usage(handle.exec_id)
    price = float(
        calc_price(Usage(input_tokens=11, output_tokens=7), "gpt-4o-mini", provider_id="openai").total_price
    )
    assert (row.model, row.input_tokens, row.output_tokens) == ("openai/gpt-4o-mini", 11, 7)
    assert row.cost_usd == pytest.approx(price) and price > 0
    (call,) = _execution(handle.exec_id).checkpoints
    details = call.metadata["llm_calls"]["writer_model_1"]
    assert details["cost_usd"] == pytest.approx(price) and details["resolved_model"] == "openai/gpt-4o-mini"
    usage = _execution(handle.exec_id).llm_usage
    assert usage is not None and usage.cost_usd == pytest.approx(price)


class Brief(BaseModel):
    topic: str
    headline: str


def test_a_flow_body_run_is_one_llm_call_checkpoint_reused_when_the_execution_continues() -> None:
    agent = Agent(TestModel(call_tools=[]), name="briefer", output_type=Brief)
    briefer = wrap(agent)

    @checkpoint
    def publish(brief: Brief) -> str:
        if not state.get("healed"):
            raise RuntimeError("the publisher is down")
        return f"{brief.topic}: {brief.headline}"

    @flow
    def brief_flow(topic: str) -> str:
        result = briefer.run_sync(f"Brief on {topic}")
        state["output_type"] = type(result.output)
        return publish(result.output)

    handle = brief_flow.run("kitaru")
    with pytest.raises(KitaruUserCodeError):
        handle.wait(timeout=30)
    execution = _execution(handle.exec_id)
    run, failed = execution.checkpoints
    assert (run.invocation_id, run.type, run.status) == ("briefer_run", "llm_call", ES.COMPLETED)
    assert set(run.metadata["llm_calls"]) == {"briefer_model_1"}
    assert failed.invocation_id == "publish"
    recorded = kitaru.load(handle.exec_id, "briefer_run")
    assert recorded["output"] == {"topic": "a", "headline": "a"}  # the run's output, readable as JSON
    first = state.pop("output_type")
    assert first is Brief
    state["healed"] = True
    done = retry_and_wait(handle.exec_id)
    assert done.status is ES.COMPLETED
    assert state["output_type"] is Brief  # rebuilt from the record as the same type
    assert kitaru.load(handle.exec_id, "result") == "a: a"
    rows = default_stores().metadata.list_llm_usage(handle.exec_id)
    assert len(rows) == 1  # the model was not asked again when the execution continued


def test_each_flow_body_run_has_its_own_invocation_id_and_the_result_keeps_messages() -> None:
    researcher = _researcher("scout")

    @flow
    def twice() -> list[Any]:
        first = researcher.run_sync("one")
        second = researcher.run_sync("two", message_history=first.all_messages())
        return [first.output, len(first.all_messages()), second.output, len(second.all_messages())]

    handle = twice.run()
    assert handle.wait(timeout=30) == [
        "answer: ['https://example.com/durable-agents']",
        4,
        "answer: ['https://example.com/durable-agents']",
        8,
    ]
    assert [(c.invocation_id, c.type) for c in _execution(handle.exec_id).checkpoints] == [
        ("scout_run", "llm_call"),
        ("scout_run_2", "llm_call"),
    ]
    assert state["requests"] == 4


def test_an_async_flow_awaits_a_flow_body_run() -> None:
    researcher = _researcher("async_scout")

    @flow
    async def research() -> str:
        result = await researcher.run("go")
        return str(result.output)

    handle = research.run()
    assert handle.wait(timeout=30) == "answer: ['https://example.com/durable-agents']"
    (call,) = _execution(handle.exec_id).checkpoints
    assert (call.invocation_id, call.type) == ("async_scout_run", "llm_call")
    assert set(call.metadata["tool_calls"]) == {"async_scout_tool_1"}


def test_outside_a_flow_the_agent_is_plain_pydantic_ai() -> None:
    @hitl_tool(question="Approve?", schema=bool)
    def approve(headline: str) -> str:
        """Ask an editor."""
        return f"approved {headline} without asking"

    agent = Agent(FunctionModel(lookup_then_answer), name="plain", tools=[approve])
    result = wrap(agent).run_sync("go")
    assert result.output == "answer: approved durable agents without asking"  # the tool's own function ran
    assert asyncio.run(wrap(agent).run("again")).output == result.output
    assert KitaruClient().executions.list() == []  # nothing recorded


@hitl_tool(question="Publish this brief?", schema=bool)
def publish_brief(headline: str) -> str:
    """Ask an editor whether to publish."""
    raise AssertionError("a hitl_tool's function does not run in a flow")


def _editor() -> KitaruAgent[Any, Any]:
    return wrap(Agent(FunctionModel(lookup_then_answer), name="editor", tools=[publish_brief]))


def test_a_hitl_tool_is_a_wait_whose_answer_is_the_tool_result() -> None:
    editor = _editor()

    @flow
    def review() -> str:
        return str(editor.run_sync("Review the brief.").output)

    handle = review.run()
    client = KitaruClient()
    pending = wait_until(lambda: client.executions.get(handle.exec_id).pending_wait, timeout=30)
    assert pending.name == "publish_brief" and pending.question == "Publish this brief?"
    assert pending.schema == {"type": "boolean"}
    assert pending.metadata == {
        "adapter": "pydantic_ai",
        "agent": "editor",
        "tool_name": "publish_brief",
        "tool_call_id": "call-1",
        "args": {"headline": "durable agents"},
    }
    with pytest.raises(kitaru.KitaruWaitValidationError):
        client.executions.input(handle.exec_id, value="not a bool")
    client.executions.input(handle.exec_id, value=True)
    assert handle.wait(timeout=30) == "answer: True"
    execution = _execution(handle.exec_id)
    assert [(c.invocation_id, c.type) for c in execution.checkpoints] == [
        ("editor_run", "llm_call"),
        ("publish_brief", None),
        ("editor_run_2", "llm_call"),
    ]
    assert state["requests"] == 2  # each model request made once
    tool_event = execution.checkpoints[0].metadata["tool_calls"]["editor_tool_1"]
    assert tool_event["status"] == "deferred"


def test_a_hitl_tool_inside_a_checkpoint_is_refused() -> None:
    editor = _editor()

    @checkpoint
    def review_inside() -> str:
        return str(editor.run_sync("Review.").output)

    @flow
    def review() -> str:
        return review_inside()

    handle = review.run()
    with pytest.raises(KitaruUserCodeError, match="waits belong to the flow body"):
        handle.wait(timeout=30)


def test_capture_settings_choose_what_a_tool_call_records() -> None:
    quiet: CaptureConfig = {"mode": "metadata_only", "include_timings": False}
    researcher = _researcher("quiet", tool_capture_config=quiet)
    hidden = _researcher("hidden", tool_capture_config_by_name={"search": None})

    @checkpoint
    def both() -> str:
        return f"{researcher.run_sync('a').output}|{hidden.run_sync('b').output}"

    @flow
    def capture() -> str:
        return both()

    handle = capture.run()
    handle.wait(timeout=30)
    (call,) = _execution(handle.exec_id).checkpoints
    assert call.metadata["tool_calls"] == {
        "quiet_tool_1": {
            "agent": "quiet",
            "tool_name": "search",
            "tool_call_id": "call-1",
            "status": "completed",
        }
    }
    names = {a.name for a in call.artifacts}
    assert not any("tool" in name for name in names)
    assert {"quiet_model_1_prompt", "hidden_model_2_response"} <= names  # model requests are always kept


def test_streaming_in_the_flow_body_is_refused_with_what_to_do() -> None:
    researcher = _researcher("streamer")

    @flow
    def stream() -> str:
        with researcher.run_stream_sync("go") as response:
            return str(response.get_output())

    with pytest.raises(KitaruUserCodeError, match="run\\(\\)/run_sync\\(\\)"):
        stream.run().wait(timeout=30)


def test_wrap_checks_its_arguments() -> None:
    agent = Agent(TestModel(), name="x")
    with pytest.raises(KitaruUsageError, match="PydanticAI agent"):
        wrap(object())
    with pytest.raises(KitaruUsageError, match="mode must be one of"):
        wrap(agent, tool_capture_config={"mode": "loud"})  # type: ignore[typeddict-item]
    with pytest.raises(KitaruUsageError, match="unknown keys"):
        wrap(agent, tool_capture_config_by_name={"t": {"save": True}})  # type: ignore[typeddict-unknown-key]
    with pytest.raises(KitaruUsageError, match="name"):
        wrap(agent, name="")
    assert wrap(wrap(agent), name="y").wrapped is agent


def test_a_stream_inside_a_checkpoint_is_recorded_too() -> None:
    agent = Agent(TestModel(), name="streamer_in")

    @agent.tool_plain
    def add_one(x: int) -> int:
        """Add one."""
        return x + 1

    streaming = wrap(agent)

    @checkpoint
    def streamed() -> str:
        with streaming.run_stream_sync("go") as response:
            return str(response.get_output())

    @flow
    def stream() -> str:
        return streamed()

    handle = stream.run()
    assert handle.wait(timeout=30) == '{"add_one":1}'
    (call,) = _execution(handle.exec_id).checkpoints
    assert set(call.metadata["llm_calls"]) == {"streamer_in_model_1", "streamer_in_model_2"}
    assert call.metadata["tool_calls"]["streamer_in_tool_1"]["tool_name"] == "add_one"


def test_replay_reuses_a_flow_body_run_before_the_frontier_and_runs_it_again_from_it() -> None:
    researcher = _researcher("replayed")

    @checkpoint
    def shout(text: str) -> str:
        return text.upper()

    @flow
    def loud() -> str:
        return shout(str(researcher.run_sync("go").output))

    handle = loud.run()
    first = handle.wait(timeout=30)
    assert state["requests"] == 2
    assert loud.replay(handle.exec_id, from_="shout").wait(timeout=30) == first
    assert state["requests"] == 2  # the agent's run is before the frontier: reused
    assert loud.replay(handle.exec_id, from_="replayed_run").wait(timeout=30) == first
    assert state["requests"] == 4  # from the run on, the model is asked again
