"""Settings and their precedence. Opens nothing.

Precedence, lowest to highest: built-in defaults → ``KITARU_*`` environment
variables → :func:`configure` → ``@flow(...)`` → per-run options.

Example:
    >>> import kitaru
    >>> kitaru.configure(cache=False)  # doctest: +SKIP
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from kitaru._types import UNSET, Unset
from kitaru.errors import KitaruUsageError

__all__ = [
    "KitaruConfig",
    "RunOptions",
    "configure",
    "current_config",
    "reset_config",
    "resolve_home",
    "resolve_run_options",
    "validate_cache",
    "validate_retries",
]

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True, slots=True)
class KitaruConfig:
    """Process-wide defaults set with :func:`configure`.

    ``UNSET`` fields fall through to the environment and built-in defaults.
    """

    cache: bool | Unset = UNSET
    retries: int | Unset = UNSET
    stack: str | Unset | None = UNSET
    image: Any = UNSET


@dataclass(frozen=True, slots=True)
class RunOptions:
    """The resolved options of one execution; stored in its frozen spec."""

    cache: bool = True
    retries: int = 0
    stack: str | None = None
    image: Any = None

    def to_spec(self) -> dict[str, Any]:
        """Return the options as a JSON-serializable dict."""
        return {
            "cache": self.cache,
            "retries": self.retries,
            "stack": self.stack,
            "image": repr(self.image)
            if self.image is not None and not isinstance(self.image, str | dict)
            else self.image,
        }


_lock = threading.Lock()
_config = KitaruConfig()


def validate_retries(value: Any, *, source: str) -> int:
    """Return ``value`` as a retry count, or raise ``KitaruUsageError`` naming ``source``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise KitaruUsageError(f"{source}: retries must be a whole number ≥ 0, got {value!r}.")
    if value < 0:
        raise KitaruUsageError(f"{source}: retries must be ≥ 0, got {value}. Use 0 to disable retries.")
    return value


def validate_cache(value: Any, *, source: str) -> bool:
    """Return ``value`` as a cache flag, or raise ``KitaruUsageError`` naming ``source``."""
    if not isinstance(value, bool):
        raise KitaruUsageError(f"{source}: cache must be True or False, got {value!r}.")
    return value


def configure(
    *,
    cache: bool | Unset = UNSET,
    retries: int | Unset = UNSET,
    stack: str | Unset | None = UNSET,
    image: Any = UNSET,
) -> KitaruConfig:
    """Set process-wide defaults for new executions; returns the new configuration.

    Example:
        >>> import kitaru
        >>> kitaru.configure(retries=2)  # doctest: +SKIP
    """
    global _config
    changes: dict[str, Any] = {}
    if not isinstance(cache, Unset):
        changes["cache"] = validate_cache(cache, source="kitaru.configure()")
    if not isinstance(retries, Unset):
        changes["retries"] = validate_retries(retries, source="kitaru.configure()")
    if not isinstance(stack, Unset):
        changes["stack"] = stack
    if not isinstance(image, Unset):
        changes["image"] = image
    with _lock:
        _config = replace(_config, **changes)
        return _config


def current_config() -> KitaruConfig:
    """Return the configuration set with :func:`configure`."""
    return _config


def reset_config() -> None:
    """Forget everything set with :func:`configure` (used by tests)."""
    global _config
    with _lock:
        _config = KitaruConfig()


def _env_options() -> dict[str, Any]:
    values: dict[str, Any] = {}
    raw = os.environ.get("KITARU_CACHE")
    if raw is not None and raw.strip():
        lowered = raw.strip().lower()
        if lowered not in _TRUE | _FALSE:
            raise KitaruUsageError(
                f"Environment variable KITARU_CACHE={raw!r} is not a boolean; "
                "use 1/0, true/false, yes/no or on/off."
            )
        values["cache"] = lowered in _TRUE
    raw = os.environ.get("KITARU_RETRIES")
    if raw is not None and raw.strip():
        try:
            values["retries"] = validate_retries(int(raw), source="Environment variable KITARU_RETRIES")
        except ValueError:
            raise KitaruUsageError(
                f"Environment variable KITARU_RETRIES={raw!r} is not a whole number ≥ 0."
            ) from None
    raw = os.environ.get("KITARU_STACK")
    if raw:
        values["stack"] = raw
    return values


def resolve_run_options(*layers: dict[str, Any]) -> RunOptions:
    """Resolve options: defaults → environment → :func:`configure` → each of ``layers`` in order.

    Layers hold only options that were given (no ``UNSET`` / ``None`` placeholders).
    """
    merged: dict[str, Any] = _env_options()
    cfg = _config
    for name in ("cache", "retries", "stack", "image"):
        value = getattr(cfg, name)
        if not isinstance(value, Unset):
            merged[name] = value
    for layer in layers:
        merged.update(layer)
    return RunOptions(**merged)


def resolve_home() -> Path:
    """Return the data directory: ``KITARU_HOME``, else a ``.kitaru/`` found walking up
    from the current directory, else the user data directory."""
    env = os.environ.get("KITARU_HOME")
    if env:
        return Path(env).expanduser().resolve()
    cwd = Path.cwd()
    for folder in (cwd, *cwd.parents):
        candidate = folder / ".kitaru"
        if candidate.is_dir():
            return candidate
    import platformdirs

    return Path(platformdirs.user_data_dir("kitaru", appauthor=False))
