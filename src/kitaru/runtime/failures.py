"""Failure records and their origin, decided from the exception type.

Example:
    >>> from kitaru.runtime.failures import origin_of
    >>> origin_of(ValueError("bad")).value
    'user_code'
"""

from __future__ import annotations

from typing import Any

from kitaru._sources import CodeNotLoadable
from kitaru._types import FailureOrigin
from kitaru.errors import (
    KitaruBackendError,
    KitaruContextError,
    KitaruDivergenceError,
    KitaruError,
    KitaruExecutionError,
    KitaruUsageError,
    KitaruWaitAbortedError,
)
from kitaru.records import Failure

__all__ = ["failure_from", "failure_of", "origin_of", "type_path"]


def type_path(tp: type) -> str:
    """Return ``module.QualName`` of a type (just the name for builtins)."""
    if tp.__module__ == "builtins":
        return tp.__qualname__
    return f"{tp.__module__}.{tp.__qualname__}"


def origin_of(exc: BaseException) -> FailureOrigin:
    """Decide where a failure came from by the type of the exception raised.

    Misuse of the Kitaru API from user code (usage and context errors) counts as
    user code; backend errors as backend; other Kitaru errors as runtime.
    """
    if isinstance(exc, KitaruDivergenceError):
        return FailureOrigin.DIVERGENCE
    if isinstance(exc, KitaruWaitAbortedError):
        return FailureOrigin.CANCELLED
    if isinstance(exc, KitaruExecutionError) and exc.failure_origin is not None:
        return FailureOrigin(exc.failure_origin)
    if isinstance(exc, KitaruBackendError):
        return FailureOrigin.BACKEND
    if isinstance(exc, KitaruUsageError | KitaruContextError):
        return FailureOrigin.USER_CODE
    if isinstance(exc, KitaruError):
        return FailureOrigin.RUNTIME
    if isinstance(exc, Exception):
        return FailureOrigin.USER_CODE
    return FailureOrigin.UNKNOWN


def failure_of(
    exc: BaseException, *, attempt: int | None = None, invocation_id: str | None = None
) -> Failure:
    """Return the failure record of an exception (type, message, traceback, origin)."""
    import traceback  # only failures pay for it

    return Failure(
        message=str(exc) or type(exc).__name__,
        exception_type=type_path(type(exc)),
        traceback="".join(traceback.format_exception(exc)),
        origin=origin_of(exc),
        attempt=attempt,
        invocation_id=invocation_id,
        recoverable=isinstance(exc, CodeNotLoadable),
    )


def failure_from(
    exc: BaseException, *, attempt: int | None = None, invocation_id: str | None = None
) -> dict[str, Any]:
    """Return the stored failure dict of an exception (the shape of :class:`kitaru.records.Failure`)."""
    return failure_of(exc, attempt=attempt, invocation_id=invocation_id).to_dict()
