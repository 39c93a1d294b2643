"""The settings Kitaru reads, how each is validated, and the file and environment layers.

Every value is validated where it is read, and a bad one raises
:class:`KitaruUsageError` naming its source (``[tool.kitaru] in /p/pyproject.toml``,
``environment variable KITARU_RETRIES``, ...). Secrets are redacted from anything
stored or shown: a key matching ``KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL|AUTH``
gets the value ``***``.

Example:
    >>> from kitaru.config._layers import redact
    >>> redact({"api_key": "sk-1", "retries": 2})
    {'api_key': '***', 'retries': 2}
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kitaru._sources import TRUSTED_PATHS_ENV, find_pyproject, parse_trusted_paths, tool_table
from kitaru._types import FLAG_WORDS, Record, parse_flag
from kitaru.errors import KitaruUsageError

__all__ = [
    "DEFAULTS",
    "ENV_SETTINGS",
    "EXECUTION_TARGETS",
    "KNOWN_ENV",
    "SECRET_PATTERN",
    "SETTING_NAMES",
    "Layer",
    "env_layer",
    "find_pyproject",
    "mask_url",
    "pyproject_layer",
    "redact",
    "url_passwords",
    "validate_cache",
    "validate_retries",
    "validate_setting",
]

#: Keys whose values are secrets: redacted in execution specs and in ``kitaru status``.
SECRET_PATTERN = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL|AUTH", re.IGNORECASE)
_STACK_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Layer(Record):
    """One source of settings in the precedence order: what it is called and what it sets."""

    source: str
    values: Mapping[str, Any]


def validate_retries(value: Any, *, source: str) -> int:
    """Return ``value`` as a retry count, or raise ``KitaruUsageError`` naming ``source``.

    Example:
        >>> validate_retries(2, source="@flow(...)")
        2
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise KitaruUsageError(f"{source}: retries must be a whole number ≥ 0, got {value!r}.")
    if value < 0:
        raise KitaruUsageError(f"{source}: retries must be ≥ 0, got {value}. Use 0 to disable retries.")
    return value


def validate_cache(value: Any, *, source: str) -> bool:
    """Return ``value`` as a cache flag, or raise ``KitaruUsageError`` naming ``source``.

    Example:
        >>> validate_cache(False, source="kitaru.configure()")
        False
    """
    if not isinstance(value, bool):
        raise KitaruUsageError(f"{source}: cache must be True or False, got {value!r}.")
    return value


def _validate_flag(name: str) -> Callable[..., bool]:
    def check(value: Any, *, source: str) -> bool:
        if not isinstance(value, bool):
            raise KitaruUsageError(f"{source}: {name} must be True or False, got {value!r}.")
        return value

    return check


def _validate_stack(value: Any, *, source: str) -> str:
    if not isinstance(value, str) or not _STACK_NAME.match(value):
        raise KitaruUsageError(
            f"{source}: stack must be a stack name (letters, digits, '.', '_', '-'), got {value!r}. "
            "See `kitaru stack list`."
        )
    return value


