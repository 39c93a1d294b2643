"""``KitaruAgent``: a PydanticAI agent whose runs Kitaru records and makes durable.

Where a run happens decides what it is:

- outside a flow: a plain PydanticAI run, nothing recorded;
- inside a checkpoint: the run's model requests and tool calls are child events of
  that checkpoint call (:mod:`._recorder`), which stays the replay boundary;
- in the flow body (``run()`` / ``run_sync()``): the run is a checkpoint call of its
  own, type ``llm_call``, invocation id ``<agent>_run`` (``_run_2``, ...), reused from
  the record when the execution continues. A ``hitl_tool`` call ends that checkpoint
  call with the call deferred; the flow body waits for the answer (``kitaru.wait()``)
  and a further checkpoint call continues the run with it as the tool's result.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

from pydantic_ai.agent import AbstractAgent, WrapperAgent
from pydantic_ai.messages import ModelMessagesTypeAdapter
from pydantic_ai.output import OutputDataT
from pydantic_ai.run import AgentRunResult
from pydantic_ai.tools import AgentDepsT, DeferredToolRequests, DeferredToolResults
from pydantic_core import to_jsonable_python

from kitaru._types import CallKind, CheckpointType
from kitaru.adapters.pydantic_ai._capture import CaptureConfig
from kitaru.adapters.pydantic_ai._hitl import HitlConfig, hitl_configs, mark_hitl_tools
from kitaru.adapters.pydantic_ai._recorder import HITL_METADATA_KEY, Recorder
from kitaru.adapters.pydantic_ai._results import dump_result, load_result
from kitaru.errors import KitaruContextError, KitaruUsageError
from kitaru.runtime.calls import CallEntry, DurableCall, assign_slot, run_async, run_sync
from kitaru.runtime.context import (
    CallScope,
    ExecutionContext,
    current_call,
    current_execution,
    enter_call,
    exit_call,
)
from kitaru.wait import wait

__all__ = ["KitaruAgent"]

# The checkpoint call whose code is the adapter's own run (a hitl_tool call is deferred there).
_own_run: ContextVar[str | None] = ContextVar("kitaru_pydantic_ai_run", default=None)


class KitaruAgent(WrapperAgent[AgentDepsT, OutputDataT]):
    """A wrapped PydanticAI agent (see :func:`kitaru.adapters.pydantic_ai.wrap`)."""

    def __init__(
        self,
        wrapped: AbstractAgent[AgentDepsT, OutputDataT],
        *,
        name: str | None = None,
        tool_capture_config: CaptureConfig | None = None,
        tool_capture_config_by_name: dict[str, CaptureConfig | None] | None = None,
    ) -> None:
        super().__init__(wrapped)
        self._name = name or wrapped.name or "agent"
        self._tool_capture = tool_capture_config
        self._tool_capture_by_name = dict(tool_capture_config_by_name or {})
        mark_hitl_tools(wrapped.toolsets)

    @property
    def name(self) -> str:
        """The agent's name in Kitaru's records (invocation ids, event names)."""
        return self._name

    @name.setter
    def name(self, value: str | None) -> None:
        self._name = value or "agent"
        self.wrapped.name = value

    def __repr__(self) -> str:
        return f"<KitaruAgent {self._name!r} wrapping {self.wrapped!r}>"

    # --- where a run happens -------------------------------------------------------------------

    @asynccontextmanager
    async def iter(self, user_prompt: Any = None, **kwargs: Any) -> AsyncIterator[Any]:
        """Iterate over a run's graph as PydanticAI does, recorded inside a checkpoint."""
        kwargs["capabilities"] = self._capabilities(kwargs.get("capabilities"), kwargs.get("toolsets"))
        async with super().iter(user_prompt, **kwargs) as run:
            yield run

    async def run(self, user_prompt: Any = None, **kwargs: Any) -> Any:
        """Run the agent; in the flow body the run is a checkpoint call of its own."""
        ctx = current_execution()
        if ctx is None or current_call() is not None:
            return await super().run(user_prompt, **kwargs)
        return await self._durable_async(ctx, user_prompt, kwargs)

    def run_sync(self, user_prompt: Any = None, **kwargs: Any) -> Any:
        """Run the agent synchronously; in the flow body the run is a checkpoint call of its own."""
        ctx = current_execution()
        if ctx is None or current_call() is not None:
            return super().run_sync(user_prompt, **kwargs)
        return self._durable_sync(ctx, user_prompt, kwargs)

    def _capabilities(self, given: Any, toolsets: Any) -> list[Any]:
        capabilities = list(given or ())
        ctx = current_execution()
        if ctx is None:
            return capabilities  # outside a flow: plain PydanticAI
        scope = current_call()
        if scope is None:
            raise KitaruContextError(
                f"Agent {self._name!r} was streamed or iterated in the body of a flow, where only "
                "run() and run_sync() are recorded (each as a checkpoint call). Call run()/run_sync(), "
                "or stream inside a @checkpoint function."
            )
        mark_hitl_tools(self.wrapped.toolsets)
        mark_hitl_tools(toolsets)
        recorder = Recorder(
            scope=scope,
            agent=self._name,
            hitl="defer" if _own_run.get() == scope.call_id else "refuse",
            tool_capture=self._tool_capture,
            tool_capture_by_name=self._tool_capture_by_name,
        )
        return [*capabilities, recorder]

    # --- a run in the flow body ----------------------------------------------------------------

    def _durable_sync(self, ctx: ExecutionContext, prompt: Any, kwargs: dict[str, Any]) -> Any:
        plan = _Plan(self, prompt, kwargs)

        def entry(scope: CallScope, /, request: dict[str, Any]) -> Any:
            token, mark = enter_call(scope), _own_run.set(scope.call_id)
            try:
                return dump_result(self.run_sync(plan.prompt, **plan.kwargs))
            finally:
                _own_run.reset(mark)
                exit_call(token)

        while True:
            recorded = run_sync(self._call(ctx, entry, is_async=False, request=plan.request()))
            result = load_result(ctx, recorded)
            if not plan.continue_after(ctx, result):
                return result

    async def _durable_async(self, ctx: ExecutionContext, prompt: Any, kwargs: dict[str, Any]) -> Any:
        plan = _Plan(self, prompt, kwargs)

        async def entry(scope: CallScope, /, request: dict[str, Any]) -> Any:
            token, mark = enter_call(scope), _own_run.set(scope.call_id)
            try:
                return dump_result(await self.run(plan.prompt, **plan.kwargs))
            finally:
                _own_run.reset(mark)
                exit_call(token)

        while True:
            recorded = await run_async(self._call(ctx, entry, is_async=True, request=plan.request()))
            result = load_result(ctx, recorded)
            if not plan.continue_after(ctx, result):
                return result

    def _call(
        self, ctx: ExecutionContext, entry: Callable[..., Any], *, is_async: bool, request: dict[str, Any]
    ) -> DurableCall:
        target = CallEntry(
            name=f"{self._name}_run",
            identity=f"kitaru.adapters.pydantic_ai:{self._name}",
            entrypoint=entry,
            is_async=is_async,
            type=CheckpointType.LLM_CALL.value,
            retry=None,  # PydanticAI retries model requests itself; the execution's retries rerun it
            source_hash=str,
            kind=CallKind.CHECKPOINT,
            cache=False,  # a model's answer is not a pure function of the prompt
        )
        # What the run is, for the journal's same-work check: a changed prompt runs again.
        return DurableCall(ctx, target, assign_slot(ctx, target, None), (request,), {})


