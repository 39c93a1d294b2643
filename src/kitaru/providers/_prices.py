"""Cost in USD from the ``genai-prices`` price table. The only module that imports it."""

from __future__ import annotations

try:
    from genai_prices import Usage, calc_price
except ImportError as exc:  # pragma: no cover - exercised in a subprocess without the package
    raise ImportError(
        "kitaru.llm() needs the 'genai-prices' package to price model calls: pip install 'kitaru[llm]'"
    ) from exc

__all__ = ["cost_usd"]

#: Providers the price table knows, by the names their callers use (``kitaru.llm()``'s provider
#: prefixes, PydanticAI's model ``system`` names) -> the table's ids; others (Ollama, custom
#: endpoints) have no price.
_PRICED = {
    "openai": "openai",
    "anthropic": "anthropic",
    "openrouter": "openrouter",
    "google": "google",
    "google-gla": "google",
    "google-vertex": "google",
    "groq": "groq",
    "mistral": "mistral",
    "deepseek": "deepseek",
    "cohere": "cohere",
    "bedrock": "aws",
    "xai": "x-ai",
}


def cost_usd(provider: str, model: str, input_tokens: int | None, output_tokens: int | None) -> float | None:
    """The price of one call in USD; ``None`` when the model, the provider or the usage is unknown.

    Example:
        >>> cost_usd("ollama", "llama3", 10, 10) is None
        True
    """
    provider_id = _PRICED.get(provider)
    if provider_id is None or input_tokens is None or output_tokens is None:
        return None
    try:
        price = calc_price(
            Usage(input_tokens=input_tokens, output_tokens=output_tokens), model, provider_id=provider_id
        )
    except LookupError:
        return None
    return float(price.total_price)
