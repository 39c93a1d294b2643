"""Stacks: named combinations of a metadata store and an artifact store.

Every data directory has the stack ``default`` (its ``kitaru.db`` and
``artifacts/``). More local stacks can name another SQLite file or a
PostgreSQL database and another artifact directory, and carry default
settings (``cache``, ``retries``, ``image``, ``default_model``). A stack of
kind ``server`` points at a Kitaru server instead (its URL and API key): its
executions, artifacts, model aliases and secrets are the server's. Stacks and
the active one are kept in ``config.json`` in the data directory (a file only
its owner may read, as for ``kitaru login``); an API key is never shown.

Which stack is active follows the precedence of :mod:`kitaru.config`:
``run(stack=)`` → ``@flow(stack=)`` → ``kitaru.configure(stack=)`` →
``KITARU_STACK`` → ``[tool.kitaru] stack`` → :func:`use_stack` → ``default``.
A server stack's URL and key are settings of its layer, the lowest: ``kitaru
login``, ``KITARU_SERVER_URL`` / ``KITARU_API_KEY`` and ``kitaru.connect()``
take precedence over them (``kitaru status`` shows which one chose the server).

Example:
    >>> import kitaru
    >>> kitaru.create_stack("scratch", store_url="/tmp/scratch.db")  # doctest: +SKIP
    >>> kitaru.use_stack("scratch").name  # doctest: +SKIP
    'scratch'
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kitaru._types import Record
from kitaru.config import SERVER_KIND, STACK_SETTINGS, active_stack, stack_layer
from kitaru.config._home import CONFIG_FILE, read_config, resolve_home, update_config
from kitaru.config._layers import mask_url, validate_setting
from kitaru.errors import KitaruStateError, KitaruUsageError

__all__ = [
    "StackInfo",
    "create_stack",
    "current_stack",
    "delete_stack",
    "find_stack",
    "list_stacks",
    "stack_location",
    "use_stack",
]

DEFAULT_STACK = "default"
# What a server stack shows as its artifact store.
_THROUGH_SERVER = "through the server"


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class StackInfo(Record):
    """A stack as shown to users (the store URL's password masked).

    Example:
        >>> kitaru.current_stack().to_dict()["name"]  # doctest: +SKIP
        'default'
    """

    name: str
    kind: str
    store_url: str
    artifacts_dir: str
    active: bool = False
    settings: dict[str, Any] = field(default_factory=dict)
    created_at: str | None = None
    chosen_by: str | None = None
    """Where the choice of the active stack came from (only on the active stack)."""
    id: str = ""
    """The stack's id (a UUID; ``kitaru stack show`` takes it as well as the name)."""
    server_url: str | None = None
    """The server a stack of kind ``server`` points at (its password, if any, masked)."""
    has_api_key: bool = False
    """Whether the stack keeps an API key for its server (the key itself is never shown)."""

    @property
    def is_active(self) -> bool:
        """Whether this is the active stack (the same as ``active``)."""
        return self.active

    def to_dict(self) -> dict[str, Any]:
        """Return the stack as a JSON-serializable dict.

        ``is_active`` repeats ``active`` and ``is_managed`` says whether the stack was
        created with ``kitaru stack create`` (or ``create_stack``), not built in: the
        names under which the original API listed them.
        """
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "store_url": self.store_url,
            "artifacts_dir": self.artifacts_dir,
            "active": self.active,
            "is_active": self.active,
            "is_managed": self.name != DEFAULT_STACK,
            "settings": dict(self.settings),
            "created_at": self.created_at,
            "chosen_by": self.chosen_by,
            "server_url": self.server_url,
            "api_key": "***" if self.has_api_key else None,
        }


def _default_record(home: Path) -> dict[str, Any]:
    return {
        "kind": "local",
        "store_url": f"sqlite:///{home / 'kitaru.db'}",
        "artifacts_dir": str(home / "artifacts"),
        "settings": {},
        "created_at": None,
    }


def _records(home: Path) -> dict[str, dict[str, Any]]:
    stacks = read_config(home).get("stacks", {})
    if not isinstance(stacks, dict):
        raise KitaruUsageError(f"{home / CONFIG_FILE}: 'stacks' must be an object; fix or remove the file.")
    return {DEFAULT_STACK: _default_record(home), **stacks}


