"""``hitl_tool``: a tool whose result is a human's answer, asked with ``kitaru.wait()``.

The decorator only marks the function (or ``Tool``); a wrapped agent copies the mark
into the tool's metadata, where its recorder finds it when the model calls the tool.
Outside a flow the tool is an ordinary tool and its function runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic_ai import Tool
from pydantic_ai.toolsets import AbstractToolset, FunctionToolset

from kitaru.errors import KitaruUsageError

__all__ = ["HitlConfig", "hitl_config_of", "hitl_configs", "hitl_tool", "mark_hitl_tools"]

T = TypeVar("T")

_MARK = "__kitaru_hitl__"
_METADATA_KEY = "kitaru_hitl"


@dataclass(frozen=True, slots=True)
class HitlConfig:
    """How a human-in-the-loop tool asks: the wait's question, name and answer schema."""

    question: str | None = None
    name: str | None = None
    schema: Any = None


def hitl_tool(
    *, question: str | None = None, name: str | None = None, schema: Any = None
) -> Callable[[T], T]:
    """Make a PydanticAI tool a human-in-the-loop wait of the flow.

    When a wrapped agent's model calls the tool during a run in the flow body, the
    execution waits (``kitaru.wait(schema=..., name=..., question=...)``) and the answer
    is the tool's result; the tool's function does not run. Outside a flow the tool is
    an ordinary tool. Inside an explicit ``@checkpoint`` it raises
    ``KitaruContextError``: waits belong to the flow body.

    Args:
        question: Shown to whoever answers (default: the tool's name and arguments).
        name: The wait's name (default: the tool's name).
        schema: The answer's type, as for ``kitaru.wait()`` (``None``: a continue/abort
            gate whose result is ``None``).

    Example:
        >>> @hitl_tool(question="Publish this brief?", schema=bool)
        ... def publish_brief(headline: str) -> bool:
        ...     '''Ask an editor whether to publish.'''
        ...     return True  # runs only outside a flow
    """
    if question is not None and not isinstance(question, str):
        raise KitaruUsageError(f"hitl_tool(): question must be a string, got {question!r}.")
    if name is not None and (not isinstance(name, str) or not name):
        raise KitaruUsageError(f"hitl_tool(): name must be a non-empty string, got {name!r}.")
    config = HitlConfig(question=question, name=name, schema=schema)

    def decorate(target: T) -> T:
        if not callable(target) and not isinstance(target, Tool):
            raise KitaruUsageError(f"@hitl_tool decorates a tool function or a Tool, got {target!r}.")
        setattr(target, _MARK, config)
        if isinstance(target, Tool):
            setattr(target.function, _MARK, config)
        return target

    return decorate


def _marked(tool: Tool[Any]) -> HitlConfig | None:
    for candidate in (tool, tool.function):
        config = getattr(candidate, _MARK, None)
        if isinstance(config, HitlConfig):
            return config
    return None


def _mark_toolset(toolset: AbstractToolset[Any]) -> None:
    if not isinstance(toolset, FunctionToolset):
        return
    for tool in toolset.tools.values():
        config = _marked(tool)
        if config is not None and hitl_config_of(tool.metadata) is not config:
            tool.metadata = {**(tool.metadata or {}), _METADATA_KEY: config}


def mark_hitl_tools(toolsets: Any) -> None:
    """Copy the marks of ``hitl_tool`` functions into their tools' metadata."""
    for toolset in toolsets or ():
        if isinstance(toolset, AbstractToolset):
            toolset.apply(_mark_toolset)


def hitl_config_of(metadata: dict[str, Any] | None) -> HitlConfig | None:
    """The ``hitl_tool`` settings in a tool definition's metadata, if it has them."""
    config = (metadata or {}).get(_METADATA_KEY)
    return config if isinstance(config, HitlConfig) else None


def hitl_configs(toolsets: Any) -> dict[str, HitlConfig]:
    """The ``hitl_tool`` settings of the function tools in ``toolsets``, by tool name."""
    found: dict[str, HitlConfig] = {}

    def visit(toolset: AbstractToolset[Any]) -> None:
        if isinstance(toolset, FunctionToolset):
            for name, tool in toolset.tools.items():
                config = _marked(tool)
                if config is not None:
                    found[name] = config

    for toolset in toolsets or ():
        if isinstance(toolset, AbstractToolset):
            toolset.apply(visit)
    return found
