"""Calls through the official ``openai`` SDK: OpenAI, Ollama, OpenRouter and any
OpenAI-compatible endpoint (Chat Completions). The only module that imports ``openai``."""

from __future__ import annotations

from typing import Any

from kitaru.providers._reply import (
    RETRYABLE_STATUSES,
    ProviderFailure,
    Reply,
    SdkClients,
    retry_after_seconds,
)

try:
    import openai
except ImportError as exc:  # pragma: no cover - exercised in a subprocess without the SDK
    raise ImportError(
        "kitaru.llm() needs the 'openai' package for openai/, ollama/, openrouter/ and "
        "OpenAI-compatible models: pip install 'kitaru[llm]'"
    ) from exc

__all__ = ["complete"]

# The SDK's own retries are off: the caller retries with its own backoff.
_clients = SdkClients(
    lambda base_url, api_key: openai.OpenAI(api_key=api_key, base_url=base_url, max_retries=0)
)
_client = _clients.get


def complete(
    *,
    base_url: str | None,
    api_key: str,
    model: str,
    messages: list[dict[str, Any]],
    temperature: float | None,
    max_tokens: int | None,
    max_tokens_name: str,
    response_format: dict[str, Any] | None,
    options: dict[str, Any],
) -> Reply:
    """Send one Chat Completions request and return its text and usage.

    Raises:
        ProviderFailure: the request failed (``retryable`` says whether to try again).
    """
    kwargs: dict[str, Any] = {"model": model, "messages": messages, **options}
    if temperature is not None:
        kwargs["temperature"] = temperature
    if max_tokens is not None:
        kwargs[max_tokens_name] = max_tokens
    if response_format is not None:
        kwargs["response_format"] = response_format
    try:
        response = _client(base_url, api_key).chat.completions.create(**kwargs)
    except openai.APIStatusError as exc:
        raise ProviderFailure(
            _message(exc),
            status=exc.status_code,
            retryable=exc.status_code in RETRYABLE_STATUSES,
            retry_after=retry_after_seconds(exc.response.headers),
        ) from None
    except openai.APIConnectionError as exc:  # includes timeouts
        raise ProviderFailure(f"{type(exc).__name__}: {exc}", status=None, retryable=True) from None
    choices = response.choices or []
    text = (choices[0].message.content or "") if choices else ""
    usage = response.usage
    if usage is None:
        return Reply(text, None, None)
    return Reply(text, usage.prompt_tokens, usage.completion_tokens)


def _message(exc: Any) -> str:
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
    return str(exc.message)