def _validate_text(name: str) -> Callable[..., str]:
    def check(value: Any, *, source: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise KitaruUsageError(f"{source}: {name} must be a non-empty string, got {value!r}.")
        return value.strip()

    return check


def _validate_model(value: Any, *, source: str) -> str:
    text = _validate_text("default_model")(value, source=source)
    if any(c.isspace() for c in text):
        raise KitaruUsageError(
            f"{source}: default_model must be a model alias or 'provider/model', got {value!r}."
        )
    return text


def _validate_server_url(value: Any, *, source: str) -> str:
    text = _validate_text("server_url")(value, source=source)
    if not text.startswith(("http://", "https://")):
        raise KitaruUsageError(
            f"{source}: server_url must start with http:// or https://, got {mask_url(text)!r}."
        )
    return text.rstrip("/")


def _validate_image(value: Any, *, source: str) -> Any:
    if value is None:
        return None
    from kitaru.config.images import coerce_image  # pydantic loads only when an image is given

    return coerce_image(value, source=source)


def _parse_image_env(raw: str, *, source: str) -> Any:
    """``KITARU_IMAGE``: a JSON object of image settings, or else a plain image name."""
    text = raw.strip()
    if not text.startswith("{"):
        return _validate_image(text, source=source)
    try:
        table = json.loads(text)
    except json.JSONDecodeError as exc:
        raise KitaruUsageError(
            f"{source} is not valid JSON ({exc.msg} at character {exc.pos}); give a JSON object of "
            'image settings, e.g. {"base_image": "python:3.12"}, or a plain image name.'
        ) from None
    return _validate_image(table, source=source)


#: Where executions run: a thread of this process, ``kitaru worker`` processes, or a Ray cluster.
EXECUTION_TARGETS = ("local", "worker", "ray")


def _validate_target(value: Any, *, source: str) -> str:
    text = value.strip().lower() if isinstance(value, str) else value
    if text not in EXECUTION_TARGETS:
        raise KitaruUsageError(
            f"{source}: execution_target must be one of {', '.join(EXECUTION_TARGETS)}, got {value!r}."
        )
    return str(text)


_RAY_ADDRESS = re.compile(r"^(auto|(ray://)?[A-Za-z0-9.\-\[\]:]+:[0-9]{1,5})$")


def _validate_ray_address(value: Any, *, source: str) -> str:
    text = _validate_text("ray_address")(value, source=source)
    if not _RAY_ADDRESS.match(text):
        raise KitaruUsageError(
            f"{source}: ray_address must be 'auto', HOST:PORT of the cluster's head node or "
            f"ray://HOST:PORT, got {text!r}."
        )
    return text


_VALIDATORS: dict[str, Callable[..., Any]] = {
    "cache": validate_cache,
    "retries": validate_retries,
    "stack": _validate_stack,
    "image": _validate_image,
    "default_model": _validate_model,
    "server_url": _validate_server_url,
    "api_key": _validate_text("api_key"),
    "execution_target": _validate_target,
    "ray_address": _validate_ray_address,
    "direct_artifacts": _validate_flag("direct_artifacts"),
}
#: Every setting, in display order.
SETTING_NAMES: tuple[str, ...] = tuple(_VALIDATORS)
#: The built-in defaults (the lowest layer).
DEFAULTS: dict[str, Any] = {
    "cache": False,
    "retries": 0,
    "stack": "default",
    "image": None,
    "default_model": None,
    "server_url": None,
    "api_key": None,
    "execution_target": "local",
    "ray_address": None,
    "direct_artifacts": False,
}
#: Settings read from ``KITARU_*`` environment variables.
ENV_SETTINGS: dict[str, str] = {
    "cache": "KITARU_CACHE",
    "retries": "KITARU_RETRIES",
    "stack": "KITARU_STACK",
    "image": "KITARU_IMAGE",
    "default_model": "KITARU_DEFAULT_MODEL",
    "server_url": "KITARU_SERVER_URL",
    "api_key": "KITARU_API_KEY",
    "execution_target": "KITARU_EXECUTION_TARGET",
    "ray_address": "KITARU_RAY_ADDRESS",
    "direct_artifacts": "KITARU_DIRECT_ARTIFACTS",
}
#: Every environment variable Kitaru reads (``kitaru status`` lists those that are set).
KNOWN_ENV: tuple[str, ...] = (
    "KITARU_HOME",
    "KITARU_STACK",
    "KITARU_STORE_URL",
    "KITARU_ARTIFACTS_DIR",
    "KITARU_CACHE",
    "KITARU_RETRIES",
    "KITARU_IMAGE",
    "KITARU_DEFAULT_MODEL",
    "KITARU_SERVER_URL",
    "KITARU_API_KEY",
    "KITARU_EXECUTION_TARGET",
    "KITARU_RAY_ADDRESS",
    "KITARU_DIRECT_ARTIFACTS",
    "KITARU_WORKER_QUEUE",
    "KITARU_HEARTBEAT_SECONDS",
    "KITARU_LEASE_SECONDS",
    "KITARU_ALLOW_PICKLE",
    TRUSTED_PATHS_ENV,
    "KITARU_LLM_MOCK_RESPONSE",
    "KITARU_DEBUG",
)


def validate_setting(name: str, value: Any, *, source: str) -> Any:
    """Validate one setting's value; ``KitaruUsageError`` names ``source`` and the setting.

    Example:
        >>> validate_setting("retries", 3, source="[tool.kitaru]")
        3
    """
    check = _VALIDATORS.get(name)
    if check is None:
        raise KitaruUsageError(
            f"{source}: unknown setting {name!r}; known settings are {', '.join(SETTING_NAMES)}."
        )
    return check(value, source=source)


def env_layer(environ: Mapping[str, str] | None = None) -> Layer:
    """Read the ``KITARU_*`` settings from the environment (empty values are ignored).

    Example:
        >>> env_layer({"KITARU_RETRIES": "2"}).values
        {'retries': 2}
    """
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for name, var in ENV_SETTINGS.items():
        raw = environ.get(var)
        if raw is None or not raw.strip():
            continue
        source = f"environment variable {var}"
        if name in ("cache", "direct_artifacts"):
            flag = parse_flag(raw)
            if flag is None:
                raise KitaruUsageError(f"{source}={raw!r} is not a boolean; use {FLAG_WORDS}.")
            values[name] = flag
        elif name == "retries":
            try:
                number = int(raw.strip())
            except ValueError:
                raise KitaruUsageError(f"{source}={raw!r} is not a whole number ≥ 0.") from None
            values[name] = validate_retries(number, source=source)
        elif name == "image":
            values[name] = _parse_image_env(raw, source=source)
        else:
            values[name] = validate_setting(name, raw, source=source)
    return Layer("environment", values)


def pyproject_layer(start: Path | None = None) -> Layer:
    """Read ``[tool.kitaru]`` of the nearest ``pyproject.toml`` (an empty layer when none).

    ``api_key`` is refused there: project files get committed; use ``KITARU_API_KEY``.
    """
    path = find_pyproject(start)
    if path is None:
        return Layer("pyproject.toml", {})
    source = f"[tool.kitaru] in {path}"
    table = tool_table(path)
    values: dict[str, Any] = {}
    for key, value in table.items():
        name = key.replace("-", "_")
        if name == "api_key":
            raise KitaruUsageError(
                f"{source}: api_key does not belong in a project file that gets committed; "
                "remove it and set KITARU_API_KEY instead."
            )
        if name == "trusted_paths":  # read where code is loaded (kitaru._sources), checked here too
            parse_trusted_paths(value, source=f"trusted_paths in {source}", base=path.parent)
            continue
        values[name] = validate_setting(name, value, source=source)
    return Layer(source, values)


# ``scheme://user:password@``: the password runs to the last "@" (SQLAlchemy reads up to the
# first one; masking more than it reads is the safe side).
_URL_PASSWORD = re.compile(r"^(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^:/?#]*:)(?P<password>.*)@", re.DOTALL)
# Query parameters whose name looks secret: ``?password=``, ``&sslpassword=``, ``&api_key=``, ...
_QUERY_SECRET = re.compile(
    r"(?P<head>[?&;][^=&#;]*(?:KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL|AUTH)[^=&#;]*=)(?P<value>[^&#;]*)",
    re.IGNORECASE,
)


def mask_url(url: str) -> str:
    """Hide the secrets of a URL: the password (``user:***@``) and secret-looking query
    parameters (``?password=***``). The one masking of store and server URLs, wherever
    they are shown, stored or put in a message.

    Example:
        >>> mask_url("postgresql://ada:pw@db/kitaru")
        'postgresql://ada:***@db/kitaru'
        >>> mask_url("postgresql://ada@db/kitaru?password=pw&sslmode=require")
        'postgresql://ada@db/kitaru?password=***&sslmode=require'
    """
    if "://" not in url:
        return url
    masked = _QUERY_SECRET.sub(lambda m: m["head"] + "***" if m["value"] else m[0], url)
    match = _URL_PASSWORD.match(masked)
    if match is None or not match["password"]:
        return masked
    return match["head"] + "***@" + masked[match.end() :]


def url_passwords(url: str) -> tuple[str, ...]:
    """Return the secrets :func:`mask_url` hides in ``url`` (also URL-decoded), so messages that
    repeat them (a driver's, say) can be cleaned too.

    Example:
        >>> url_passwords("postgresql://ada:p%40ss@db/kitaru?sslpassword=x2")
        ('p%40ss', 'p@ss', 'x2')
    """
    from urllib.parse import unquote

    found: list[str] = []
    found += [query["value"] for query in _QUERY_SECRET.finditer(url)]
    userinfo = _URL_PASSWORD.match(_QUERY_SECRET.sub(lambda m: m["head"], url))
    if userinfo is not None:
        # Up to the last "@", and up to the first one, where SQLAlchemy ends it.
        found[:0] = [userinfo["password"], userinfo["password"].split("@", 1)[0]]
    secrets: list[str] = []
    for value in found:
        for variant in (value, unquote(value)):
            if variant and variant not in secrets:
                secrets.append(variant)
    return tuple(secrets)


def redact(value: Any) -> Any:
    """Return a copy of ``value`` with the values of secret-looking keys replaced by ``***``.

    Keys match when they contain KEY, TOKEN, SECRET, PASSWORD, CREDENTIAL or AUTH
    (any case); ``None`` stays ``None`` so an absent secret reads as absent.

    Example:
        >>> redact({"db": {"password": "x", "host": "h"}})
        {'db': {'password': '***', 'host': 'h'}}
    """
    if isinstance(value, dict):
        return {
            k: ("***" if v is not None and SECRET_PATTERN.search(str(k)) else redact(v))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, str) and "://" in value:
        return mask_url(value)
    return value
