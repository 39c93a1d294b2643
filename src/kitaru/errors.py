"""The whole Kitaru error tree.

Every error Kitaru raises derives from :class:`KitaruError`. Messages say what
happened, name the identifiers involved and what to do next.

Example:
    >>> from kitaru.errors import KitaruUsageError
    >>> issubclass(KitaruUsageError, ValueError)
    True
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "KitaruArtifactIntegrityError",
    "KitaruBackendError",
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
]


class KitaruError(Exception):
    """Base class of every error raised by Kitaru."""


class KitaruUsageError(KitaruError, ValueError):
    """An API was called with invalid arguments or options."""


class KitaruWaitValidationError(KitaruUsageError):
    """Input given to a pending wait does not match its schema."""


class KitaruContextError(KitaruError):
    """An API was called where it is not allowed (e.g. a checkpoint outside a flow)."""


class KitaruStateError(KitaruError):
    """An operation does not apply to the current state (e.g. no such artifact)."""


class KitaruRuntimeError(KitaruError):
    """The runtime could not carry out an execution."""


class KitaruExecutionError(KitaruRuntimeError):
    """An execution ended without a result.

    Attributes:
        exec_id: The execution's id.
        status: The execution's status value (``"failed"``, ``"cancelled"``).
        failure_origin: Where the failure came from (a ``FailureOrigin`` value).
    """

    def __init__(
        self,
        message: str,
        *,
        exec_id: str | None = None,
        status: Any = None,
        failure_origin: Any = None,
    ) -> None:
        super().__init__(message)
        self.exec_id = exec_id
        self.status = status
        self.failure_origin = failure_origin


class KitaruUserCodeError(KitaruExecutionError):
    """The user's flow or checkpoint code raised an exception."""


class KitaruDivergenceError(KitaruExecutionError):
    """A re-run made a different sequence of durable calls than was recorded."""


class KitaruWaitAbortedError(KitaruExecutionError):
    """A pending wait was aborted."""


class KitaruBackendError(KitaruRuntimeError):
    """A store or artifact backend failed (database, disk, network)."""


class KitaruArtifactIntegrityError(KitaruBackendError):
    """An artifact's stored bytes are missing, or do not match their recorded sha256.

    Attributes:
        reason: ``"missing"`` or ``"corrupt"``.
        key: The sha256 hex digest the bytes should have, when known.
    """

    def __init__(self, message: str, *, reason: str, key: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.key = key


class KitaruLogRetrievalError(KitaruBackendError):
    """Logs of an execution could not be retrieved."""


class KitaruFeatureNotAvailableError(KitaruError, NotImplementedError):
    """A feature is not available in this installation or configuration."""
