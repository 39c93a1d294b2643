"""``kitaru stack list | current | show | use | create | delete``: local stacks."""

from __future__ import annotations

from typing import Annotated, Any

from cyclopts import Parameter

from kitaru.cli._output import Output, OutputOption

__all__ = ["create", "current", "delete", "list_", "show", "use"]

StackName = Annotated[str, Parameter(help="The stack's name.")]


def _show(out: Output, stack: Any) -> None:
    pairs = [
        ("Stack", stack.name),
        ("Id", stack.id),
        ("Active", "yes" if stack.is_active else "no"),
        ("Kind", stack.kind),
        ("Store", stack.store_url),
        ("Artifacts", stack.artifacts_dir),
    ]
    if stack.settings:
        pairs.append(("Settings", ", ".join(f"{k}={v!r}" for k, v in sorted(stack.settings.items()))))
    if stack.chosen_by:
        pairs.append(("Chosen by", stack.chosen_by))
    out.fields(pairs)


def list_(*, output: OutputOption = "text") -> int:
    """List stacks; the active one is marked with *."""
    from kitaru.config.stacks import list_stacks

    out = Output("stack.list", output)
    stacks = list_stacks()
    if out.json:
        out.items([s.to_dict() for s in stacks])
        return 0
    rows = [("*" if s.active else "", s.name, s.kind, s.store_url, s.artifacts_dir) for s in stacks]
    out.table(["", "NAME", "KIND", "STORE", "ARTIFACTS"], rows)
    return 0


def current(*, output: OutputOption = "text") -> int:
    """Show the active stack and what chose it."""
    from kitaru.config.stacks import current_stack

    out = Output("stack.current", output)
    stack = current_stack()
    if out.json:
        out.item(stack.to_dict())
    else:
        _show(out, stack)
    return 0


def show(
    name: Annotated[str | None, Parameter(help="The stack's name or id (default: the active stack).")] = None,
    /,
    *,
    output: OutputOption = "text",
) -> int:
    """Show a stack by name or id: its id, store, artifacts, settings and whether it is active."""
    from kitaru.config.stacks import current_stack, find_stack

    out = Output("stack.show", output)
    stack = current_stack() if name is None else find_stack(name)
    if out.json:
        out.item(stack.to_dict())
    else:
        _show(out, stack)
    return 0


def use(name: StackName, /, *, output: OutputOption = "text") -> int:
    """Make a stack the active one of this data directory."""
    from kitaru.config.stacks import use_stack

    out = Output("stack.use", output)
    stack = use_stack(name)
    if out.json:
        out.item(stack.to_dict())
        return 0
    out.line(f"Active stack: {name}.")
    if not stack.active:
        from kitaru.config.stacks import current_stack

        winner = current_stack()
        out.note(f"Note: {winner.chosen_by} selects stack {winner.name!r}, which takes precedence.")
    return 0


def create(
    name: StackName,
    /,
    *,
    store_url: Annotated[
        str | None,
        Parameter(help="sqlite:///FILE, postgresql+psycopg://user@host/db, or a SQLite file path."),
    ] = None,
    artifacts_dir: Annotated[
        str | None, Parameter(help="Where artifacts are written: a directory or s3://bucket/prefix.")
    ] = None,
    cache: Annotated[
        bool | None, Parameter(help="Default cache setting of executions on this stack.")
    ] = None,
    retries: Annotated[int | None, Parameter(help="Default flow retries on this stack.")] = None,
    default_model: Annotated[str | None, Parameter(help="Default model (alias or provider/model).")] = None,
    direct_artifacts: Annotated[
        bool | None,
        Parameter(
            help="With a server: read and write artifacts in its object storage directly, "
            "with URLs the server signs."
        ),
    ] = None,
    activate: Annotated[
        bool,
        Parameter(
            name=["--activate", "--use"],
            negative="--no-activate",
            help="Make it the active stack (the default); --no-activate keeps the active one.",
        ),
    ] = True,
    output: OutputOption = "text",
) -> int:
    """Create a local stack and make it the active one (unless --no-activate)."""
    from kitaru.config.stacks import create_stack

    out = Output("stack.create", output)
    given = {
        "cache": cache,
        "retries": retries,
        "default_model": default_model,
        "direct_artifacts": direct_artifacts,
    }
    settings = {k: v for k, v in given.items() if v is not None}
    stack = create_stack(
        name, store_url=store_url, artifacts_dir=artifacts_dir, settings=settings, activate=activate
    )
    if out.json:
        out.item(stack.to_dict())
        return 0
    out.line(f"Created stack {name!r}{' and made it active' if activate else ''}.")
    _show(out, stack)
    if activate and not stack.active:
        from kitaru.config.stacks import current_stack

        winner = current_stack()
        out.note(f"Note: {winner.chosen_by} selects stack {winner.name!r}, which takes precedence.")
    return 0


def delete(
    name: StackName,
    /,
    *,
    force: Annotated[
        bool,
        Parameter(
            negative="",
            help="Also delete the active stack; 'default' becomes the active one.",
        ),
    ] = False,
    recursive: Annotated[
        bool,
        Parameter(
            negative="",
            help=(
                "Also delete the data Kitaru created for the stack: its folder <data dir>/stacks/NAME/ "
                "(SQLite store and artifacts). A store or artifact directory given with --store-url or "
                "--artifacts-dir elsewhere (e.g. a PostgreSQL database) is never deleted."
            ),
        ),
    ] = False,
    output: OutputOption = "text",
) -> int:
    """Delete a stack's entry; its store and artifacts stay on disk unless --recursive."""
    from kitaru.config.stacks import delete_stack

    out = Output("stack.delete", output)
    deleted = delete_stack(name, force=force, recursive=recursive)
    if out.json:
        out.item({"name": name, "deleted": True, "deleted_paths": deleted})
    elif deleted:
        out.line(f"Deleted stack {name!r} and its data ({', '.join(deleted)}).")
    elif recursive:
        out.line(f"Deleted stack {name!r} (it had no data folder of its own under the data directory).")
    else:
        out.line(
            f"Deleted stack {name!r} (its store and artifacts were left on disk; --recursive deletes them)."
        )
    return 0
