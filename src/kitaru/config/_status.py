"""The status of this process's configuration: what ``kitaru status`` and the MCP server's
``kitaru_status`` report."""

from __future__ import annotations

import json
import os
from typing import Any

from kitaru.config._home import CONFIG_FILE, home_source, resolve_home
from kitaru.config._layers import KNOWN_ENV, SECRET_PATTERN, find_pyproject, mask_url, redact

__all__ = ["status_report"]


def status_report() -> dict[str, Any]:
    """Where data lives, the connection, the active stack, the settings with their sources and
    the ``KITARU_*`` variables set (secrets redacted): what ``kitaru status`` shows.

    Example:
        >>> status_report()["connection"]["kind"]  # doctest: +SKIP
        'local'
    """
    from kitaru.config import resolve_settings
    from kitaru.config.stacks import stack_location

    home = resolve_home()
    settings = resolve_settings()
    values = redact(settings.to_dict())
    stack = settings.values["stack"]
    if settings.values["server_url"]:
        connection: dict[str, Any] = {
            "kind": "server",
            "url": mask_url(settings.values["server_url"]),
            "authenticated": bool(settings.values["api_key"]),
            "note": "executions run in this process and are stored by the server",
            "source": settings.sources["server_url"],
            "api_key_source": settings.sources["api_key"] if settings.values["api_key"] else None,
        }
        stack_server = _stack_server(stack)
        if stack_server and not settings.sources["server_url"].startswith(f"stack {stack!r}"):
            connection["overrides"] = f"the server of stack {stack!r} ({stack_server})"
    else:
        url, artifacts = stack_location(stack, chosen_by=settings.sources["stack"])
        connection = {"kind": "local", "store": mask_url(url), "artifacts": artifacts}
    environment = {
        name: ("***" if SECRET_PATTERN.search(name) else _shown_env(os.environ[name]))
        for name in KNOWN_ENV
        if os.environ.get(name)
    }
    pyproject = find_pyproject()
    return {
        "version": _version(),
        "data_dir": str(home),
        "data_dir_source": home_source(),
        "config_file": str(home / CONFIG_FILE),
        "pyproject": str(pyproject) if pyproject else None,
        "connection": connection,
        "stack": {"name": stack, "chosen_by": settings.sources["stack"]},
        "settings": {
            name: {"value": values[name], "source": settings.sources[name]} for name in settings.values
        },
        "environment": environment,
    }


def _version() -> str:
    """The installed package's version (the root package is above this layer)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("kitaru")
    except PackageNotFoundError:
        return "unknown"


def _stack_server(name: str) -> str | None:
    """The server the stack ``name`` points at (masked), if it is a server stack."""
    from kitaru.config.stacks import find_stack
    from kitaru.errors import KitaruError

    try:
        return find_stack(name).server_url
    except KitaruError:  # a missing stack is reported by the settings already
        return None


def _shown_env(raw: str) -> str:
    """An environment value as shown: URLs masked, secret keys of a JSON object (KITARU_IMAGE) redacted."""
    if raw.lstrip().startswith("{"):
        try:
            return json.dumps(redact(json.loads(raw)))
        except ValueError:
            return raw
    return mask_url(raw)
