"""Failure records and their origin, decided from the exception type.

Example:
    >>> from kitaru.runtime.failures import origin_of
    >>> origin_of(ValueError("bad")).value
    'user_code'
"""

from __future__ import annotations

from typing import Any

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

__all__ = ["failure_from", "origin_of", "type_path"]


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


def failure_from(exc: BaseException, **extra: Any) -> dict[str, Any]:
    """Return the stored failure dict of an exception (type, message, traceback, origin)."""
    import traceback  # only failures pay for it

    failure: dict[str, Any] = {
        "message": str(exc) or type(exc).__name__,
        "exception_type": type_path(type(exc)),
        "traceback": "".join(traceback.format_exception(exc)),
        "origin": origin_of(exc).value,
    }
    failure.update(extra)
    return failure