def _stack_id(name: str, record: dict[str, Any], home: Path) -> str:
    # Stacks created before ids existed, and ``default``, get one derived from where they live.
    if record.get("id"):
        return str(record["id"])
    import uuid  # only for stacks recorded without an id (keeps the first run's imports small)

    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"kitaru-stack:{home.resolve()}/{name}"))


def _info(name: str, record: dict[str, Any], *, active: tuple[str, str] | None, home: Path) -> StackInfo:
    is_active = active is not None and active[0] == name
    server_url = mask_url(str(record["server_url"])) if record.get("server_url") else None
    is_server = record.get("kind") == SERVER_KIND
    return StackInfo(
        id=_stack_id(name, record, home),
        name=name,
        kind=str(record.get("kind", "local")),
        store_url=server_url or "" if is_server else mask_url(str(record.get("store_url", ""))),
        artifacts_dir=_THROUGH_SERVER if is_server else str(record.get("artifacts_dir", "")),
        server_url=server_url,
        has_api_key=bool(record.get("api_key")),
        active=is_active,
        settings=dict(record.get("settings") or {}),
        created_at=record.get("created_at"),
        chosen_by=active[1] if is_active and active is not None else None,
    )


def stack_location(name: str, *, chosen_by: str) -> tuple[str, str]:
    """Return the metadata store URL and the artifact directory of stack ``name``.

    ``KITARU_STORE_URL`` and ``KITARU_ARTIFACTS_DIR`` override what the stack names.

    Raises:
        KitaruUsageError: the stack does not exist (naming where it was chosen).
    """
    home = resolve_home()
    record = _records(home).get(name)
    if record is None:
        stack_layer(name, chosen_by=chosen_by, home=home)  # raises, listing the known stacks
        raise AssertionError("unreachable")  # pragma: no cover
    if record.get("kind") == SERVER_KIND:
        raise KitaruUsageError(
            f"Stack {name!r} (chosen by {chosen_by}) points at the Kitaru server "
            f"{mask_url(str(record.get('server_url')))}; it has no store or artifact directory of its own. "
            "Give --store-url (and --artifacts) to serve one, or pick a local stack."
        )
    url = os.environ.get("KITARU_STORE_URL") or str(record["store_url"])
    artifacts = os.environ.get("KITARU_ARTIFACTS_DIR") or str(record["artifacts_dir"])
    return url, artifacts


def list_stacks() -> list[StackInfo]:
    """Return every stack of the data directory, ``default`` first.

    Example:
        >>> [s.name for s in kitaru.list_stacks()]  # doctest: +SKIP
        ['default', 'scratch']
    """
    home = resolve_home()
    active = active_stack()
    records = _records(home)
    names = [DEFAULT_STACK, *sorted(n for n in records if n != DEFAULT_STACK)]
    return [_info(n, records[n], active=active, home=home) for n in names]


def current_stack() -> StackInfo:
    """Return the active stack (``chosen_by`` says which setting chose it).

    Raises:
        KitaruUsageError: the chosen stack does not exist.

    Example:
        >>> kitaru.current_stack().name  # doctest: +SKIP
        'default'
    """
    home = resolve_home()
    name, chosen_by = active_stack()
    record = _records(home).get(name)
    if record is None:
        stack_layer(name, chosen_by=chosen_by, home=home)  # raises with the known stacks
    assert record is not None
    return _info(name, record, active=(name, chosen_by), home=home)


def _require(name: str, home: Path) -> dict[str, Any]:
    validate_setting("stack", name, source="stack name")
    record = _records(home).get(name)
    if record is None:
        known = ", ".join(sorted(_records(home)))
        raise KitaruStateError(f"No stack named {name!r} in {home}. Known stacks: {known}.")
    return record


def find_stack(name_or_id: str) -> StackInfo:
    """Return the stack with this name or id (a unique id prefix of 8 or more characters works).

    Raises:
        KitaruStateError: no stack has that name or id, or the prefix matches several.

    Example:
        >>> kitaru.config.stacks.find_stack("default").name  # doctest: +SKIP
        'default'
    """
    home = resolve_home()
    stacks = list_stacks()
    for stack in stacks:
        if name_or_id in (stack.name, stack.id):
            return stack
    key = name_or_id.strip().lower()
    matches = [s for s in stacks if len(key) >= 8 and s.id.startswith(key)]
    if len(matches) == 1:
        return matches[0]
    known = ", ".join(f"{s.name} ({s.id[:8]})" for s in stacks)
    if matches:
        raise KitaruStateError(
            f"Stack id prefix {name_or_id!r} matches {len(matches)} stacks in {home}: "
            f"{', '.join(s.name for s in matches)}; give the name or more of the id."
        )
    raise KitaruStateError(
        f"No stack named {name_or_id!r} (or with that id) in {home}. Known stacks: {known}. "
        "See `kitaru stack list`."
    )


