"""Model aliases: short names for provider models, with the secret holding their credentials.

Aliases live in ``config.json`` in the data directory. The first alias
registered becomes the default one unless another is registered with
``default=True``. A model is named ``provider/model``: ``openai/…``,
``anthropic/…``, ``ollama/…``, ``openrouter/…``, or any provider name for an
OpenAI-compatible endpoint given by ``base_url``.

Example:
    >>> from kitaru.config.model_aliases import register_model
    >>> register_model("fast", model="openai/gpt-4o-mini", secret="openai")  # doctest: +SKIP
    ModelAlias(alias='fast', model='openai/gpt-4o-mini', secret='openai', base_url=None, default=True)
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from kitaru._types import Record
from kitaru.config._home import read_config, update_config
from kitaru.errors import KitaruStateError, KitaruUsageError

__all__ = [
    "PROVIDERS",
    "ModelAlias",
    "list_models",
    "register_model",
    "registry_for_spec",
    "resolve_in",
    "resolve_model",
]

#: Providers known without a ``base_url``.
PROVIDERS = ("openai", "anthropic", "ollama", "openrouter")
_ALIAS = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_MODEL = re.compile(r"^[A-Za-z0-9_.-]+/\S+$")


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class ModelAlias(Record):
    """A registered model alias.

    Example:
        >>> ModelAlias("fast", "openai/gpt-4o-mini").provider
        'openai'
    """

    alias: str
    model: str
    secret: str | None = None
    base_url: str | None = None
    default: bool = False

    @property
    def provider(self) -> str:
        """The provider part of ``model``."""
        return self.model.split("/", 1)[0]

    def to_dict(self) -> dict[str, Any]:
        """Return the alias as a JSON-serializable dict."""
        return asdict(self)


def _aliases(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    models = config.get("models", {})
    return models if isinstance(models, dict) else {}


def register_model(
    alias: str, *, model: str, secret: str | None = None, base_url: str | None = None, default: bool = False
) -> ModelAlias:
    """Register (or replace) a model alias.

    Raises:
        KitaruUsageError: a malformed alias, model, provider or base URL.

    Example:
        >>> register_model("claude", model="anthropic/claude-sonnet-4", secret="anthropic")  # doctest: +SKIP
    """
    if not isinstance(alias, str) or not _ALIAS.match(alias):
        raise KitaruUsageError(f"Model alias {alias!r} is not valid; use letters, digits, '.', '_' and '-'.")
    if not isinstance(model, str) or not _MODEL.match(model):
        raise KitaruUsageError(
            f"Model {model!r} for alias {alias!r} must look like provider/model, e.g. openai/gpt-4o-mini."
        )
    provider = model.split("/", 1)[0]
    if base_url is None and provider not in PROVIDERS:
        raise KitaruUsageError(
            f"Unknown provider {provider!r} in {model!r}; known providers are {', '.join(PROVIDERS)}. "
            "For another OpenAI-compatible endpoint give its base URL (--base-url)."
        )
    if base_url is not None and not base_url.startswith(("http://", "https://")):
        raise KitaruUsageError(
            f"Base URL {base_url!r} for alias {alias!r} must start with http:// or https://."
        )
    record = {"model": model, "secret": secret, "base_url": base_url}

    def change(config: dict[str, Any]) -> bool:
        aliases = config.setdefault("models", {})
        aliases[alias] = record
        if default or not config.get("default_model_alias") or config["default_model_alias"] not in aliases:
            config["default_model_alias"] = alias
        return bool(config["default_model_alias"] == alias)

    is_default = update_config(change)
    return ModelAlias(alias, model, secret, base_url, default=is_default)


def list_models() -> list[ModelAlias]:
    """Return the registered aliases, sorted by name.

    Example:
        >>> [m.alias for m in list_models()]  # doctest: +SKIP
        ['claude', 'fast']
    """
    config = read_config()
    default = config.get("default_model_alias")
    return [
        ModelAlias(
            name,
            str(record.get("model")),
            record.get("secret"),
            record.get("base_url"),
            default=name == default,
        )
        for name, record in sorted(_aliases(config).items())
    ]


def resolve_model(name: str | None, *, default_model: str | None = None) -> ModelAlias:
    """Resolve a model: explicit ``name``, then ``default_model`` (the setting, e.g.
    ``KITARU_DEFAULT_MODEL``), then the default alias. An alias resolves to its
    registration; ``provider/model`` stands for itself.

    Raises:
        KitaruStateError: nothing to resolve, or an unknown alias.

    Example:
        >>> resolve_model("openai/gpt-4o").provider
        'openai'
    """
    config = read_config()
    return resolve_in(_aliases(config), config.get("default_model_alias"), name, default_model=default_model)


def resolve_in(
    aliases: dict[str, dict[str, Any]],
    default_alias: str | None,
    name: str | None,
    *,
    default_model: str | None = None,
    where: str = "",
) -> ModelAlias:
    """Resolve a model as :func:`resolve_model` does, among ``aliases`` (``alias -> record``)
    with ``default_alias``; ``where`` (e.g. `` on server URL``) says where they are registered.

    Raises:
        KitaruStateError: nothing to resolve, or an unknown alias.

    Example:
        >>> resolve_in({"fast": {"model": "openai/gpt-4o-mini"}}, "fast", None).model
        'openai/gpt-4o-mini'
    """
    chosen = name or default_model or default_alias
    if not chosen:
        raise KitaruStateError(
            "No model given and no default: pass model=, set KITARU_DEFAULT_MODEL, or register an alias "
            f"with `kitaru model register ALIAS --model provider/model`{where}."
        )
    record = aliases.get(chosen)
    if record is not None:
        return ModelAlias(chosen, str(record["model"]), record.get("secret"), record.get("base_url"))
    if _MODEL.match(chosen):
        return ModelAlias(chosen, chosen)
    known = ", ".join(sorted(aliases)) or "none"
    raise KitaruStateError(
        f"Model {chosen!r} is neither a registered alias (registered{where}: {known}) nor provider/model. "
        "Register it with `kitaru model register`."
    )


def registry_for_spec() -> dict[str, Any]:
    """The model registry as stored in each execution's frozen spec."""
    config = read_config()
    return {"default_alias": config.get("default_model_alias"), "aliases": _aliases(config)}
