"""A PydanticAI agent made durable with Kitaru, feature by feature.

Each ``demo_*`` function shows one rule of ``kitaru.adapters.pydantic_ai``. The agents
use PydanticAI's ``TestModel`` so the file runs without API keys; give ``main()`` any
other model (``OpenAIChatModel(...)``, a ``FunctionModel``) to see real answers.

    pip install 'kitaru[pydantic-ai]'
    python examples/pydantic_ai_agent.py
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic_ai import Agent, RunContext
from pydantic_ai.models import Model
from pydantic_ai.models.test import TestModel

from kitaru import KitaruClient, checkpoint, flow
from kitaru.adapters.pydantic_ai import KitaruAgent, hitl_tool, wrap


@dataclass
class ResearchDeps:
    source_priority: list[str]


class ResearchBrief(BaseModel):
    topic: str
    headline: str
    sources: list[str]


@hitl_tool(question="Approve publishing this brief?", schema=bool)
def publish_brief(headline: str) -> bool:
    """Ask an editor whether the brief may be published."""
    return True  # outside a flow the tool is an ordinary one: this runs


def build_agents(model: Model) -> dict[str, KitaruAgent[Any, Any]]:
    """The example's agents, all on ``model``."""
    researcher = Agent(model, name="researcher", deps_type=ResearchDeps, output_type=ResearchBrief)

    @researcher.tool
    def search_index(ctx: RunContext[ResearchDeps], query: str) -> list[str]:
        """Search the index, most trusted sources first."""
        return [f"https://example.com/{tag}/{query}" for tag in ctx.deps.source_priority]

    writer = Agent(model, name="writer", output_type=str)

    @writer.tool_plain
    def lookup_price(sku: str) -> float:
        """The price of a product."""
        return 9.99

    editor = Agent(model, name="editor", output_type=str, tools=[publish_brief])
    return {
        "researcher": wrap(researcher),
        "writer": wrap(writer),
        # Prices are kept as timings only; nothing at all is recorded of the secret tool.
        "quiet_writer": wrap(
            writer,
            name="quiet_writer",
            tool_capture_config={"mode": "metadata_only"},
            tool_capture_config_by_name={"fetch_secret": None},
        ),
        "editor": wrap(editor),
    }


agents = build_agents(TestModel(call_tools=[]))


@checkpoint(type="llm_call")
def run_research(topic: str) -> ResearchBrief:
    """Inside a checkpoint each model request and tool call is a child event of this call."""
    deps = ResearchDeps(source_priority=["wiki", "news"])
    brief: ResearchBrief = agents["researcher"].run_sync(f"Research {topic!r}.", deps=deps).output
    return brief


@flow
def research_flow(topic: str) -> ResearchBrief:
    return run_research(topic)


@flow
def flow_body_flow(topic: str) -> str:
    """In the flow body a run is a checkpoint call of its own (``writer_run``, type llm_call)."""
    return str(agents["writer"].run_sync(f"Write about {topic!r}.").output)


@checkpoint
def converse() -> list[str]:
    """Two turns in one checkpoint: the second sees the first's messages."""
    first = agents["writer"].run_sync("Hi, I am Alice.")
    second = agents["writer"].run_sync("What's my name?", message_history=first.all_messages())
    return [str(first.output), str(second.output)]


@flow
def conversation_flow() -> list[str]:
    return converse()


@flow
def capture_flow(topic: str) -> str:
    return str(agents["quiet_writer"].run_sync(f"Price list for {topic!r}.").output)


@flow
def review_flow(topic: str) -> str:
    """When the model calls ``publish_brief`` the execution waits for an editor's answer."""
    return str(agents["editor"].run_sync(f"Draft a brief on {topic!r} and get it approved.").output)


def demo_research() -> ResearchBrief:
    return research_flow.run("kitaru").wait(timeout=60)


def demo_flow_body() -> str:
    return flow_body_flow.run("kitaru").wait(timeout=60)


def demo_outside_a_flow() -> str:
    """Outside a flow the wrapped agent is plain PydanticAI: nothing is recorded."""
    return str(agents["writer"].run_sync("Say hello.").output)


def demo_conversation() -> list[str]:
    return conversation_flow.run().wait(timeout=60)


def demo_capture() -> str:
    return capture_flow.run("kitaru").wait(timeout=60)


def demo_review(approve: bool = True) -> str:
    """Answer the editor's wait as another process would: ``kitaru executions input ID --value true``."""
    handle = review_flow.run("kitaru")
    client = KitaruClient()
    deadline = time.monotonic() + 60
    while not handle.status.is_terminal and time.monotonic() < deadline:
        pending = client.executions.get(handle.exec_id).pending_wait
        if pending is not None:
            print(f"  {pending.question} -> {approve}")
            client.executions.input(handle.exec_id, wait=pending.name, value=approve)
        time.sleep(0.05)
    return handle.wait(timeout=60)


def main(model: Model | None = None) -> dict[str, Any]:
    """Run every demo (on ``model`` when given) and return their results by name."""
    global agents
    if model is not None:
        agents = build_agents(model)
    demos = {
        "research": demo_research,
        "flow_body": demo_flow_body,
        "outside_a_flow": demo_outside_a_flow,
        "conversation": demo_conversation,
        "capture": demo_capture,
        "review": demo_review,
    }
    results: dict[str, Any] = {}
    for name, demo in demos.items():
        print(f"--- {name} ---")
        results[name] = demo()
        print(f"  {results[name]!r}")
    last = KitaruClient().executions.latest()
    print(f"Inspect the last execution: kitaru executions get {last.exec_id}")
    return results


if __name__ == "__main__":
    main()