def use_stack(name: str) -> StackInfo:
    """Make ``name`` the active stack of the data directory (persisted in ``config.json``).

    ``KITARU_STACK``, ``[tool.kitaru] stack`` and ``kitaru.configure(stack=)`` still
    take precedence over it.

    Example:
        >>> kitaru.use_stack("default").name  # doctest: +SKIP
        'default'
    """
    home = resolve_home()
    record = _require(name, home)

    def change(config: dict[str, Any]) -> None:
        config["active_stack"] = name

    update_config(change, home)
    active = active_stack()
    return _info(name, record, active=active, home=home)


def _store_url(value: str | None, default: Path) -> str:
    if value is None:
        return f"sqlite:///{default}"
    text = value.strip()
    if "://" not in text:
        return f"sqlite:///{Path(text).expanduser().resolve()}"
    if not text.startswith(("sqlite", "postgresql")):
        raise KitaruUsageError(
            f"Store URL {mask_url(text)!r} is not supported; use sqlite:///path/to/file.db, "
            "postgresql+psycopg://user@host/db, or a file path."
        )
    return text


def create_stack(
    name: str,
    *,
    store_url: str | None = None,
    artifacts_dir: str | os.PathLike[str] | None = None,
    settings: dict[str, Any] | None = None,
    activate: bool = True,
    server_url: str | None = None,
    api_key: str | None = None,
) -> StackInfo:
    """Create a stack: a local one (by default its store and artifacts live under
    ``<data dir>/stacks/<name>/``), or, with ``server_url``, one that points at a Kitaru
    server (kind ``server``: executions, artifacts, model aliases and secrets are the
    server's). The server is not contacted here (``kitaru stack create`` checks it).

    Args:
        name: Letters, digits, ``.``, ``_`` and ``-``.
        store_url: ``sqlite:///...``, ``postgresql+psycopg://...`` or a SQLite file path.
        artifacts_dir: The artifact directory.
        settings: Defaults for executions on this stack (``cache``, ``retries``,
            ``image``, ``default_model``).
        activate: Also make it the active stack (the default; pass ``False`` to keep the
            active one).
        server_url: The server's URL (``http(s)://host:port``); not with ``store_url`` or
            ``artifacts_dir``.
        api_key: The server's API key (``kitaru server api-key create NAME``), kept in
            ``config.json`` (the owner's only), never shown.

    Raises:
        KitaruUsageError: a bad name, setting or URL, or a server with a store or artifacts.

    Example:
        >>> kitaru.create_stack("ci", settings={"retries": 2})  # doctest: +SKIP
        >>> kitaru.create_stack(
        ...     "team", server_url="https://kitaru.example.com", api_key="kitaru_..."
        ... )  # doctest: +SKIP
    """
    home = resolve_home()
    validate_setting("stack", name, source="stack name")
    source = f"settings of stack {name!r}"
    location = _server_location(name, server_url, api_key, store_url=store_url, artifacts_dir=artifacts_dir)
    checked = {}
    for key, value in (settings or {}).items():
        if key not in STACK_SETTINGS:
            raise KitaruUsageError(
                f"{source}: {key!r} cannot be set on a stack; stacks carry {', '.join(STACK_SETTINGS)}."
            )
        checked[key] = validate_setting(key, value, source=source)
        if key == "image" and checked[key] is not None:
            checked[key] = checked[key].to_dict()  # config.json holds JSON
    folder = home / "stacks" / name
    import uuid  # creating a stack is rare: not on every run's import path

    record = {
        "id": str(uuid.uuid4()),
        **(
            location
            or {
                "kind": "local",
                "store_url": _store_url(store_url, folder / "kitaru.db"),
                "artifacts_dir": _artifacts_location(artifacts_dir, folder / "artifacts"),
            }
        ),
        "settings": checked,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }

    def change(config: dict[str, Any]) -> None:
        stacks = config.setdefault("stacks", {})
        if name == DEFAULT_STACK or name in stacks:
            raise KitaruStateError(
                f"A stack named {name!r} already exists in {home}; delete it first or pick another name."
            )
        stacks[name] = record
        if activate:
            config["active_stack"] = name

    update_config(change, home)
    return _info(name, record, active=active_stack(), home=home)


