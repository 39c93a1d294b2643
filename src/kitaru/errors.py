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
    "KitaruFencedError",
    "KitaruLogRetrievalError",
    "KitaruNotFoundError",
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


class KitaruNotFoundError(KitaruStateError, LookupError):
    """Nothing matched a lookup (e.g. ``executions.latest()`` with no execution to return).

    It is also a :class:`LookupError`, so code written for the original API that
    catches either keeps working.
    """


class KitaruFencedError(KitaruStateError):
    """A runner's write carried a stale fencing token: another runner holds the execution now.

    Every claim of an execution (a start, a resume, a retry, a recovery) gives it a
    new, higher *epoch*; a runner writes with the epoch of its claim, and the store
    refuses, without writing anything, a write whose epoch is no longer the
    execution's. So a runner that stalled past its lease (a laptop that slept, a
    stopped process) cannot write over the runner that took over.

    Attributes:
        exec_id: The execution.
        epoch: The epoch the write carried.
        current: The execution's epoch now.
    """

    def __init__(self, exec_id: str, epoch: int, current: int, *, store: str = "") -> None:
        where = f" in store '{store}'" if store else ""
        super().__init__(
            f"Execution {exec_id}{where} is now held under epoch {current}; a write of its runner of "
            f"epoch {epoch} was refused and nothing was written. Another runner took the execution "
            "over (its lease had expired) or it was released; the runner of the older epoch must stop."
        )
        self.exec_id = exec_id
        self.epoch = epoch
        self.current = current


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
    """A store or artifact backend failed (database, disk, network).

    Attributes:
        transient: Whether the same operation may work when tried again later: the
            database was unreachable or restarting, the disk full, a lock timed out.
            ``False`` for a write the backend refuses as such.
    """

    def __init__(self, message: str = "", *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


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
