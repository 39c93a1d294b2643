"""PydanticAI adapter: wrap an agent, and Kitaru records and replays its runs.

Inside a ``@checkpoint`` each model request and tool call of a wrapped agent's run
becomes a child event of that checkpoint call: prompt and response (tool arguments
and result) artifacts, token usage and cost in USD. A run made in the flow body is a
checkpoint call of its own (type ``llm_call``). Outside a flow the agent is plain
PydanticAI. A :func:`hitl_tool` turns a tool into a ``kitaru.wait()`` whose answer is
the tool's result. The enclosing checkpoint is the replay boundary: a completed
checkpoint call is never run again when its execution continues.

Needs the ``pydantic-ai`` extra (``pip install 'kitaru[pydantic-ai]'``); this is the
one place that imports PydanticAI.

Example:
    >>> from pydantic_ai import Agent
    >>> import kitaru
    >>> from kitaru.adapters import pydantic_ai as kp
    >>> researcher = kp.wrap(Agent("openai:gpt-4o-mini", name="researcher"))  # doctest: +SKIP
    >>> @kitaru.flow
    ... def research(topic: str) -> str:
    ...     return researcher.run_sync(f"Summarize {topic}.").output  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

try:
    import pydantic_ai  # noqa: F401  (the dependency check; the modules below use it)
except ImportError as exc:  # pragma: no cover - exercised in an environment without the extra
    raise ImportError(
        "kitaru.adapters.pydantic_ai needs PydanticAI: pip install 'kitaru[pydantic-ai]' "
        f"(it could not be imported: {exc})"
    ) from exc

from kitaru.adapters.pydantic_ai._agent import KitaruAgent
from kitaru.adapters.pydantic_ai._capture import CaptureConfig, CaptureMode, validate_capture
from kitaru.adapters.pydantic_ai._hitl import hitl_tool
from kitaru.errors import KitaruUsageError

__all__ = ["CaptureConfig", "CaptureMode", "KitaruAgent", "hitl_tool", "wrap"]


def wrap(
    agent: Any,
    *,
    name: str | None = None,
    tool_capture_config: CaptureConfig | None = None,
    tool_capture_config_by_name: dict[str, CaptureConfig | None] | None = None,
) -> KitaruAgent[Any, Any]:
    """Wrap a PydanticAI agent so Kitaru records and replays its runs.

    Args:
        agent: A ``pydantic_ai.Agent`` (any ``AbstractAgent``).
        name: The agent's name in Kitaru's records (default: the agent's own name, else
            ``agent``): the flow-body checkpoint is ``<name>_run``, events ``<name>_model_1``,
            ``<name>_tool_1``, ...
        tool_capture_config: What is recorded of every tool call (default: everything).
        tool_capture_config_by_name: Per-tool settings by tool name; ``None`` records
            nothing of that tool.

    Returns:
        The wrapped agent: use it as the agent itself (``run``, ``run_sync``, ...).

    Raises:
        KitaruUsageError: ``agent`` is not a PydanticAI agent, or a setting is invalid.

    Example:
        >>> durable = wrap(Agent("openai:gpt-4o-mini"), name="writer",  # doctest: +SKIP
        ...                tool_capture_config_by_name={"fetch_secret": None})
    """
    from pydantic_ai.agent import AbstractAgent

    if not isinstance(agent, AbstractAgent):
        raise KitaruUsageError(f"wrap() takes a PydanticAI agent (pydantic_ai.Agent), got {agent!r}.")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise KitaruUsageError(f"wrap(): name must be a non-empty string, got {name!r}.")
    default = validate_capture(tool_capture_config, where="tool_capture_config")
    by_name: dict[str, CaptureConfig | None] = {}
    if tool_capture_config_by_name is not None:
        if not isinstance(tool_capture_config_by_name, dict):
            raise KitaruUsageError(
                "wrap(): tool_capture_config_by_name must be a dict of tool name -> CaptureConfig or "
                f"None, got {tool_capture_config_by_name!r}."
            )
        for tool, config in tool_capture_config_by_name.items():
            by_name[tool] = validate_capture(config, where=f"tool_capture_config_by_name[{tool!r}]")
    if isinstance(agent, KitaruAgent):
        agent = agent.wrapped
    return KitaruAgent(agent, name=name, tool_capture_config=default, tool_capture_config_by_name=by_name)
