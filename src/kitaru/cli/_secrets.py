"""``kitaru secrets set | show | list | delete``: credentials, encrypted at rest.

Connected to a Kitaru server (a server stack, ``kitaru login``, ``KITARU_SERVER_URL``), they
act on the server's secrets, which the flows it stores use; else on the data directory's.
Values are never printed unless ``show --show-values`` asks for them.
"""

from __future__ import annotations

import getpass
import sys
from typing import Annotated

from cyclopts import Parameter

from kitaru.cli._humanize import ago
from kitaru.cli._output import Output, OutputOption, UsageProblem

__all__ = ["delete", "list_", "pairs_from_options", "set_", "show"]

_OWN_OPTIONS = ("--output", "--help")


def pairs_from_options(tokens: list[str]) -> list[str]:
    """``secrets set NAME --KEY=VALUE``: turn each ``--KEY=VALUE`` into the pair ``KEY=VALUE``.

    The command's own options (``--output``, ``--help``) stay options.

    Example:
        >>> pairs_from_options(["secrets", "set", "openai", "--OPENAI_API_KEY=sk-1", "-o", "json"])
        ['secrets', 'set', 'openai', 'OPENAI_API_KEY=sk-1', '-o', 'json']
    """
    rewritten: list[str] = []
    for token in tokens:
        key, sep, _ = token.partition("=")
        if sep and key.startswith("--") and len(key) > 2 and key not in _OWN_OPTIONS:
            token = token[2:]
        rewritten.append(token)
    return rewritten


SecretName = Annotated[str, Parameter(help="The secret's name.")]


def _read_value(key: str) -> str:
    if sys.stdin.isatty():
        return getpass.getpass(f"Value of {key}: ")
    line = sys.stdin.readline()
    if not line:
        raise UsageProblem(f"No value for {key}: give {key}=VALUE, or one line per bare key on stdin.")
    return line.rstrip("\n")


def set_(
    name: SecretName,
    pairs: Annotated[
        tuple[str, ...],
        Parameter(help="KEY=VALUE pairs (or --KEY=VALUE); a bare KEY is asked for (or read from stdin)."),
    ],
    /,
    *,
    output: OutputOption = "text",
) -> int:
    """Create or replace a secret (on the server when connected to one)."""
    from kitaru.serving import active_registry

    out = Output("secrets.set", output)
    registry = active_registry()
    values: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        values[key] = value if sep else _read_value(key)
    info = registry.set_secret(name, values)
    if out.json:
        out.item({"name": info.name, "keys": list(info.keys), "updated_at": info.updated_at})
    elif registry.is_server:
        out.line(f"Stored secret {name!r} with keys {', '.join(info.keys)} on {registry.where}.")
    else:
        out.line(f"Stored secret {name!r} with keys {', '.join(info.keys)} (encrypted).")
    return 0


def show(
    name: SecretName,
    /,
    *,
    show_values: Annotated[bool, Parameter(negative="", help="Print the values too.")] = False,
    output: OutputOption = "text",
) -> int:
    """Show a secret's keys (values masked unless --show-values)."""
    from kitaru.serving import active_registry

    out = Output("secrets.show", output)
    registry = active_registry()
    info = registry.get_secret(name) if show_values else registry.describe_secret(name)
    values = dict(info.values) if show_values else info.masked()
    if out.json:
        out.item(
            {"name": info.name, "keys": list(info.keys), "values": values, "updated_at": info.updated_at}
        )
    else:
        out.fields([("Secret", info.name), ("Updated", ago(info.updated_at)), *values.items()])
    return 0


def list_(*, output: OutputOption = "text") -> int:
    """List secrets (names and keys, never values; the server's when connected to one)."""
    from kitaru.serving import active_registry

    out = Output("secrets.list", output)
    registry = active_registry()
    secrets = registry.list_secrets()
    if out.json:
        out.items([{"name": s.name, "keys": list(s.keys), "updated_at": s.updated_at} for s in secrets])
        return 0
    if not secrets:
        where = f" on {registry.where}" if registry.is_server else ""
        out.line(f"No secrets{where}. Store one with `kitaru secrets set NAME KEY`.")
        return 0
    out.table(["NAME", "KEYS", "UPDATED"], [(s.name, ", ".join(s.keys), ago(s.updated_at)) for s in secrets])
    return 0


def delete(name: SecretName, /, *, output: OutputOption = "text") -> int:
    """Delete a secret (on the server when connected to one)."""
    from kitaru.serving import active_registry

    out = Output("secrets.delete", output)
    registry = active_registry()
    registry.delete_secret(name)
    if out.json:
        out.item({"name": name, "deleted": True})
    else:
        out.line(f"Deleted secret {name!r}{f' on {registry.where}' if registry.is_server else ''}.")
    return 0
