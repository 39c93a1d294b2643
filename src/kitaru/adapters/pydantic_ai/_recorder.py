"""The child events of a checkpoint call: what a wrapped agent's run does inside it.

A :class:`Recorder` is a PydanticAI capability (its public hook points) added to each
run of a wrapped agent inside a checkpoint. Each model request becomes a model call of
that checkpoint call, as ``kitaru.llm()`` inside a checkpoint records one: prompt and
response artifacts, a usage row (tokens, cost in USD from the price table, latency) and
metadata under ``llm_calls.<event>``. Each tool call gets its arguments and result as
artifacts (types ``input`` and ``output``) and metadata under ``tool_calls.<event>``, as
its capture settings say. Events are named ``<agent>_model_<n>`` and ``<agent>_tool_<n>``
in the order they happen in the checkpoint call.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic_ai import RunContext
from pydantic_ai.capabilities import AbstractCapability
from pydantic_ai.exceptions import ApprovalRequired, CallDeferred
from pydantic_ai.messages import ModelMessagesTypeAdapter, ModelResponse, ToolCallPart
from pydantic_ai.tools import ToolDefinition
from pydantic_core import to_jsonable_python

from kitaru._types import new_id, utcnow
from kitaru.adapters.pydantic_ai._capture import CaptureConfig, ToolCapture, resolve_capture
from kitaru.adapters.pydantic_ai._hitl import hitl_config_of
from kitaru.artifacts.values import make_artifact
from kitaru.errors import KitaruContextError, KitaruUsageError
from kitaru.providers._prices import cost_usd
from kitaru.records import ArtifactRecord, LlmUsageRecord
from kitaru.runtime.context import CallScope
from kitaru.runtime.pending import flush_call
from kitaru.serde import serialize

__all__ = ["HITL_METADATA_KEY", "Recorder"]

#: The key of a deferred call's metadata that says it is a ``hitl_tool`` wait.
HITL_METADATA_KEY = "kitaru_hitl"

_counts: dict[tuple[str, str, str], int] = {}  # (call id, agent, kind) -> events so far
_counts_lock = threading.Lock()
_MAX_TRACKED = 4096


def _next_event(call_id: str, agent: str, kind: str) -> str:
    key = (call_id, agent, kind)
    with _counts_lock:
        count = _counts.pop(key, 0) + 1
        _counts[key] = count
        while len(_counts) > _MAX_TRACKED:
            del _counts[next(iter(_counts))]
    return f"{agent}_{kind}_{count}"


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


@dataclass
class Recorder(AbstractCapability[Any]):
    """Records the model requests and tool calls of one run into a checkpoint call.

    ``hitl`` says what a ``hitl_tool`` call does: ``"defer"`` (the run is the adapter's own
    checkpoint in the flow body: the call is deferred, and the flow body waits for its
    answer) or ``"refuse"`` (a user's checkpoint, where no wait is possible).
    """

    scope: CallScope
    agent: str
    hitl: Literal["defer", "refuse"]
    tool_capture: CaptureConfig | None = None
    tool_capture_by_name: Mapping[str, CaptureConfig | None] = field(default_factory=dict)

    async def wrap_model_request(self, ctx: RunContext[Any], *, request_context: Any, handler: Any) -> Any:
        """Run the model request and record it as a model call of the checkpoint call."""
        started = time.perf_counter()
        response = await handler(request_context)
        self._record_model(request_context, response, _ms(started))
        return response

    def _record_model(self, request_context: Any, response: ModelResponse, latency_ms: float) -> None:
        execution = self.scope.execution
        event = _next_event(self.scope.call_id, self.agent, "model")
        model = request_context.model
        provider = str(getattr(model, "system", "") or "unknown")
        model_name = response.model_name or str(getattr(model, "model_name", "unknown"))
        input_tokens, output_tokens = response.usage.input_tokens, response.usage.output_tokens
        cost = cost_usd(provider, model_name, input_tokens, output_tokens)
        prompt = ModelMessagesTypeAdapter.dump_python(list(request_context.messages), mode="json")
        reply = ModelMessagesTypeAdapter.dump_python([response], mode="json")[0]
        artifacts = [
            self._artifact(f"{event}_prompt", "prompt", prompt),
            self._artifact(f"{event}_response", "response", reply),
        ]
        usage = LlmUsageRecord(
            usage_id=new_id(),
            exec_id=execution.exec_id,
            call_id=self.scope.call_id,
            name=event,
            model=f"{provider}/{model_name}",
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cost_usd=cost,
            latency_ms=latency_ms,
            created_at=utcnow(),
        )
        details = {
            "adapter": "pydantic_ai",
            "agent": self.agent,
            "provider": provider,
            "resolved_model": f"{provider}/{model_name}",
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "cost_usd": cost,
            "latency_ms": latency_ms,
            "finish_reason": response.finish_reason,
        }
        flush_call(self.scope.call_id)  # the checkpoint call's running row may still be deferred
        execution.writes.record_llm_usage(
            usage, artifacts=artifacts, metadata={"llm_calls": {event: details}}
        )

    async def wrap_tool_execute(
        self,
        ctx: RunContext[Any],
        *,
        call: ToolCallPart,
        tool_def: ToolDefinition,
        args: Any,
        handler: Any,
    ) -> Any:
        """Run the tool call (or defer a ``hitl_tool`` call) and record it."""
        capture = resolve_capture(call.tool_name, self.tool_capture, self.tool_capture_by_name)
        hitl = hitl_config_of(tool_def.metadata)
        event = _next_event(self.scope.call_id, self.agent, "tool") if capture.enabled else None
        details: dict[str, Any] = {
            "agent": self.agent,
            "tool_name": call.tool_name,
            "tool_call_id": call.tool_call_id,
        }
        saved: list[ArtifactRecord] = []
        if event is not None and capture.save_args:
            saved.append(self._artifact(f"{event}_args", "input", args))
        started = time.perf_counter()
        try:
            if hitl is not None:
                raise self._hitl(call, args)
            result = await handler(args)
        except (CallDeferred, ApprovalRequired):
            details["status"] = "deferred"
            raise
        except BaseException as exc:
            details["status"] = "failed"
            details["error"] = {"type": type(exc).__name__, "message": str(exc)}
            raise
        else:
            details["status"] = "completed"
            if event is not None and capture.save_result:
                saved.append(self._artifact(f"{event}_result", "output", result))
            return result
        finally:
            if event is not None:
                self._record_tool(event, details, saved, capture, started)

    def _hitl(self, call: ToolCallPart, args: Any) -> BaseException:
        if self.hitl == "refuse":
            return KitaruContextError(
                f"Tool {call.tool_name!r} of agent {self.agent!r} is a hitl_tool, called inside checkpoint "
                f"{self.scope.name!r}: waits belong to the flow body. Run the agent in the flow body "
                "(the adapter makes the run a checkpoint of its own and waits between its parts), or "
                "call kitaru.wait() in the flow body before or after this checkpoint."
            )
        # JSON only: the deferred call is part of the checkpoint's recorded output.
        request = {"tool_name": call.tool_name, "args": to_jsonable_python(args, fallback=repr)}
        return CallDeferred(metadata={HITL_METADATA_KEY: request}, kind="question")

    def _record_tool(
        self,
        event: str,
        details: dict[str, Any],
        saved: list[ArtifactRecord],
        capture: ToolCapture,
        started: float,
    ) -> None:
        if capture.include_timings:
            details["duration_ms"] = _ms(started)
        writes = self.scope.execution.writes
        flush_call(self.scope.call_id)
        for artifact in saved:
            writes.add_artifact(artifact)
        writes.merge_call_metadata(self.scope.call_id, {"tool_calls": {event: details}})

    def _artifact(self, name: str, kind: str, value: Any) -> ArtifactRecord:
        execution = self.scope.execution
        try:
            serialized = serialize(value)
        except KitaruUsageError:  # a tool's own type Kitaru cannot store: its text is kept
            serialized = serialize(repr(value))
        return make_artifact(
            execution.artifacts,
            serialized,
            exec_id=execution.exec_id,
            name=name,
            kind=kind,
            call_id=self.scope.call_id,
        )
