"""The original project's published ``examples/pydantic_ai_agent`` (release 0.4), rewritten here
as ``examples/pydantic_ai_agent.py``: run with a scripted ``FunctionModel`` that calls each
agent's tool, and checked through the client."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
)
from pydantic_ai.models.function import AgentInfo, FunctionModel

from kitaru import KitaruClient

pytestmark = pytest.mark.both_modes

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "pydantic_ai_agent.py"


def _example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("pydantic_ai_agent_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses and models are looked up by module name
    spec.loader.exec_module(module)
    return module


def scripted(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    """Call the agent's tool once, then finish with what it returned."""
    returned = [p.content for p in messages[-1].parts if isinstance(p, ToolReturnPart)]
    if not returned:
        tool = info.function_tools[0]
        (param,) = tool.parameters_json_schema["properties"]
        return ModelResponse(
            parts=[ToolCallPart(tool.name, {param: "kitaru"}, tool_call_id=f"{tool.name}-1")]
        )
    if info.output_tools:
        brief = {"topic": "kitaru", "headline": f"{len(returned[0])} sources", "sources": returned[0]}
        return ModelResponse(parts=[ToolCallPart(info.output_tools[0].name, brief)])
    prompts = sum(
        isinstance(m, ModelRequest) and any(p.part_kind == "user-prompt" for p in m.parts) for m in messages
    )
    return ModelResponse(parts=[TextPart(f"{returned[0]} after {prompts} prompts")])


def test_the_pydantic_ai_example_runs_with_a_function_model() -> None:
    example = _example()
    results: dict[str, Any] = example.main(FunctionModel(scripted))

    brief = results["research"]
    assert isinstance(brief, example.ResearchBrief)
    assert brief.sources == ["https://example.com/wiki/kitaru", "https://example.com/news/kitaru"]
    assert results["flow_body"] == "9.99 after 1 prompts"
    assert results["outside_a_flow"] == "9.99 after 1 prompts"
    assert results["conversation"] == ["9.99 after 1 prompts", "9.99 after 2 prompts"]
    assert results["capture"] == "9.99 after 1 prompts"
    assert results["review"] == "True after 1 prompts"  # the editor's answer was the tool's result

    executions = {e.flow_name: e for e in KitaruClient().executions.list()}
    assert sorted(executions) == [
        "capture_flow",
        "conversation_flow",
        "flow_body_flow",
        "research_flow",
        "review_flow",
    ]  # the run outside a flow recorded nothing
    get = KitaruClient().executions.get
    (research,) = get(executions["research_flow"].exec_id).checkpoints
    assert set(research.metadata["llm_calls"]) == {"researcher_model_1", "researcher_model_2"}
    assert {a.name for a in research.artifacts} >= {"researcher_tool_1_args", "researcher_tool_1_result"}
    (body,) = get(executions["flow_body_flow"].exec_id).checkpoints
    assert (body.invocation_id, body.type) == ("writer_run", "llm_call")
    (quiet,) = get(executions["capture_flow"].exec_id).checkpoints
    assert quiet.metadata["tool_calls"]["quiet_writer_tool_1"]["tool_name"] == "lookup_price"
    assert not any("tool" in a.name for a in quiet.artifacts)
    review = get(executions["review_flow"].exec_id)
    assert [c.invocation_id for c in review.checkpoints] == ["editor_run", "publish_brief", "editor_run_2"]
