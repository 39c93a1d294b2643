"""``kitaru stack list | current | show | use | create | delete``: local stacks and stacks
that point at a Kitaru server (``create NAME --server URL --api-key KEY``; the key is kept
in the data directory's ``config.json``, the owner's only, and never shown)."""

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
    ]
    if stack.server_url:
        pairs += [("Server", stack.server_url), ("API key", "***" if stack.has_api_key else "none")]
    pairs += [("Store", stack.store_url), ("Artifacts", stack.artifacts_dir)]
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
    out.table(["", "NAME", "KIND", "STORE OR SERVER", "ARTIFACTS"], rows)
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
    _precedence_notes(out, stack)
    return 0


def _precedence_notes(out: Output, stack: Any) -> None:
    """Say when another setting decides instead of the stack: a stack chosen elsewhere, or a
    server configured above it (``kitaru login``, ``KITARU_SERVER_URL``, ``connect()``)."""
    from kitaru.config import resolve_settings
    from kitaru.config.stacks import current_stack

    if not stack.active:
        winner = current_stack()
        out.note(f"Note: {winner.chosen_by} selects stack {winner.name!r}, which takes precedence.")
        return
    settings = resolve_settings()
    url, source = settings.values["server_url"], settings.sources["server_url"]
    if url is None or source.startswith(f"stack {stack.name!r}"):
        return
    from kitaru.config import mask_url

    undo = "`kitaru logout`" if source == "kitaru login" else f"unset it ({source})"
    own = f"its server {stack.server_url}" if stack.server_url else "its local store"
    out.note(
        f"Note: {source} points at the server {mask_url(url)}, which takes precedence over {own}; "
        f"{undo} to use the stack's."
    )


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
    server: Annotated[
        str | None,
        Parameter(
            help=(
                "Point the stack at a Kitaru server (http(s)://host:port) instead of a store: executions, "
                "artifacts, model aliases and secrets are the server's. Not with --store-url or "
                "--artifacts-dir. The server is checked before the stack is saved."
            )
        ),
    ] = None,
    api_key: Annotated[
        str | None,
        Parameter(
            help=(
                "The server's API key (kitaru server api-key create NAME, on the server); kept in "
                "config.json (readable by you only), never shown."
            )
        ),
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
    execution_target: Annotated[
        str | None,
        Parameter(
            help="Where executions of this stack run: local (a thread of the process that runs the "
            "flow), worker (`kitaru worker` processes) or ray (a Ray cluster, with --ray-address)."
        ),
    ] = None,
    ray_address: Annotated[
        str | None,
        Parameter(
            help="With --execution-target ray: the cluster's head node HOST:PORT, ray://HOST:PORT, "
            "or auto (the cluster this machine belongs to)."
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
    """Create a stack (local, or pointing at a server with --server) and make it the active
    one (unless --no-activate)."""
    from kitaru.config.stacks import create_stack

    out = Output("stack.create", output)
    _check_target(execution_target, ray_address)
    given = {
        "cache": cache,
        "retries": retries,
        "default_model": default_model,
        "direct_artifacts": direct_artifacts,
        "execution_target": execution_target,
        "ray_address": ray_address,
    }
    settings = {k: v for k, v in given.items() if v is not None}
    options = {
        "store_url": store_url,
        "artifacts_dir": artifacts_dir,
        "server_url": server,
        "api_key": api_key,
    }
    if server is not None and store_url is None and artifacts_dir is None:
        _check(name, server, api_key)
    stack = create_stack(name, settings=settings, activate=activate, **options)
    if out.json:
        out.item(stack.to_dict())
        return 0
    out.line(f"Created stack {name!r}{' and made it active' if activate else ''}.")
    _show(out, stack)
    if activate:
        _precedence_notes(out, stack)
    return 0


def _check_target(target: str | None, ray_address: str | None) -> None:
    """Refuse a Ray address for a stack whose executions do not run on Ray."""
    from kitaru.errors import KitaruUsageError

    if ray_address is not None and target is not None and target.strip().lower() != "ray":
        raise KitaruUsageError(
            f"--ray-address {ray_address} is for the execution target ray, not "
            f"--execution-target {target}: use --execution-target ray, or leave out --ray-address. "
            "No stack was created."
        )


def _check(name: str, server: str, api_key: str | None) -> None:
    """Check that the server answers and accepts the key before a stack points at it."""
    from kitaru.config import validate_setting
    from kitaru.serving import check_server

    url = validate_setting("server_url", server, source=f"stack {name!r}")
    check_server(
        url,
        api_key=api_key,
        on_unauthorized=(
            "Give a valid key with --api-key (make one on the server with `kitaru server api-key create "
            "NAME`); no stack was created."
        ),
    )


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
