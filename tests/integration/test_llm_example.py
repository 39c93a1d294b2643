"""The original project's published ``examples/llm/flow_with_llm.py`` (release 0.4), rewritten
here: an outline from ``kitaru.llm()`` in the flow body, a draft from ``kitaru.llm()`` inside a
checkpoint, run with ``KITARU_LLM_MOCK_RESPONSE`` and checked as its own test checked it. The
original read the per-step ``llm_calls`` metadata through ZenML; here the client reads it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests._modes import another_home

import kitaru
from kitaru import KitaruClient, checkpoint, flow
from kitaru.config.model_aliases import register_model

pytestmark = pytest.mark.both_modes


@checkpoint
def write_draft(topic: str, outline: str) -> str:
    """Expand an outline into a short draft paragraph."""
    return kitaru.llm(
        f"Write a short paragraph about {topic} using this outline:\n{outline}",
        model="fast",
        name="draft_call",
    )


@flow
def llm_writer(topic: str) -> str:
    """Generate an outline and then a draft using tracked LLM calls."""
    outline = kitaru.llm(
        f"Create a 3-bullet outline about {topic}.",
        model="fast",
        name="outline_call",
    )
    return write_draft(topic, outline)


def run_workflow(topic: str = "kitaru") -> tuple[str, str, list[dict[str, Any]]]:
    """Run the LLM workflow and return execution diagnostics."""
    handle = llm_writer.run(topic)
    raw_result = handle.wait()
    if not isinstance(raw_result, str):
        raise RuntimeError("The flow_with_llm example expected a string result from llm_writer().")
    execution = KitaruClient().executions.get(handle.exec_id)
    step_llm_metadata = [
        call.metadata["llm_calls"] for call in execution.checkpoints if "llm_calls" in call.metadata
    ]
    return handle.exec_id, raw_result, step_llm_metadata


@pytest.fixture(autouse=True)
def home(tmp_path: Path) -> Iterator[Path]:
    with another_home(tmp_path / "home") as path:
        yield path


def test_llm_example_runs_end_to_end(monkeypatch: pytest.MonkeyPatch) -> None:
    register_model("fast", model="openai/gpt-4o-mini")
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    monkeypatch.setenv("KITARU_LLM_MOCK_RESPONSE", "Mocked LLM response.")

    execution_id, result, step_llm_metadata = run_workflow("kitaru")

    assert execution_id
    assert result == "Mocked LLM response."
    assert len(step_llm_metadata) == 2
    llm_call_names = {call_name for llm_calls in step_llm_metadata for call_name in llm_calls}
    assert "outline_call" in llm_call_names
    assert "draft_call" in llm_call_names
    for llm_calls in step_llm_metadata:
        for metadata in llm_calls.values():
            assert metadata["resolved_model"] == "openai/gpt-4o-mini"
            assert metadata["credential_source"].startswith("environment")
    # Beyond the original: the prompts and responses are artifacts, and the totals count both calls.
    assert kitaru.load(execution_id, "outline_call") == "Mocked LLM response."
    assert kitaru.load(execution_id, "draft_call_response") == "Mocked LLM response."
    usage = KitaruClient().executions.get(execution_id).llm_usage
    assert usage is not None and usage.calls == 2 and usage.cost_usd == 0.0
