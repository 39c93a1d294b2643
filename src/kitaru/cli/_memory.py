"""``kitaru memory scopes | list | get | set | delete | history | purge | compact | compaction-log``."""

from __future__ import annotations

import json
from typing import Annotated, Any

from cyclopts import Parameter

from kitaru.cli._executions import client
from kitaru.cli._humanize import ago, size
from kitaru.cli._output import JSON_SOURCES_HELP, Output, OutputOption, UsageProblem, dumps, json_option

__all__ = ["compact", "compaction_log", "delete", "get", "history", "list_", "purge", "scopes", "set_"]

Key = Annotated[str, Parameter(help="The memory key, e.g. conventions/tests.")]
Scope = Annotated[str, Parameter(help="The scope's name (a namespace, a flow's name or an execution id).")]
ScopeType = Annotated[
    str | None,
    Parameter(help="namespace, flow or execution; needed only when the scope name is used by several."),
]


def _entry_row(entry: Any) -> tuple[Any, ...]:
    return (
        entry.key,
        entry.version,
        "deleted" if entry.is_deleted else entry.value_type,
        size(entry.size),
        entry.execution_id[-12:] if entry.execution_id else "-",
        ago(entry.created_at),
    )


_ENTRY_COLUMNS = ["KEY", "VERSION", "TYPE", "SIZE", "EXECUTION", "CREATED"]


def _plain(value: Any) -> tuple[bool, Any]:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False, None
    return True, value


def scopes(*, output: OutputOption = "text") -> int:
    """List the memory scopes."""
    out = Output("memory.scopes", output)
    found = client().memories.scopes()
    if out.json:
        out.items([s.to_dict() for s in found])
        return 0
    if not found:
        out.line("No memory yet. Write some with `kitaru memory set KEY VALUE --scope NAME`.")
        return 0
    rows = [(s.scope_type, s.scope, s.entry_count, s.key_count, ago(s.updated_at)) for s in found]
    out.table(["TYPE", "SCOPE", "KEYS", "WITH DELETED", "UPDATED"], rows)
    return 0


def list_(
    *,
    scope: Scope,
    scope_type: ScopeType = None,
    prefix: Annotated[str | None, Parameter(help="Only keys starting with this.")] = None,
    output: OutputOption = "text",
) -> int:
    """List the newest version of each live key of a scope."""
    out = Output("memory.list", output)
    entries = client().memories.list(scope=scope, scope_type=scope_type, prefix=prefix)
    if out.json:
        out.items([e.to_dict() for e in entries])
        return 0
    if not entries:
        out.line(f"No keys in scope {scope!r}" + (f" starting with {prefix!r}." if prefix else "."))
        return 0
    out.table(_ENTRY_COLUMNS, [_entry_row(e) for e in entries])
    return 0


def get(
    key: Key,
    /,
    *,
    scope: Scope,
    scope_type: ScopeType = None,
    version: Annotated[int | None, Parameter(help="This version instead of the newest.")] = None,
    output: OutputOption = "text",
) -> int:
    """Print a key's value (the newest version, or --version)."""
    out = Output("memory.get", output)
    memories = client().memories
    entry = memories.get(key, scope=scope, scope_type=scope_type, version=version)
    if entry is None or entry.is_deleted:
        from kitaru.errors import KitaruStateError

        what = f"version {version} of key {key!r}" if version else f"key {key!r}"
        deleted = entry is not None or (
            version is None and memories.history(key, scope=scope, scope_type=scope_type)
        )
        state = "was deleted" if deleted else "does not exist"
        raise KitaruStateError(
            f"Memory {what} in scope {scope!r} {state}. "
            f"See `kitaru memory history {key} --scope {scope}` for its versions."
        )
    value = memories.value(key, scope=entry.scope, scope_type=entry.scope_type, version=entry.version)
    ok, plain = _plain(value)
    if out.json:
        out.item({**entry.to_dict(), "value": plain if ok else None, "repr": None if ok else repr(value)})
    elif isinstance(value, str):
        out.line(value)
    else:
        out.line(dumps(value) if ok else repr(value))
    return 0


def set_(
    key: Key,
    value: Annotated[
        str, Parameter(help=f"The value as JSON (strings in quotes: '\"text\"'). {JSON_SOURCES_HELP}")
    ],
    /,
    *,
    scope: Scope,
    scope_type: ScopeType = None,
    output: OutputOption = "text",
) -> int:
    """Write a new version of a key."""
    out = Output("memory.set", output)
    parsed = json_option(value, option="VALUE")
    entry = client().memories.set(key, parsed, scope=scope, scope_type=scope_type)
    if out.json:
        out.item(entry.to_dict())
    else:
        out.line(f"Wrote {entry.key!r} version {entry.version} in {entry.scope_type} {entry.scope!r}.")
    return 0


