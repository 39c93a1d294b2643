"""What a model call's trace span says, in the OpenTelemetry GenAI semantic conventions.

``kitaru.llm()`` opens a client span ``chat <model>`` around the call (when spans are
exported) and sets these attributes: the operation, the provider, the model, the
token usage (``gen_ai.*``), and Kitaru's own figures (``kitaru.llm.*``: cost, alias,
requests made).

Example:
    >>> GEN_AI_REQUEST["gen_ai.operation.name"]
    'chat'
"""

from __future__ import annotations

import contextlib
from typing import Any
from urllib.parse import urlsplit

from kitaru.providers._call import Completion

__all__ = ["GEN_AI_REQUEST", "gen_ai_attributes"]

#: The attributes of every model call's span, set when it opens.
GEN_AI_REQUEST: dict[str, Any] = {"gen_ai.operation.name": "chat"}


def gen_ai_attributes(completion: Completion) -> dict[str, Any]:
    """The attributes a model call's span gets once the call has ended."""
    model = completion.model
    attributes: dict[str, Any] = {
        "gen_ai.provider.name": model.provider,
        "gen_ai.request.model": model.name,
        "gen_ai.usage.input_tokens": completion.input_tokens,
        "gen_ai.usage.output_tokens": completion.output_tokens,
        "kitaru.llm.model": model.resolved,
        "kitaru.llm.alias": model.alias,
        "kitaru.llm.cost_usd": completion.cost_usd,
        "kitaru.llm.requests": completion.requests,
        "kitaru.llm.mocked": completion.mocked or None,
    }
    if model.base_url:
        parts = urlsplit(model.base_url)
        attributes["server.address"] = parts.hostname
        with contextlib.suppress(ValueError):  # not a port number: the span goes without it
            attributes["server.port"] = parts.port
    return attributes