class _Plan:
    """One ``run()`` in the flow body: its arguments, and the continuations after waits."""

    def __init__(self, agent: KitaruAgent[Any, Any], prompt: Any, kwargs: dict[str, Any]) -> None:
        self.agent = agent
        self.prompt = prompt
        self.kwargs = dict(kwargs)
        spec = self.kwargs.get("output_type") or agent.wrapped.output_type
        specs = list(spec) if isinstance(spec, Sequence) and not isinstance(spec, str) else [spec]
        self.accepts_deferred = any(s is DeferredToolRequests for s in specs)
        # A hitl_tool call ends the run with the call deferred: the output type must allow it.
        self.kwargs["output_type"] = specs if self.accepts_deferred else [*specs, DeferredToolRequests]
        self.answers: dict[str, Any] = {}

    def request(self) -> dict[str, Any]:
        history = self.kwargs.get("message_history")
        deferred = self.kwargs.get("deferred_tool_results")
        return {
            "agent": self.agent.name,
            "prompt": to_jsonable_python(self.prompt, fallback=repr),
            "message_history": None
            if history is None
            else ModelMessagesTypeAdapter.dump_python(history, mode="json"),
            "deferred_tool_results": to_jsonable_python(deferred, fallback=repr),
        }

    def continue_after(self, ctx: ExecutionContext, result: AgentRunResult[Any]) -> bool:
        """Wait for the answers of the run's ``hitl_tool`` calls and set up the run that
        continues with them; ``False`` when the run is finished."""
        output = result.output
        if not isinstance(output, DeferredToolRequests):
            return False
        ours = [c for c in output.calls if HITL_METADATA_KEY in output.metadata.get(c.tool_call_id, {})]
        others = [c.tool_name for c in [*output.calls, *output.approvals] if c not in ours]
        if not ours:
            if self.accepts_deferred:
                return False
            raise KitaruUsageError(
                f"Agent {self.agent.name!r} ended its run in execution {ctx.exec_id} with deferred tool "
                f"calls {others}, but its output type does not accept DeferredToolRequests. Add "
                "DeferredToolRequests to output_type, or make those tools hitl_tool()s."
            )
        if others:
            raise KitaruUsageError(
                f"Agent {self.agent.name!r} deferred hitl_tool calls together with other deferred calls "
                f"{others} in one step; the adapter answers hitl_tool calls only. Resolve the others in "
                "a run of your own (pass deferred_tool_results=), or make them hitl_tool()s."
            )
        configs = hitl_configs([*self.agent.wrapped.toolsets, *(self.kwargs.get("toolsets") or ())])
        answers = {}
        for call in ours:
            request = output.metadata[call.tool_call_id][HITL_METADATA_KEY]
            config = configs.get(call.tool_name, HitlConfig())
            answers[call.tool_call_id] = _ask(
                self.agent.name, call.tool_name, call.tool_call_id, request, config
            )
        self.prompt = None
        self.kwargs.update(
            message_history=result.all_messages(),
            deferred_tool_results=DeferredToolResults(calls=answers),
            usage=result.usage,
        )
        return True


def _ask(agent: str, tool: str, tool_call_id: str, request: dict[str, Any], config: HitlConfig) -> Any:
    args = request.get("args")
    question = config.question or f"Agent {agent!r} called tool {tool!r} with {args!r}. What is its result?"
    return wait(
        schema=config.schema,
        name=config.name or tool,
        question=question,
        metadata={
            "adapter": "pydantic_ai",
            "agent": agent,
            "tool_name": tool,
            "tool_call_id": tool_call_id,
            "args": args,
        },
    )
