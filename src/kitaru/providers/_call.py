"""One model call: resolve, authenticate, send (with retries), validate, price.

Used by ``kitaru.llm()`` (which records it) and by client-side work such as memory
compaction (which does not). Nothing here knows of executions.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import random
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kitaru.errors import KitaruRuntimeError, KitaruStateError, KitaruUsageError
from kitaru.providers import _settings
from kitaru.providers._messages import build_messages
from kitaru.providers._reply import ProviderFailure, Reply
from kitaru.providers._resolve import Credentials, ResolvedModel, credentials_for, resolve

if TYPE_CHECKING:
    from kitaru.config.registry import Registry

__all__ = ["Completion", "complete", "complete_text"]

_MAX_DELAY = 30.0


@dataclass(frozen=True, slots=True)
class Completion:
    """The outcome of one model call (all its requests, a repair included).

    ``value`` is the text, or the validated instance when a ``schema`` was given.
    ``cost_usd`` is ``None`` when the price of the model is unknown (never a guessed 0).
    """

    text: str
    value: Any
    model: ResolvedModel
    credential_source: str
    input_tokens: int | None
    output_tokens: int | None
    cost_usd: float | None
    latency_ms: float
    requests: int
    mocked: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def metadata(self) -> dict[str, Any]:
        """What is recorded of the call (JSON; no prompt, response or secret)."""
        return {
            "requested_model": self.model.requested,
            "resolved_model": self.model.resolved,
            "alias": self.model.alias,
            "provider": self.model.provider,
            "credential_source": self.credential_source,
            "latency_ms": round(self.latency_ms, 3),
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost_usd": self.cost_usd,
            "requests": self.requests,
            "mocked": self.mocked,
            **self.extra,
        }


def complete_text(
    prompt: str, *, model: str | None = None, system: str | None = None, registry: Registry | None = None
) -> str:
    """Ask a model for a text, unrecorded (for work outside flows, e.g. memory compaction).

    The model resolves as for ``kitaru.llm()`` (among the aliases of ``registry``, default:
    the data directory's); ``KITARU_LLM_MOCK_RESPONSE`` is honoured.

    Example:
        >>> complete_text("Summarize: ...", model="fast")  # doctest: +SKIP
        '...'
    """
    return complete(prompt, model=model, system=system, registry=registry).text


def complete(
    prompt: Any,
    *,
    model: str | None = None,
    system: str | None = None,
    temperature: float | None = None,
    max_tokens: int | None = None,
    schema: Any = None,
    options: dict[str, Any] | None = None,
    registry: Registry | None = None,
) -> Completion:
    """Make one model call and return what it gave, used and cost. ``registry`` keeps the
    model aliases and secrets (default: the data directory's).

    Raises:
        KitaruUsageError: invalid arguments or settings.
        KitaruStateError: no model to use, an unknown alias, or no credentials.
        KitaruRuntimeError: the provider refused the request, kept failing, or gave
            output that does not fit ``schema`` even after one repair request.
    """
    messages = build_messages(prompt, system)
    _check_numbers(temperature, max_tokens)
    options = dict(options or {})
    adapter = _adapter(schema)
    mock = _settings.mock_response()
    started = time.perf_counter()
    if mock is not None:
        return _mocked(mock, model, adapter, started, registry)
    resolved = resolve(model, registry=registry)
    credentials = credentials_for(resolved, registry=registry)
    response_format = _response_format(resolved, adapter, messages)
    totals = _Totals()
    request = _Request(resolved, credentials, messages, temperature, max_tokens, response_format, options)
    reply = _send(request, totals)
    value: Any = reply.text
    if adapter is not None:
        value = _validated(adapter, reply, request, totals)
    from kitaru.providers._prices import cost_usd

    cost = cost_usd(resolved.provider, resolved.name, totals.input_tokens, totals.output_tokens)
    return Completion(
        text=totals.last_text,
        value=value,
        model=resolved,
        credential_source=credentials.source,
        input_tokens=totals.input_tokens,
        output_tokens=totals.output_tokens,
        cost_usd=cost,
        latency_ms=(time.perf_counter() - started) * 1000,
        requests=totals.requests,
    )


@dataclass(frozen=True, slots=True)
class _Request:
    """What one request sends (a repair request sends the same with more messages)."""

    model: ResolvedModel
    credentials: Credentials
    messages: list[dict[str, Any]]
    temperature: float | None
    max_tokens: int | None
    response_format: dict[str, Any] | None
    options: dict[str, Any]


class _Totals:
    """Usage summed over the requests of one call (``None`` once a response reported none)."""

    def __init__(self) -> None:
        self.input_tokens: int | None = 0
        self.output_tokens: int | None = 0
        self.requests = 0
        self.last_text = ""

    def add(self, reply: Reply) -> None:
        self.last_text = reply.text
        self.input_tokens = (
            None
            if self.input_tokens is None or reply.input_tokens is None
            else (self.input_tokens + reply.input_tokens)
        )
        self.output_tokens = (
            None
            if self.output_tokens is None or reply.output_tokens is None
            else (self.output_tokens + reply.output_tokens)
        )


def _check_numbers(temperature: Any, max_tokens: Any) -> None:
    if temperature is not None and (
        isinstance(temperature, bool) or not isinstance(temperature, int | float)
    ):
        raise KitaruUsageError(f"llm(): temperature must be a number, got {temperature!r}.")
    if max_tokens is not None and (
        isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1
    ):
        raise KitaruUsageError(f"llm(): max_tokens must be a whole number ≥ 1, got {max_tokens!r}.")


def _mocked(
    text: str, model: str | None, adapter: Any, started: float, registry: Registry | None
) -> Completion:
    """The call as ``KITARU_LLM_MOCK_RESPONSE`` answers it: no provider, no credentials, no cost."""
    try:
        resolved = resolve(model, registry=registry)
    except KitaruStateError:  # a demo need not register a model
        resolved = ResolvedModel(model, "mock", model or "mock")
    value: Any = text
    if adapter is not None:
        value = _validate(adapter, text, resolved, mocked=True)
    source = "none (KITARU_LLM_MOCK_RESPONSE)"
    if resolved.provider != "mock":
        with contextlib.suppress(KitaruStateError):  # where a real call would take its key from
            source = f"{credentials_for(resolved, registry=registry).source} (mocked: not sent)"
    return Completion(
        text=text,
        value=value,
        model=resolved,
        credential_source=source,
        input_tokens=0,
        output_tokens=0,
        cost_usd=0.0,
        latency_ms=(time.perf_counter() - started) * 1000,
        requests=0,
        mocked=True,
    )


def _send(request: _Request, totals: _Totals) -> Reply:
    """Send one request, retrying rate limits and transient failures with backoff and jitter."""
    retries, delay = _settings.max_retries(), _settings.retry_delay()
    attempt = 0
    while True:
        attempt += 1
        try:
            reply = _request(request)
        except ProviderFailure as failure:
            totals.requests += 1
            if not failure.retryable or attempt > retries:
                raise _provider_error(request.model, failure, attempt) from None
            wait = min(delay * 2 ** (attempt - 1), _MAX_DELAY) * (0.5 + random.random() / 2)
            if failure.retry_after is not None:
                wait = max(wait, min(failure.retry_after, _MAX_DELAY))
            time.sleep(wait)
            continue
        totals.requests += 1
        totals.add(reply)
        return reply


def _request(request: _Request) -> Reply:
    model = request.model
    if model.api == "anthropic":
        from kitaru.providers import _anthropic

        return _anthropic.complete(
            base_url=model.base_url,
            api_key=request.credentials.api_key,
            model=model.name,
            messages=request.messages,
            temperature=request.temperature,
            max_tokens=request.max_tokens,
            options=request.options,
        )
    from kitaru.providers import _openai

    return _openai.complete(
        base_url=model.base_url,
        api_key=request.credentials.api_key,
        model=model.name,
        messages=request.messages,
        temperature=request.temperature,
        max_tokens=request.max_tokens,
        # OpenAI's own API takes max_completion_tokens; compatible servers take max_tokens.
        max_tokens_name="max_completion_tokens" if model.provider == "openai" else "max_tokens",
        response_format=request.response_format,
        options=request.options,
    )


def _provider_error(model: ResolvedModel, failure: ProviderFailure, attempts: int) -> KitaruRuntimeError:
    status = f"HTTP {failure.status}" if failure.status is not None else "no response"
    if failure.retryable:
        hint = (
            f"It kept failing after {attempts} requests; try again later, or raise "
            "KITARU_LLM_MAX_RETRIES / KITARU_LLM_RETRY_DELAY."
        )
    else:
        hint = "It was not retried: fix the request (model name, options, credentials) and call again."
    return KitaruRuntimeError(f"Model call to {model.resolved!r} failed ({status}): {failure}. {hint}")


# -- structured output ---------------------------------------------------------


def _adapter(schema: Any) -> Any:
    """A pydantic TypeAdapter of ``schema`` (a model class or any type pydantic validates)."""
    if schema is None:
        return None
    from pydantic import PydanticUserError, TypeAdapter

    try:
        adapter = TypeAdapter(schema)
        adapter.json_schema()
    except (PydanticUserError, TypeError) as exc:
        raise KitaruUsageError(
            f"llm(): schema must be a pydantic model or a type pydantic validates, got {schema!r}: {exc}"
        ) from None
    return adapter


def _schema_name(adapter: Any) -> str:
    schema = adapter.json_schema()
    title = schema.get("title") if isinstance(schema, dict) else None
    return str(title or "Output")


def _response_format(
    model: ResolvedModel, adapter: Any, messages: list[dict[str, Any]]
) -> dict[str, Any] | None:
    """OpenAI's structured output for ``openai/`` models; JSON mode plus the schema in a system
    message for other OpenAI-compatible ones; the schema in a system message for Anthropic."""
    if adapter is None:
        return None
    schema = adapter.json_schema()
    if model.provider == "openai":
        name = "".join(c if c.isalnum() or c in "_-" else "_" for c in _schema_name(adapter))[:64]
        return {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": False}}
    instruction = (
        "Reply with only a JSON value (no prose, no code fence) that matches this JSON schema:\n"
        + json.dumps(schema)
    )
    messages.insert(0, {"role": "system", "content": instruction})
    return None if model.api == "anthropic" else {"type": "json_object"}


def _strip_fence(text: str) -> str:
    stripped = text.strip()
    if stripped.startswith("```"):
        stripped = stripped.split("\n", 1)[1] if "\n" in stripped else ""
        if stripped.rstrip().endswith("```"):
            stripped = stripped.rstrip()[:-3]
    return stripped.strip()


def _validate(adapter: Any, text: str, model: ResolvedModel, *, mocked: bool = False) -> Any:
    from pydantic import ValidationError

    try:
        return adapter.validate_json(_strip_fence(text))
    except ValidationError as exc:
        if mocked:
            raise KitaruUsageError(
                f"KITARU_LLM_MOCK_RESPONSE does not fit schema {_schema_name(adapter)!r}: {exc}. "
                "Set it to JSON that matches the schema."
            ) from None
        raise


def _validated(adapter: Any, reply: Reply, request: _Request, totals: _Totals) -> Any:
    """Validate the reply against the schema; on failure ask once more, with the errors."""
    from pydantic import ValidationError

    model = request.model
    try:
        return _validate(adapter, reply.text, model)
    except ValidationError as first:
        repair = [
            *request.messages,
            {"role": "assistant", "content": reply.text},
            {
                "role": "user",
                "content": "That reply does not match the JSON schema: "
                f"{first.errors(include_url=False)!r}. Reply again with only the corrected JSON.",
            },
        ]
    second = _send(dataclasses.replace(request, messages=repair), totals)
    try:
        return _validate(adapter, second.text, model)
    except ValidationError as exc:
        raise KitaruRuntimeError(
            f"Model {model.resolved!r} gave output that does not match schema {_schema_name(adapter)!r}, "
            f"also after one repair request: {exc}. Simplify the schema, or give the model clearer "
            "instructions in the prompt."
        ) from None
