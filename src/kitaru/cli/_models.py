"""``kitaru model register | list``: model aliases for ``kitaru.llm()``.

Connected to a Kitaru server (a server stack, ``kitaru login``, ``KITARU_SERVER_URL``), they
act on the server's aliases, which the flows it stores use; else on the data directory's.
"""

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
    """Register (or replace) a model alias (on the server when connected to one)."""
    from kitaru.serving import active_registry

    out = Output("model.register", output)
    registry = active_registry()
    registered = registry.register_model(
        alias, model=model, secret=secret, base_url=base_url, default=default
    )
    if secret is not None and secret not in {s.name for s in registry.list_secrets()}:
        out.note(
            f"Note: secret {secret!r} does not exist yet; create it with `kitaru secrets set {secret} KEY`."
        )
    if out.json:
        out.item(registered.to_dict())
    else:
        marker = " (default)" if registered.default else ""
        where = f" on {registry.where}" if registry.is_server else ""
        out.line(f"Registered model alias {alias!r} → {model}{marker}{where}.")
    return 0


def list_(*, output: OutputOption = "text") -> int:
    """List model aliases (the server's when connected to one)."""
    from kitaru.serving import active_registry

    out = Output("model.list", output)
    registry = active_registry()
    models = registry.list_models()
    if out.json:
        out.items([m.to_dict() for m in models])
        return 0
    if not models:
        where = f" on {registry.where}" if registry.is_server else ""
        out.line(
            f"No model aliases{where}. "
            "Register one with `kitaru model register ALIAS --model provider/model`."
        )
        return 0
    rows = [
        (m.alias, m.model, m.secret or "-", m.base_url or "-", "yes" if m.default else "") for m in models
    ]
    out.table(["ALIAS", "MODEL", "SECRET", "BASE URL", "DEFAULT"], rows)
    if registry.is_server:
        out.note(f"Aliases of {registry.where}.")
    override = os.environ.get("KITARU_DEFAULT_MODEL")
    if override:
        out.note(f"KITARU_DEFAULT_MODEL={override} overrides the default alias.")
    return 0
