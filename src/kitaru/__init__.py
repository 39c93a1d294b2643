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

from typing import TYPE_CHECKING, Any

from kitaru import _lifecycle  # noqa: F401  (installs the runtime's dispatcher for the client)
from kitaru._types import CheckpointType, ExecutionStatus, FailureOrigin
from kitaru._verbs import load, log, save
from kitaru.checkpoint import CheckpointFuture, checkpoint
from kitaru.config import KitaruConfig, configure, connect
from kitaru.errors import (
    KitaruBackendError,
    KitaruContextError,
    KitaruDivergenceError,
    KitaruError,
    KitaruExecutionError,
    KitaruFeatureNotAvailableError,
    KitaruLogRetrievalError,
    KitaruRuntimeError,
    KitaruStateError,
    KitaruUsageError,
    KitaruUserCodeError,
    KitaruWaitAbortedError,
    KitaruWaitValidationError,
)
from kitaru.flow import FlowHandle, flow
from kitaru.runtime.context import current_execution_id
from kitaru.serde import register_serializer
from kitaru.stacks import StackInfo, create_stack, current_stack, delete_stack, list_stacks, use_stack
from kitaru.wait import wait

if TYPE_CHECKING:
    from kitaru.client import KitaruClient

__version__ = "0.1.0"

__all__ = [
    "CheckpointFuture",
    "CheckpointType",
    "ExecutionStatus",
    "FailureOrigin",
    "FlowHandle",
    "KitaruBackendError",
    "KitaruClient",
    "KitaruConfig",
    "KitaruContextError",
    "KitaruDivergenceError",
    "KitaruError",
    "KitaruExecutionError",
    "KitaruFeatureNotAvailableError",
    "KitaruLogRetrievalError",
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
    "load",
    "log",
    "register_serializer",
    "save",
    "use_stack",
    "wait",
]


def __getattr__(name: str) -> Any:
    # The client is imported on first use so `import kitaru` stays cheap.
    if name == "KitaruClient":
        from kitaru.client import KitaruClient

        return KitaruClient
    raise AttributeError(f"module 'kitaru' has no attribute {name!r}")
