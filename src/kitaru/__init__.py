"""Kitaru: durable execution for Python AI agents.

Decorate plain Python with :func:`flow` and :func:`checkpoint`; every
checkpoint's outcome is persisted, so a failed or crashed execution continues
where it stopped.

Example:
    >>> import kitaru
    >>> @kitaru.checkpoint
    ... def fetch(topic: str) -> str:
    ...     return f"notes on {topic}"
    >>> @kitaru.flow
    ... def research(topic: str) -> str:
    ...     return fetch(topic).upper()
    >>> research.run("agents").wait()  # doctest: +SKIP
    'NOTES ON AGENTS'
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

from kitaru._types import CheckpointType, ExecutionStatus, FailureOrigin
from kitaru.errors import (
    KitaruArtifactIntegrityError,
    KitaruBackendError,
    KitaruContextError,
    KitaruDivergenceError,
    KitaruError,
    KitaruExecutionError,
    KitaruFeatureNotAvailableError,
    KitaruFencedError,
    KitaruLogRetrievalError,
    KitaruNotFoundError,
    KitaruRuntimeError,
    KitaruStateError,
    KitaruUsageError,
    KitaruUserCodeError,
    KitaruWaitAbortedError,
    KitaruWaitValidationError,
)

if TYPE_CHECKING:
    from kitaru import memory
    from kitaru._llm_verb import llm
    from kitaru.checkpoint import CheckpointFuture, checkpoint
    from kitaru.client import KitaruClient
    from kitaru.config import KitaruConfig, configure, connect
    from kitaru.config.images import ImageSettings
    from kitaru.config.stacks import (
        StackInfo,
        create_stack,
        current_stack,
        delete_stack,
        list_stacks,
        use_stack,
    )
    from kitaru.flow import FlowHandle, flow
    from kitaru.runtime.context import current_execution_id
    from kitaru.serde import register_serializer
    from kitaru.verbs import load, log, save
    from kitaru.wait import wait

__version__ = "0.1.0"

__all__ = [
    "CheckpointFuture",
    "CheckpointType",
    "ExecutionStatus",
    "FailureOrigin",
    "FlowHandle",
    "ImageSettings",
    "KitaruArtifactIntegrityError",
    "KitaruBackendError",
    "KitaruClient",
    "KitaruConfig",
    "KitaruContextError",
    "KitaruDivergenceError",
    "KitaruError",
    "KitaruExecutionError",
    "KitaruFeatureNotAvailableError",
    "KitaruFencedError",
    "KitaruLogRetrievalError",
    "KitaruNotFoundError",
    "KitaruRuntimeError",
    "KitaruStateError",
    "KitaruUsageError",
    "KitaruUserCodeError",
    "KitaruWaitAbortedError",
    "KitaruWaitValidationError",
    "StackInfo",
    "checkpoint",
    "configure",
    "connect",
    "create_stack",
    "current_execution_id",
    "current_stack",
    "delete_stack",
    "flow",
    "list_stacks",
    "llm",
    "load",
    "log",
    "memory",
    "register_serializer",
    "save",
    "use_stack",
    "wait",
]


# Public names are imported on first use, so `import kitaru` stays cheap (the engine, the
# stores and the client load when a flow, a store or the client is first touched).
_LAZY = {
    "CheckpointFuture": "kitaru.checkpoint",
    "checkpoint": "kitaru.checkpoint",
    "FlowHandle": "kitaru.flow",
    "flow": "kitaru.flow",
    "KitaruClient": "kitaru.client",
    "KitaruConfig": "kitaru.config",
    "ImageSettings": "kitaru.config.images",
    "configure": "kitaru.config",
    "connect": "kitaru.config",
    "current_execution_id": "kitaru.runtime.context",
    "llm": "kitaru._llm_verb",
    "load": "kitaru.verbs",
    "log": "kitaru.verbs",
    "save": "kitaru.verbs",
    "register_serializer": "kitaru.serde",
    "StackInfo": "kitaru.config.stacks",
    "create_stack": "kitaru.config.stacks",
    "current_stack": "kitaru.config.stacks",
    "delete_stack": "kitaru.config.stacks",
    "list_stacks": "kitaru.config.stacks",
    "use_stack": "kitaru.config.stacks",
    "wait": "kitaru.wait",
}
# Submodules that share their name with the public function they define.
_SHADOWED = frozenset({"checkpoint", "flow", "wait"})


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        try:  # a submodule, e.g. kitaru.runtime after `import kitaru`
            return importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError:
            raise AttributeError(f"module 'kitaru' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


class _Package(types.ModuleType):
    """Keeps ``kitaru.flow``, ``kitaru.checkpoint`` and ``kitaru.wait`` the public functions:
    importing those submodules would otherwise bind the module objects under the same names."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _SHADOWED and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
