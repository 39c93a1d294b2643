"""Settings, their precedence, and the frozen execution spec. Opens no store.

Precedence, lowest to highest: built-in defaults → the active stack's settings →
``[tool.kitaru]`` in the nearest ``pyproject.toml`` → ``KITARU_*`` environment
variables → :func:`configure` → ``@flow(...)`` → per-run options. Each value is
validated where it is read; an invalid one raises ``KitaruUsageError`` naming
its source. The stack itself is chosen by the same order, with the stack made
active by ``kitaru stack use`` just above the default (``"default"``).

Example:
    >>> import kitaru
    >>> kitaru.configure(cache=False, retries=2)  # doctest: +SKIP
    >>> from kitaru.config import resolve_settings
    >>> resolve_settings().sources["retries"]  # doctest: +SKIP
    'kitaru.configure()'
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from kitaru._types import UNSET, Record, Unset
from kitaru.config._home import CONFIG_FILE, PROJECT_DIR, home_source, read_config, resolve_home
from kitaru.config._layers import (
    DEFAULTS,
    ENV_SETTINGS,
    KNOWN_ENV,
    SECRET_PATTERN,
    SETTING_NAMES,
    Layer,
    env_layer,
    find_pyproject,
    mask_url,
    pyproject_layer,
    redact,
    url_passwords,
    validate_cache,
    validate_retries,
    validate_setting,
)
from kitaru.config._status import status_report
from kitaru.errors import KitaruUsageError

__all__ = [
    "CONFIG_FILE",
    "KNOWN_ENV",
    "PROJECT_DIR",
    "SECRET_PATTERN",
    "SERVER_KIND",
    "STACK_SETTINGS",
    "KitaruConfig",
    "ResolvedSettings",
    "RunOptions",
    "active_stack",
    "build_spec",
    "configure",
    "connect",
    "current_config",
    "find_pyproject",
    "home_source",
    "mask_url",
    "redact",
    "reset_config",
    "resolve_home",
    "resolve_settings",
    "stack_layer",
    "status_report",
    "url_passwords",
    "validate_cache",
    "validate_retries",
    "validate_setting",
]

#: The settings a stack may carry (the rest belong to projects, the environment or code).
STACK_SETTINGS = (
    "cache",
    "retries",
    "image",
    "default_model",
    "execution_target",
    "ray_address",
    "direct_artifacts",
)
#: The kind of a stack that points at a Kitaru server (``kitaru stack create NAME --server URL``).
SERVER_KIND = "server"
_SERVER_KEYS = ("server_url", "api_key")
_RUN_OPTIONS = ("cache", "retries", "stack", "image")


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class KitaruConfig(Record):
    """Process-wide defaults set with :func:`configure`.

    ``UNSET`` fields fall through to the lower layers (environment, project, stack, defaults);
    ``image`` holds :class:`kitaru.ImageSettings`.

    Example:
        >>> KitaruConfig(retries=2).retries
        2
    """

    cache: bool | Unset = UNSET
    retries: int | Unset = UNSET
    stack: str | Unset = UNSET
    image: Any = UNSET
    default_model: str | Unset = UNSET


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class RunOptions(Record):
    """The resolved options of one execution; stored in its frozen spec.

    Example:
        >>> RunOptions(retries=1).to_spec()["retries"]
        1
    """

    cache: bool = False
    retries: int = 0
    stack: str | None = None
    image: Any = None

    def to_spec(self) -> dict[str, Any]:
        """Return the options as a JSON-serializable dict."""
        return {
            "cache": self.cache,
            "retries": self.retries,
            "stack": self.stack,
            "image": None if self.image is None else self.image.to_dict(),
        }


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class ResolvedSettings(Record):
    """Every setting's value and the layer it came from.

    Example:
        >>> settings = resolve_settings(run={"retries": 3})  # doctest: +SKIP
        >>> settings.values["retries"], settings.sources["retries"]  # doctest: +SKIP
        (3, 'run()')
    """

    values: dict[str, Any]
    sources: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        """Return the values as JSON-serializable data (image settings as a dict), unredacted."""
        image = self.values.get("image")
        return {**self.values, "image": None if image is None else image.to_dict()}

    def options(self) -> RunOptions:
        """The run options of an execution with these settings."""
        return RunOptions(**{name: self.values[name] for name in _RUN_OPTIONS})


_lock = threading.Lock()
_config = KitaruConfig()
# The server set with connect(): server_url and api_key.
_connection: dict[str, str] = {}


def configure(
    *,
    cache: bool | Unset | None = UNSET,
    retries: int | Unset | None = UNSET,
    stack: str | Unset | None = UNSET,
    image: Any = UNSET,
    default_model: str | Unset | None = UNSET,
) -> KitaruConfig:
    """Set process-wide defaults for new executions; returns the new configuration.

    They override the environment, ``[tool.kitaru]`` and the stack, and are overridden
    by ``@flow(...)`` and per-run options. A keyword left out keeps what was set before;
    ``None`` clears it, so the lower layers decide again. ``image`` takes an image
    name, a mapping of image settings or :class:`kitaru.ImageSettings`; a second
    ``configure(image=...)`` replaces the first (layers merge, calls do not).

    Example:
        >>> import kitaru
        >>> kitaru.configure(retries=2, cache=False)  # doctest: +SKIP
        >>> kitaru.configure(cache=None)  # cache comes from the lower layers again  # doctest: +SKIP
    """
    global _config
    source = "kitaru.configure()"
    changes: dict[str, Any] = {}
    given = {
        "cache": cache,
        "retries": retries,
        "stack": stack,
        "image": image,
        "default_model": default_model,
    }
    for name, value in given.items():
        if value is None:
            changes[name] = UNSET
        elif not isinstance(value, Unset):
            changes[name] = validate_setting(name, value, source=source)
    with _lock:
        _config = replace(_config, **changes)
        return _config


def connect(server_url: str, *, api_key: str | None = None) -> None:
    """Point this process's executions, client and verbs at a Kitaru server.

    From now on new executions are stored by the server at ``server_url`` (they still run
    in this process), authenticated with ``api_key`` (else ``KITARU_API_KEY``). It overrides
    ``KITARU_SERVER_URL`` and the stacks, as :func:`configure` does.

    Raises:
        KitaruUsageError: ``server_url`` is not an http(s) URL.

    Example:
        >>> import kitaru
        >>> kitaru.connect("https://kitaru.example.com", api_key="...")  # doctest: +SKIP
    """
    global _connection
    values = {"server_url": validate_setting("server_url", server_url, source="kitaru.connect()")}
    if api_key is not None:
        values["api_key"] = validate_setting("api_key", api_key, source="kitaru.connect()")
    with _lock:
        _connection = values


def current_config() -> KitaruConfig:
    """Return the configuration set with :func:`configure`."""
    return _config


def reset_config() -> None:
    """Forget everything set with :func:`configure` (used by tests)."""
    global _config, _connection
    with _lock:
        _config = KitaruConfig()
        _connection = {}


def _configure_layer() -> Layer:
    cfg = _config
    values = {
        f.name: getattr(cfg, f.name) for f in fields(cfg) if not isinstance(getattr(cfg, f.name), Unset)
    }
    return Layer("kitaru.configure()", values)


def _connect_layer() -> Layer:
    return Layer("kitaru.connect()", dict(_connection))


def _code_layer(source: str, given: Mapping[str, Any] | None) -> Layer:
    values = {k: validate_setting(k, v, source=source) for k, v in (given or {}).items() if v is not None}
    return Layer(source, values)


def _persisted_stack(home: Path) -> tuple[str, str] | None:
    name = read_config(home).get("active_stack")
    if not name:
        return None
    source = f"`kitaru stack use` (in {home / CONFIG_FILE})"
    return validate_setting("stack", name, source=source), source


def _choose_stack(layers: list[Layer], home: Path) -> tuple[str, str]:
    for layer in reversed(layers):
        if "stack" in layer.values:
            source = ENV_SETTINGS["stack"] if layer.source == "environment" else layer.source
            return layer.values["stack"], source
    return _persisted_stack(home) or ("default", "built-in default")


def active_stack(
    *, flow: Mapping[str, Any] | None = None, run: Mapping[str, Any] | None = None
) -> tuple[str, str]:
    """Return the name of the active stack and where that choice came from.

    Example:
        >>> active_stack()  # doctest: +SKIP
        ('default', 'built-in default')
    """
    layers = [pyproject_layer(), env_layer(), _configure_layer()]
    layers += [_code_layer("@flow(...)", flow), _code_layer("run()", run)]
    return _choose_stack(layers, resolve_home())


def stack_layer(name: str, *, chosen_by: str, home: Path | None = None) -> Layer:
    """Return the settings the stack ``name`` carries.

    Raises:
        KitaruUsageError: the stack does not exist (naming where it was chosen).
    """
    home = home or resolve_home()
    stacks = read_config(home).get("stacks", {})
    record = stacks.get(name)
    if record is None:
        if name == "default":
            return Layer("stack 'default'", {})
        known = ", ".join(sorted({"default", *stacks}))
        raise KitaruUsageError(
            f"Stack {name!r} (chosen by {chosen_by}) does not exist in {home}. Known stacks: {known}. "
            f"Create it with `kitaru stack create {name}` or pick another one."
        )
    source = f"stack {name!r} in {home / CONFIG_FILE}"
    values = {}
    if record.get("kind") == SERVER_KIND:  # a stack that points at a server: its URL and key
        for key in _SERVER_KEYS:
            if record.get(key):
                values[key] = validate_setting(key, record[key], source=source)
    for key, value in (record.get("settings") or {}).items():
        if key not in STACK_SETTINGS:
            raise KitaruUsageError(
                f"{source}: setting {key!r} cannot be set on a stack; "
                f"stacks carry {', '.join(STACK_SETTINGS)}."
            )
        values[key] = validate_setting(key, value, source=source)
    return Layer(source, values)


def resolve_settings(
    *,
    flow: Mapping[str, Any] | None = None,
    run: Mapping[str, Any] | None = None,
    for_stack: tuple[str, str] | None = None,
) -> ResolvedSettings:
    """Resolve every setting through the precedence order, remembering each one's source.

    An API key goes only to the server named with it: the key of a server stack or of
    ``kitaru login`` is dropped when a higher layer (``KITARU_SERVER_URL``, ``connect()``)
    names another server; ``KITARU_API_KEY`` alone is the key of whichever server is chosen.

    Args:
        flow: Options given to ``@flow(...)`` (only those that were given).
        run: Options given to this run.
        for_stack: The stack to resolve for and what chose it (default: the one the layers
            choose), e.g. ``("team", "run()")``.

    Example:
        >>> resolve_settings(flow={"retries": 1}).sources["retries"]  # doctest: +SKIP
        '@flow(...)'
    """
    home = resolve_home()
    upper = [pyproject_layer(), env_layer(), _configure_layer(), _connect_layer()]
    upper += [_code_layer("@flow(...)", flow), _code_layer("run()", run)]
    stack, chosen_by = for_stack or _choose_stack(upper, home)
    from kitaru.config.login import login_layer

    layers = [
        Layer("built-in default", DEFAULTS),
        stack_layer(stack, chosen_by=chosen_by, home=home),
        login_layer(home),
        *upper,
    ]
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for layer in layers:
        for name, value in layer.values.items():
            if name == "image" and values.get("image") is not None:
                # Image settings merge field by field; the source names the highest layer.
                from kitaru.config.images import merge_images

                value = merge_images(values["image"], value)
            here = (
                f"environment variable {ENV_SETTINGS[name]}"
                if layer.source == "environment"
                else layer.source
            )
            merged = name == "image" and values.get("image") is not None and value is not layer.values[name]
            values[name] = value
            sources[name] = f"{sources[name]} + {here}" if merged else here
    values["stack"], sources["stack"] = stack, chosen_by
    values["api_key"], sources["api_key"] = _paired_key(layers, values["server_url"])
    return ResolvedSettings(values, {name: sources[name] for name in SETTING_NAMES})


def _paired_key(layers: list[Layer], server_url: str | None) -> tuple[str | None, str]:
    """The API key of ``server_url``: from the highest layer that sets one, unless that layer
    names another server (a key goes only to the server it was given with)."""
    for layer in reversed(layers):
        key = layer.values.get("api_key")
        named = layer.values.get("server_url")
        if key is not None and (named is None or server_url is None or named == server_url):
            if layer.source == "environment":
                return key, f"environment variable {ENV_SETTINGS['api_key']}"
            return key, layer.source
    return None, "built-in default"


def build_spec(
    settings: ResolvedSettings,
    *,
    connection: dict[str, Any],
    flow: dict[str, Any],
    models: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Return the frozen execution spec: resolved options and their sources, the
    connection, the model registry and the flow, with secrets redacted.

    Example:
        >>> spec = build_spec(resolve_settings(), connection={}, flow={"name": "f"})  # doctest: +SKIP
        >>> spec["options"]["cache"]  # doctest: +SKIP
        True
    """
    values = settings.values
    spec = {
        "options": settings.options().to_spec(),
        "sources": {k: v for k, v in settings.sources.items() if values.get(k) is not None},
        "connection": {
            **connection,
            "server_url": values["server_url"],
            "api_key": values["api_key"],
        },
        "models": {"default_model": values["default_model"], **(models or {})},
        "flow": flow,
    }
    return redact(spec)  # type: ignore[no-any-return]
