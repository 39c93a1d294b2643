"""A flow that asks a person before it publishes: the CLI session of the README.

    kitaru run examples/approval.py:publish --args '{"topic": "durable agents"}'
    kitaru executions input <exec id> --value true

The wait polls for an answer for one second, then this process leaves; the
answer given later (from any process) continues the execution there.
"""

from __future__ import annotations

import kitaru
from kitaru import checkpoint, flow


@checkpoint(type="llm_call")
def draft(topic: str) -> str:
    return f"{topic.capitalize()}, in three paragraphs."


@checkpoint(type="tool_call")
def publish_post(text: str) -> str:
    print(f"Publishing: {text}")
    return "https://blog.example.com/posts/1"


@flow
def publish(topic: str) -> str | None:
    text = draft(topic)
    approved = kitaru.wait(schema=bool, name="approve", question=f"Publish {text!r}?", timeout=1)
    return publish_post(text) if approved else None


if __name__ == "__main__":
    print(publish.run("durable agents").wait())
