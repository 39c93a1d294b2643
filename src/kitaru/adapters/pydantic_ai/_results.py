"""A run's result as the adapter's checkpoint records it, and back.

The recorded output is plain JSON, readable by every surface: the run (messages,
usage, ids) in PydanticAI's public serialized form of ``AgentRunResult``, the output
as JSON for people, and the output again as Kitaru serialized it, so that a resumed
execution gets the same type back (a pydantic model, a dataclass, ...).
"""

from __future__ import annotations

import base64
from functools import cache
from typing import Any

from pydantic import TypeAdapter
from pydantic_ai.run import AgentRunResult
from pydantic_core import to_jsonable_python

from kitaru.errors import KitaruStateError
from kitaru.runtime.context import ExecutionContext
from kitaru.serde import deserialize, serialize

__all__ = ["dump_result", "load_result"]

_FORMAT = "kitaru.pydantic_ai.run/1"


@cache
def _adapter() -> TypeAdapter[AgentRunResult[Any]]:
    return TypeAdapter(AgentRunResult[Any])


def dump_result(result: AgentRunResult[Any]) -> dict[str, Any]:
    """The JSON a checkpoint records of a run's result."""
    output = result.output
    run = _adapter().dump_python(result, mode="json")
    run["output"] = None
    value = serialize(output)
    return {
        "format": _FORMAT,
        "output": to_jsonable_python(output, fallback=repr),
        "output_value": {
            "serializer": value.serializer,
            "type_path": value.type_path,
            "data": base64.b64encode(value.data).decode("ascii"),
        },
        "run": run,
    }


def load_result(ctx: ExecutionContext, recorded: Any) -> AgentRunResult[Any]:
    """The run's result rebuilt from what :func:`dump_result` recorded."""
    if not isinstance(recorded, dict) or recorded.get("format") != _FORMAT:
        raise KitaruStateError(
            f"Execution {ctx.exec_id}: a recorded agent run is not in the format this version of "
            f"kitaru.adapters.pydantic_ai reads ({_FORMAT}); start a new execution."
        )
    result = _adapter().validate_python(recorded["run"])
    value = recorded["output_value"]
    result.output = deserialize(
        value["serializer"],
        value["type_path"],
        base64.b64decode(value["data"]),
        shared_store=ctx.store.shared,
        script=ctx.script,
    )
    return result
