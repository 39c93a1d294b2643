"""Adapters that make agent frameworks durable under Kitaru.

Each adapter lives in a subpackage of its own and imports its framework there,
behind an ``ImportError`` that names the extra to install; ``import kitaru``
imports none of them. Every adapter follows one rule: the enclosing checkpoint
is the replay boundary. What the framework does inside a checkpoint (model
requests, tool calls) is recorded as child events of that checkpoint call; a
run made in the flow body becomes a checkpoint call of its own.

- :mod:`kitaru.adapters.pydantic_ai`: PydanticAI agents (extra ``pydantic-ai``).
"""

from __future__ import annotations

__all__: list[str] = []
