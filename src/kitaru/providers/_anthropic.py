"""Calls through the official ``anthropic`` SDK (Messages API). The only module that imports it."""

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
    import anthropic
except ImportError as exc:  # pragma: no cover - exercised in a subprocess without the SDK
    raise ImportError(
        "kitaru.llm() needs the 'anthropic' package for anthropic/ models: pip install 'kitaru[llm]'"
    ) from exc

__all__ = ["DEFAULT_MAX_TOKENS", "complete"]

#: The Messages API requires ``max_tokens``; this is sent when the caller gives none.
DEFAULT_MAX_TOKENS = 4096

# The SDK's own retries are off: the caller retries with its own backoff.
_clients = SdkClients(
    lambda base_url, api_key: anthropic.Anthropic(api_key=api_key, base_url=base_url, max_retries=0)
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
    options: dict[str, Any],
) -> Reply:
    """Send one Messages request (system messages become its ``system``) and return its text and usage.

    Raises:
        ProviderFailure: the request failed (``retryable`` says whether to try again).
    """
    system = "\n\n".join(str(m["content"]) for m in messages if m["role"] == "system")
    rest = [m for m in messages if m["role"] != "system"]
    kwargs: dict[str, Any] = {
        "model": model,
        "messages": rest,
        "max_tokens": DEFAULT_MAX_TOKENS if max_tokens is None else max_tokens,
        **options,
    }
    if system:
        kwargs["system"] = system
    if temperature is not None:
        kwargs["temperature"] = temperature
    try:
        response = _client(base_url, api_key).messages.create(**kwargs)
    except anthropic.APIStatusError as exc:
        raise ProviderFailure(
            _message(exc),
            status=exc.status_code,
            retryable=exc.status_code in RETRYABLE_STATUSES,
            retry_after=retry_after_seconds(exc.response.headers),
        ) from None
    except anthropic.APIConnectionError as exc:  # includes timeouts
        raise ProviderFailure(f"{type(exc).__name__}: {exc}", status=None, retryable=True) from None
    text = "".join(getattr(block, "text", "") for block in response.content if block.type == "text")
    usage = response.usage
    return Reply(text, usage.input_tokens, usage.output_tokens)


def _message(exc: Any) -> str:
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
    return str(exc.message)