def _server_location(
    name: str,
    server_url: str | None,
    api_key: str | None,
    *,
    store_url: str | None,
    artifacts_dir: str | os.PathLike[str] | None,
) -> dict[str, Any] | None:
    """The record fields of a server stack (``None``: a local stack)."""
    source = f"stack {name!r}"
    if server_url is None:
        if api_key is not None:
            raise KitaruUsageError(
                f"{source}: an API key belongs to a server; give its URL too (--server URL --api-key KEY)."
            )
        return None
    pairs = (("--store-url", store_url), ("--artifacts-dir", artifacts_dir))
    given = [flag for flag, value in pairs if value]
    if given:
        raise KitaruUsageError(
            f"{source}: a stack points at a server (--server) or names its own store and artifacts "
            f"({' and '.join(given)}), not both. The server keeps the executions and artifacts; "
            "drop --server for a local stack, or drop " + " and ".join(given) + "."
        )
    record = {"kind": SERVER_KIND, "server_url": validate_setting("server_url", server_url, source=source)}
    if api_key is not None:
        record["api_key"] = validate_setting("api_key", api_key, source=source)
    return record


def _artifacts_location(given: str | os.PathLike[str] | None, default: Path) -> str:
    """A directory (made absolute) or an object storage URL (``s3://…``, kept as given)."""
    if given is None or not str(given):
        return str(default)
    if str(given).startswith("s3://"):
        return str(given)
    return str(Path(given).expanduser().resolve())


def delete_stack(name: str, *, force: bool = False, recursive: bool = False) -> list[str]:
    """Delete a stack's entry; returns the paths that were deleted (with ``recursive``).

    Args:
        name: The stack to delete.
        force: Also delete the active stack (the one made active with ``use_stack``):
            ``default`` becomes the active stack.
        recursive: Also delete the stack's data that Kitaru created for it: its folder
            ``<data dir>/stacks/<name>/`` with the SQLite store and the artifacts in it.
            A store or artifact directory the stack was given elsewhere (a PostgreSQL
            database, a path of your own) is left alone, and so is anything another
            stack uses. Without it, all of the stack's data stays on disk.

    Raises:
        KitaruStateError: it is ``default``, unknown, or the active stack without ``force``.

    Example:
        >>> kitaru.delete_stack("scratch")  # doctest: +SKIP
        []
    """
    home = resolve_home()
    _require(name, home)
    if name == DEFAULT_STACK:
        raise KitaruStateError("The stack 'default' cannot be deleted; it is the data directory's own store.")
    folder = (home / "stacks" / name).resolve()
    if recursive:
        _refuse_shared(name, folder, home)

    def change(config: dict[str, Any]) -> None:
        if config.get("active_stack") == name:
            if not force:
                raise KitaruStateError(
                    f"Stack {name!r} is the active stack; switch first with `kitaru stack use default`, or "
                    f"delete it anyway with `kitaru stack delete {name} --force` (then 'default' is active)."
                )
            config.pop("active_stack", None)
        config.get("stacks", {}).pop(name, None)

    update_config(change, home)
    if not recursive or not folder.is_dir():
        return []
    import shutil  # deleting is rare: not on every run's import path

    shutil.rmtree(folder)
    return [str(folder)]


def _refuse_shared(name: str, folder: Path, home: Path) -> None:
    for other_name, other in _records(home).items():
        if other_name == name:
            continue
        for value in (
            str(other.get("store_url", "")).removeprefix("sqlite:///"),
            other.get("artifacts_dir", ""),
        ):
            path = Path(str(value)).expanduser()
            if path.is_absolute() and path.resolve().is_relative_to(folder):
                raise KitaruStateError(
                    f"Stack {other_name!r} uses data in {folder}, the folder of stack {name!r}; nothing was "
                    f"deleted. Delete {other_name!r} first, or delete {name!r} without --recursive."
                )
