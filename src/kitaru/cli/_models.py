"""``kitaru model register | list``: model aliases for ``kitaru.llm()``."""

from __future__ import annotations

import os
from typing import Annotated

from cyclopts import Parameter

from kitaru.cli._output import Output, OutputOption

__all__ = ["list_", "register"]


def register(
    alias: Annotated[str, Parameter(help="The short name used as llm(model=ALIAS).")],
    /,
    *,
    model: Annotated[
        str, Parameter(help="provider/model, e.g. openai/gpt-4o-mini or anthropic/claude-sonnet-4.")
    ],
    secret: Annotated[str | None, Parameter(help="The secret holding the provider's credentials.")] = None,
    base_url: Annotated[str | None, Parameter(help="Base URL of an OpenAI-compatible endpoint.")] = None,
    default: Annotated[bool, Parameter(negative="", help="Make it the default alias.")] = False,
    output: OutputOption = "text",
) -> int:
    """Register (or replace) a model alias."""
    from kitaru.config.model_aliases import register_model
    from kitaru.config.secrets import list_secrets

    out = Output("model.register", output)
    registered = register_model(alias, model=model, secret=secret, base_url=base_url, default=default)
    if secret is not None and secret not in {s.name for s in list_secrets()}:
        out.note(
            f"Note: secret {secret!r} does not exist yet; create it with `kitaru secrets set {secret} KEY`."
        )
    if out.json:
        out.item(registered.to_dict())
    else:
        marker = " (default)" if registered.default else ""
        out.line(f"Registered model alias {alias!r} → {model}{marker}.")
    return 0


def list_(*, output: OutputOption = "text") -> int:
    """List model aliases."""
    from kitaru.config.model_aliases import list_models

    out = Output("model.list", output)
    models = list_models()
    if out.json:
        out.items([m.to_dict() for m in models])
        return 0
    if not models:
        out.line("No model aliases. Register one with `kitaru model register ALIAS --model provider/model`.")
        return 0
    rows = [
        (m.alias, m.model, m.secret or "-", m.base_url or "-", "yes" if m.default else "") for m in models
    ]
    out.table(["ALIAS", "MODEL", "SECRET", "BASE URL", "DEFAULT"], rows)
    override = os.environ.get("KITARU_DEFAULT_MODEL")
    if override:
        out.note(f"KITARU_DEFAULT_MODEL={override} overrides the default alias.")
    return 0