def delete(key: Key, /, *, scope: Scope, scope_type: ScopeType = None, output: OutputOption = "text") -> int:
    """Delete a key (a tombstone version; its history stays)."""
    out = Output("memory.delete", output)
    entry = client().memories.delete(key, scope=scope, scope_type=scope_type)
    if out.json:
        out.item(entry.to_dict())
    else:
        out.line(
            f"Deleted {entry.key!r} in {entry.scope_type} {entry.scope!r} "
            f"(tombstone version {entry.version})."
        )
    return 0


def history(key: Key, /, *, scope: Scope, scope_type: ScopeType = None, output: OutputOption = "text") -> int:
    """List every version of a key, newest first."""
    out = Output("memory.history", output)
    entries = client().memories.history(key, scope=scope, scope_type=scope_type)
    if out.json:
        out.items([e.to_dict() for e in entries])
        return 0
    if not entries:
        out.line(f"Key {key!r} has no versions in scope {scope!r}.")
        return 0
    out.table(_ENTRY_COLUMNS, [_entry_row(e) for e in entries])
    return 0


def purge(
    key: Annotated[str | None, Parameter(help="The key whose old versions go.")] = None,
    /,
    *,
    scope: Scope,
    scope_type: ScopeType = None,
    keep: Annotated[int, Parameter(help="How many of the newest versions stay (1 or more).")] = 1,
    all_keys: Annotated[
        bool, Parameter(name="--all", negative="", help="Delete every version of every key of the scope.")
    ] = False,
    output: OutputOption = "text",
) -> int:
    """Delete old versions of a key (or, with --all, the whole scope); logged in the compaction log."""
    out = Output("memory.purge", output)
    memories = client().memories
    if (key is None) == (not all_keys):
        raise UsageProblem("Give a KEY (its old versions go) or --all (the whole scope), not both.")
    if key is not None:
        result = memories.purge(key, scope=scope, scope_type=scope_type, keep=keep)
    else:
        result = memories.purge_scope(scope=scope, scope_type=scope_type)
    if out.json:
        out.item(result.to_dict())
    else:
        out.line(
            f"Deleted {result.versions_deleted} versions of {result.keys_affected} keys "
            f"in {result.scope_type} {result.scope!r}."
        )
    return 0


def compact(
    key: Annotated[
        str | None, Parameter(help="The key whose versions are summarised into a new one.")
    ] = None,
    /,
    *,
    scope: Scope,
    scope_type: ScopeType = None,
    keys: Annotated[
        tuple[str, ...], Parameter(name="--keys", help="Summarise the current values of these keys instead.")
    ] = (),
    target_key: Annotated[str | None, Parameter(help="Where the summary goes (needed with --keys).")] = None,
    instruction: Annotated[str | None, Parameter(help="How to summarise (a default one otherwise).")] = None,
    model: Annotated[str | None, Parameter(help="The model or alias (the default model otherwise).")] = None,
    output: OutputOption = "text",
) -> int:
    """Summarise memory with a model into a new version; logged in the compaction log."""
    out = Output("memory.compact", output)
    if (key is None) == (not keys):
        raise UsageProblem("Give a KEY (its versions are summarised) or --keys K1 --keys K2 (their values).")
    result = client().memories.compact(
        key,
        keys=list(keys) if keys else None,
        scope=scope,
        scope_type=scope_type,
        target_key=target_key,
        instruction=instruction,
        model=model,
    )
    if out.json:
        out.item(result.to_dict())
    else:
        out.line(
            f"Summarised {result.sources_read} versions into {result.entry.key!r} "
            f"version {result.entry.version} in {result.scope_type} {result.scope!r}."
        )
    return 0


def compaction_log(
    *,
    scope: Annotated[str | None, Parameter(help="Only this scope.")] = None,
    scope_type: ScopeType = None,
    key: Annotated[str | None, Parameter(help="Only compactions into this key.")] = None,
    output: OutputOption = "text",
) -> int:
    """List compactions and purges, newest first."""
    out = Output("memory.compaction-log", output)
    records = client().memories.compaction_log(scope=scope, scope_type=scope_type, key=key)
    if out.json:
        out.items([r.to_dict() for r in records])
        return 0
    if not records:
        out.line("No compactions or purges recorded.")
        return 0
    rows = [
        (
            r.operation,
            f"{r.scope_type}:{r.scope}",
            f"{r.target_key} v{r.target_version}" if r.target_key else "-",
            len(r.source_versions) if r.operation == "compact" else r.versions_deleted,
            r.model or "-",
            ago(r.timestamp),
        )
        for r in records
    ]
    out.table(["OPERATION", "SCOPE", "TARGET", "VERSIONS", "MODEL", "WHEN"], rows)
    return 0
