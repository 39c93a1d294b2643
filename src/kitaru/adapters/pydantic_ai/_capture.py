"""What the adapter records of a tool call: the capture settings and their resolution."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, TypedDict, get_args

from kitaru.errors import KitaruUsageError

__all__ = ["CaptureConfig", "CaptureMode", "ToolCapture", "resolve_capture", "validate_capture"]

#: ``full``: arguments and result as artifacts, plus metadata; ``metadata_only``: name, status and
#: timing only; ``off``: nothing.
CaptureMode = Literal["full", "metadata_only", "off"]
CaptureMode.__doc__ = (  # an alias's own docstring, shown by help() and the docs
    "What is recorded of a tool call: 'full' (arguments and result as artifacts, plus metadata), "
    "'metadata_only' (name, status and timing) or 'off' (nothing)."
)


class CaptureConfig(TypedDict, total=False):
    """What is recorded of a tool call inside a checkpoint (every key optional).

    Example:
        >>> quiet: CaptureConfig = {"mode": "metadata_only"}
        >>> no_results: CaptureConfig = {"save_result": False}
    """

    mode: CaptureMode
    enabled: bool
    save_args: bool
    save_result: bool
    include_timings: bool


_KEYS = frozenset(CaptureConfig.__annotations__)
_MODES = get_args(CaptureMode)


@dataclass(frozen=True, slots=True)
class ToolCapture:
    """The resolved capture of one tool."""

    enabled: bool = True
    save_args: bool = True
    save_result: bool = True
    include_timings: bool = True


def validate_capture(config: object, *, where: str) -> CaptureConfig | None:
    """Check a capture config given by a user; ``where`` names the argument in the error."""
    if config is None:
        return None
    if not isinstance(config, Mapping):
        raise KitaruUsageError(f"{where} must be a dict (a CaptureConfig) or None, got {config!r}.")
    unknown = sorted(set(config) - _KEYS)
    if unknown:
        raise KitaruUsageError(f"{where} has unknown keys {unknown}; known keys: {sorted(_KEYS)}.")
    mode = config.get("mode", "full")
    if mode not in _MODES:
        raise KitaruUsageError(f"{where}: mode must be one of {', '.join(_MODES)}; got {mode!r}.")
    for key in _KEYS - {"mode"}:
        if key in config and not isinstance(config[key], bool):
            raise KitaruUsageError(f"{where}: {key} must be True or False, got {config[key]!r}.")
    return CaptureConfig(**config)  # type: ignore[typeddict-item]


def resolve_capture(
    tool_name: str,
    default: CaptureConfig | None,
    by_name: Mapping[str, CaptureConfig | None],
) -> ToolCapture:
    """The capture of ``tool_name``: its own entry (``None`` there: nothing), else the default."""
    if tool_name in by_name:
        config = by_name[tool_name]
        if config is None:
            return ToolCapture(enabled=False)
    else:
        config = default or {}
    mode = config.get("mode", "full")
    if mode == "off" or not config.get("enabled", True):
        return ToolCapture(enabled=False)
    full = mode == "full"
    return ToolCapture(
        enabled=True,
        save_args=full and config.get("save_args", True),
        save_result=full and config.get("save_result", True),
        include_timings=config.get("include_timings", True),
    )
