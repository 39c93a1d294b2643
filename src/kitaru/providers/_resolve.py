"""Which model a call uses and the credentials it sends.

Model resolution: the explicit ``model``, else the ``default_model`` setting
(``KITARU_DEFAULT_MODEL``, ``kitaru.configure()``, the stack, ``[tool.kitaru]``),
else the default alias. An alias resolves to ``provider/model`` with an optional
secret and base URL; ``provider/model`` stands for itself.

Credentials: the provider's environment variable (``OPENAI_API_KEY``, ...), else
the alias's secret (its values overlaid for that call only), else an error naming
both. Ollama needs none. The secret's values are never logged nor recorded: only
where the credential came from is.

Aliases and secrets come from a :class:`~kitaru.config.registry.Registry`: the one given
(a Kitaru server's, for the flows stored by it), else the data directory's.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kitaru.config.model_aliases import PROVIDERS
from kitaru.errors import KitaruStateError, KitaruUsageError

if TYPE_CHECKING:
    from kitaru.config.registry import Registry

__all__ = [
    "API_KEY_VARS",
    "Credentials",
    "ResolvedModel",
    "credentials_for",
    "resolve",
]

#: The environment variable holding each provider's API key (Ollama needs none).
API_KEY_VARS = {
    "openai": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "openrouter": "OPENROUTER_API_KEY",
    "ollama": None,
}
_OLLAMA_DEFAULT_HOST = "http://localhost:11434"
_OPENROUTER_URL = "https://openrouter.ai/api/v1"


@dataclass(frozen=True, slots=True)
class ResolvedModel:
    """A model as a call uses it.

    Example:
        >>> ResolvedModel("fast", "openai", "gpt-4o-mini", alias="fast").resolved
        'openai/gpt-4o-mini'
    """

    requested: str | None
    """What the caller asked for (``None``: the default)."""
    provider: str
    """``openai``, ``anthropic``, ``ollama``, ``openrouter`` or a custom OpenAI-compatible name."""
    name: str
    """The provider's model name (``gpt-4o-mini``)."""
    alias: str | None = None
    """The alias it came from, if any."""
    secret: str | None = None
    """The secret named by the alias, if any."""
    base_url: str | None = None
    """The endpoint (the alias's, Ollama's or OpenRouter's); ``None``: the SDK's default."""

    @property
    def resolved(self) -> str:
        """``provider/model``."""
        return f"{self.provider}/{self.name}"

    @property
    def api(self) -> str:
        """The API the call speaks: ``anthropic``, or ``openai`` (Chat Completions) for the rest."""
        return "anthropic" if self.provider == "anthropic" else "openai"


def _default_model() -> str | None:
    from kitaru.config import resolve_settings

    value = resolve_settings().values.get("default_model")
    return value if isinstance(value, str) and value else None


def _local(registry: Registry | None) -> Registry:
    if registry is not None:
        return registry
    from kitaru.config.registry import LocalRegistry

    return LocalRegistry()


def resolve(model: str | None, *, registry: Registry | None = None) -> ResolvedModel:
    """Resolve ``model`` (explicit, else the ``default_model`` setting, else the default alias)
    among the aliases of ``registry`` (default: the data directory's).

    Raises:
        KitaruUsageError: ``model`` is not a string.
        KitaruStateError: nothing to resolve, or an unknown alias or provider.
    """
    if model is not None and (not isinstance(model, str) or not model.strip()):
        raise KitaruUsageError(f"model= must be a model alias or 'provider/model', got {model!r}.")
    chosen = model.strip() if model is not None else _default_model()
    entry = _local(registry).resolve_model(chosen)
    provider, name = entry.model.split("/", 1)
    base_url = entry.base_url
    if base_url is None and provider not in PROVIDERS:
        raise KitaruStateError(
            f"Model {entry.model!r} names provider {provider!r}, which is not one of "
            f"{', '.join(PROVIDERS)}. For another OpenAI-compatible endpoint register an alias with "
            "its base URL: `kitaru model register ALIAS --model provider/name --base-url URL`."
        )
    if base_url is None and provider == "ollama":
        base_url = _ollama_url()
    elif base_url is None and provider == "openrouter":
        base_url = _OPENROUTER_URL
    alias = None if entry.alias == entry.model else entry.alias  # provider/model stands for itself
    return ResolvedModel(
        requested=model,
        provider=provider,
        name=name,
        alias=alias,
        secret=entry.secret,
        base_url=base_url,
    )


def _ollama_url() -> str:
    host = os.environ.get("OLLAMA_HOST", "").strip() or _OLLAMA_DEFAULT_HOST
    if "://" not in host:
        host = f"http://{host}"
    if not host.startswith(("http://", "https://")):
        raise KitaruUsageError(
            f"Environment variable OLLAMA_HOST must be host:port or an http(s) URL, got {host!r}."
        )
    return host.rstrip("/") + "/v1"


@dataclass(frozen=True, slots=True)
class Credentials:
    """The API key of one call and where it came from (``source`` is recorded, ``api_key`` never)."""

    api_key: str
    source: str

    def __repr__(self) -> str:
        return f"Credentials(api_key='***', source={self.source!r})"


def credentials_for(model: ResolvedModel, *, registry: Registry | None = None) -> Credentials:
    """The credentials of a call to ``model``: the provider's environment variable, else the
    alias's secret (kept by ``registry``, default: the data directory), else an error naming both.

    Raises:
        KitaruStateError: neither has the key.
    """
    if model.provider == "ollama":
        return Credentials("ollama", "none (Ollama needs no key)")
    # A custom OpenAI-compatible endpoint takes the OpenAI key variable.
    var = API_KEY_VARS.get(model.provider) or "OPENAI_API_KEY"
    value = os.environ.get(var, "").strip()
    if value:
        return Credentials(value, f"environment variable {var}")
    if model.secret is not None:
        kept_by = _local(registry)
        where = f" on {kept_by.where}" if getattr(kept_by, "is_server", False) else ""
        values = kept_by.get_secret(model.secret).values
        key = values.get(var, "").strip()
        if key:
            return Credentials(key, f"secret {model.secret!r}{where} ({var})")
        raise KitaruStateError(
            f"No credentials for model {model.resolved!r}: environment variable {var} is not set, and "
            f"secret {model.secret!r}{where} of alias {model.alias!r} has no key {var} (it has "
            f"{', '.join(sorted(values)) or 'no keys'}). Set it with "
            f"`kitaru secrets set {model.secret} --{var}=...`, or export {var}."
        )
    alias_hint = (
        f"alias {model.alias!r} names no secret"
        if model.alias is not None
        else "no alias with a secret was used"
    )
    raise KitaruStateError(
        f"No credentials for model {model.resolved!r}: environment variable {var} is not set and "
        f"{alias_hint}. Export {var}, or store it in a secret and link it: "
        f"`kitaru secrets set NAME --{var}=...` then "
        f"`kitaru model register ALIAS --model {model.resolved} --secret NAME`."
    )
