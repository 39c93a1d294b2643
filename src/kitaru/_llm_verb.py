"""``kitaru.llm()``: a tracked model call.

In the flow body it is its own durable call (type ``llm_call``): recorded, reused
on resume and replay, selectable by ``replay(from_=...)`` and pinned by
``overrides={"checkpoint.<name>": ...}``. Inside a checkpoint it is a child event of
that checkpoint call, which stays the replay boundary. Either way the call's prompt
and response are saved as artifacts (types ``prompt`` and ``response``), its
metadata (models, credential source, tokens, cost, latency) goes under
``llm_calls.<name>`` in the call's metadata, and its usage counts in the
execution's totals.

Example:
    >>> import kitaru
    >>> @kitaru.flow
    ... def writer(topic: str) -> str:
    ...     outline = kitaru.llm(f"Outline {topic} in 3 bullets.", model="fast")
    ...     return kitaru.llm(f"Write it up: {outline}", name="draft")
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeVar, overload

from kitaru._types import CallKind, CheckpointType, new_id, utcnow
from kitaru.artifacts.values import make_artifact
from kitaru.errors import KitaruContextError, KitaruUsageError
from kitaru.records import ArtifactRecord, CompletedAttempt, LlmUsageRecord
from kitaru.runtime.calls import CallEntry, DurableCall, assign_slot, run_sync
from kitaru.runtime.context import CallScope, ExecutionContext, current_call, current_execution
from kitaru.runtime.pending import flush_call
from kitaru.serde import serialize

if TYPE_CHECKING:
    from kitaru.providers import Completion

__all__ = ["llm"]

T = TypeVar("T")

_DEFAULT_NAME = "llm"
# The key of the flow-level counter of unnamed calls in the execution's name counts (no
# checkpoint can have this name).
_COUNTER_KEY = "kitaru.llm()"
_child_counts: dict[str, int] = {}  # checkpoint call id -> unnamed model calls made in it
_child_lock = threading.Lock()
_MAX_TRACKED_CALLS = 4096


@overload
def llm(
    prompt: str | Sequence[dict[str, str]],
    *,
    model: str | None = None,
    system: str | None = None,
    temperature: float | None = None,
    max_tokens: int | None = None,
    name: str | None = None,
    schema: None = None,
    **options: Any,
) -> str: ...


@overload
def llm(
    prompt: str | Sequence[dict[str, str]],
    *,
    model: str | None = None,
    system: str | None = None,
    temperature: float | None = None,
    max_tokens: int | None = None,
    name: str | None = None,
    schema: type[T],
    **options: Any,
) -> T: ...


def llm(
    prompt: str | Sequence[dict[str, str]],
    *,
    model: str | None = None,
    system: str | None = None,
    temperature: float | None = None,
    max_tokens: int | None = None,
    name: str | None = None,
    schema: Any = None,
    **options: Any,
) -> Any:
    """Call a model and return its text (or, with ``schema``, a validated instance), recorded.

    Args:
        prompt: A string, or a list of ``{"role": ..., "content": ...}`` messages.
        model: A registered alias or ``provider/model`` (``openai/``, ``anthropic/``,
            ``ollama/``, ``openrouter/``); default: ``KITARU_DEFAULT_MODEL``, then the
            default alias.
        system: A system message put first.
        temperature: Sampling temperature, passed to the provider.
        max_tokens: Upper bound of the response's tokens.
        name: The call's name (default ``llm_1``, ``llm_2``, ... in order).
        schema: A pydantic model (or any type pydantic validates): the response is
            validated and returned as it (structured output where the provider has it,
            else JSON mode, with one repair request).
        **options: Passed to the provider's API as they are (e.g. ``top_p``).

    Raises:
        KitaruContextError: outside a running flow (use ``kitaru.providers.complete_text``
            for an unrecorded call).
        KitaruStateError: no model to use, or no credentials for it.
        KitaruRuntimeError: the provider refused or kept failing.

    Example:
        >>> summary = kitaru.llm("Summarize: ...", model="fast", max_tokens=200)  # doctest: +SKIP
    """
    if name is not None and (not isinstance(name, str) or not name):
        raise KitaruUsageError(f"llm(): name must be a non-empty string, got {name!r}.")
    scope = current_call()
    if scope is not None:
        return _in_checkpoint(scope, prompt, model, system, temperature, max_tokens, name, schema, options)
    ctx = current_execution()
    if ctx is None:
        raise KitaruContextError(
            "kitaru.llm() was called outside a running flow, where nothing records it. Call it in a "
            "@flow body or a @checkpoint; for an unrecorded call use "
            "kitaru.providers.complete_text(prompt, model=...)."
        )
    return _in_flow_body(ctx, prompt, model, system, temperature, max_tokens, name, schema, options)


def _complete(
    ctx: ExecutionContext,
    name: str,
    prompt: Any,
    model: str | None,
    system: str | None,
    temperature: float | None,
    max_tokens: int | None,
    schema: Any,
    options: dict[str, Any],
) -> Completion:
    from kitaru._connect import registry_for
    from kitaru.providers import complete

    def call() -> Completion:
        return complete(
            prompt,
            model=model,
            system=system,
            temperature=temperature,
            max_tokens=max_tokens,
            schema=schema,
            options=options,
            # The aliases and secrets of the execution's stores: a server's when it stores it.
            registry=registry_for(ctx.store),
        )

    if ctx.tracer is None:
        return call()
    from kitaru.providers._spans import GEN_AI_REQUEST, gen_ai_attributes

    span = ctx.tracer.start_span(
        "chat" if model is None else f"chat {model}",
        {
            **GEN_AI_REQUEST,
            "gen_ai.request.model": model,
            "gen_ai.request.temperature": temperature,
            "gen_ai.request.max_tokens": max_tokens,
            "kitaru.exec_id": ctx.exec_id,
            "kitaru.llm.name": name,
        },
        client=True,
    )
    token = span.activate()  # an instrumented HTTP client's spans nest under it
    try:
        completion = call()
    except BaseException as exc:
        span.deactivate(token)
        span.end(exc)
        raise
    span.deactivate(token)
    span.rename(f"chat {completion.model.name}")
    span.set_attributes(gen_ai_attributes(completion))
    span.end()
    return completion


def _record(
    ctx: ExecutionContext,
    call_id: str,
    name: str,
    prompt: Any,
    system: str | None,
    completion: Completion,
    completed: CompletedAttempt | None = None,
) -> None:
    """Save the prompt and response as artifacts of the call, its metadata and its usage
    (with the call's completed attempt, when given, in one transaction)."""
    from kitaru.providers._messages import build_messages

    artifacts: list[ArtifactRecord] = [
        make_artifact(
            ctx.artifacts,
            serialize(value),
            exec_id=ctx.exec_id,
            name=f"{name}_{kind}",
            kind=kind,
            call_id=call_id,
        )
        for kind, value in (("prompt", build_messages(prompt, system)), ("response", completion.text))
    ]
    usage = LlmUsageRecord(
        usage_id=new_id(),
        exec_id=ctx.exec_id,
        call_id=call_id,
        name=name,
        model=completion.model.resolved,
        input_tokens=completion.input_tokens,
        output_tokens=completion.output_tokens,
        cost_usd=completion.cost_usd,
        latency_ms=completion.latency_ms,
        created_at=utcnow(),
    )
    metadata = {"llm_calls": {name: completion.metadata()}}
    ctx.writes.record_llm_usage(usage, artifacts=artifacts, metadata=metadata, completed=completed)


def _in_checkpoint(
    scope: CallScope,
    prompt: Any,
    model: str | None,
    system: str | None,
    temperature: float | None,
    max_tokens: int | None,
    name: str | None,
    schema: Any,
    options: dict[str, Any],
) -> Any:
    if name is None:
        with _child_lock:
            count = _child_counts.pop(scope.call_id, 0) + 1
            _child_counts[scope.call_id] = count
            while len(_child_counts) > _MAX_TRACKED_CALLS:
                del _child_counts[next(iter(_child_counts))]
        name = f"{_DEFAULT_NAME}_{count}"
    completion = _complete(
        scope.execution, name, prompt, model, system, temperature, max_tokens, schema, options
    )
    flush_call(scope.call_id)  # the checkpoint call's running row may still be deferred
    _record(scope.execution, scope.call_id, name, prompt, system, completion)
    return completion.value


def _in_flow_body(
    ctx: ExecutionContext,
    prompt: Any,
    model: str | None,
    system: str | None,
    temperature: float | None,
    max_tokens: int | None,
    name: str | None,
    schema: Any,
    options: dict[str, Any],
) -> Any:
    explicit_id = None
    if name is None:
        with ctx.lock:
            count = ctx.name_counts.get(_COUNTER_KEY, 0)
            while True:
                count += 1
                explicit_id = f"{_DEFAULT_NAME}_{count}"
                if explicit_id not in ctx.used_ids:
                    break
            ctx.name_counts[_COUNTER_KEY] = count

    def entrypoint(scope: CallScope, /, request: dict[str, Any]) -> Any:
        completion = _complete(
            ctx, slot.invocation_id, prompt, model, system, temperature, max_tokens, schema, options
        )
        # Made live (not reused, not pinned by a replay): its usage is recorded with its outcome.
        call.finish_with = lambda completed: _record(
            ctx, call.call_id, slot.invocation_id, prompt, system, completion, completed
        )
        return completion.value

    target = CallEntry(
        name=name or _DEFAULT_NAME,
        identity="kitaru.llm",
        entrypoint=entrypoint,
        is_async=False,
        type=CheckpointType.LLM_CALL.value,
        retry=None,  # the provider layer retries rate limits and transient failures itself
        source_hash=str,
        kind=CallKind.LLM,
        cache=False,
    )
    slot = assign_slot(ctx, target, explicit_id)
    # What the call is, for the journal's same-work check: a changed prompt runs again.
    request = {
        "prompt": prompt,
        "model": model,
        "system": system,
        "temperature": temperature,
        "max_tokens": max_tokens,
        "schema": None if schema is None else getattr(schema, "__qualname__", repr(schema)),
        "options": options,
    }
    call = DurableCall(ctx, target, slot, (request,), {})
    return run_sync(call)
