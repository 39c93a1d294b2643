"""``kitaru login``: the Kitaru server this data directory talks to, remembered.

``config.json`` keeps the server's URL and API key under ``login`` (the file is the owner's
only, mode 0600, as the other credentials a command-line tool remembers). Settings read
them as one layer, above the active stack and below ``[tool.kitaru]``, the ``KITARU_*``
variables and ``kitaru.connect()``.

Example:
    >>> from kitaru.config.login import login, logout
    >>> login("https://kitaru.example.com", api_key="kitaru_...")  # doctest: +SKIP
    >>> logout()  # doctest: +SKIP
    'https://kitaru.example.com'
"""

from __future__ import annotations

from pathlib import Path

from kitaru.config._home import read_config, resolve_home, update_config
from kitaru.config._layers import Layer, validate_setting

__all__ = ["LOGIN_SOURCE", "login", "login_layer", "logout"]

#: How settings name where a logged-in server came from.
LOGIN_SOURCE = "kitaru login"


def login(server_url: str, *, api_key: str | None) -> None:
    """Remember ``server_url`` (and ``api_key``) for every later command and execution here.

    Raises:
        KitaruUsageError: ``server_url`` is not an http(s) URL.
    """
    record = {"server_url": validate_setting("server_url", server_url, source="kitaru login")}
    if api_key is not None:
        record["api_key"] = validate_setting("api_key", api_key, source="kitaru login")
    update_config(lambda config: config.__setitem__("login", record))


def logout() -> str | None:
    """Forget the server remembered by :func:`login`; return its URL (``None``: there was none)."""

    def forget(config: dict[str, object]) -> str | None:
        record = config.pop("login", None)
        return record.get("server_url") if isinstance(record, dict) else None

    url: str | None = update_config(forget)
    return url


def login_layer(home: Path | None = None) -> Layer:
    """The settings :func:`login` remembered (none when logged out)."""
    record = read_config(home or resolve_home()).get("login")
    if not isinstance(record, dict):
        return Layer(LOGIN_SOURCE, {})
    values = {
        name: validate_setting(name, record[name], source=f"{LOGIN_SOURCE} (config.json)")
        for name in ("server_url", "api_key")
        if record.get(name) is not None
    }
    return Layer(LOGIN_SOURCE, values)
