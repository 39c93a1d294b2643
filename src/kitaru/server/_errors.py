"""Kitaru errors as HTTP responses: one table from error class to status code.

Every error is a JSON body ``{"error": {"type", "message", "fields"}}`` whose message is
the one the local store raises, so a REST store re-raises the same class with the same
words (``fields`` carries the attributes, e.g. a fenced write's epochs).
"""

from __future__ import annotations

from typing import Any

from kitaru import errors

__all__ = ["ERROR_RESPONSES", "error_body", "exception_body", "status_of"]

# Most specific first: the first class the error is an instance of decides.
_STATUS: tuple[tuple[type[errors.KitaruError], int], ...] = (
    (errors.KitaruNotFoundError, 404),
    (errors.KitaruFencedError, 409),
    (errors.KitaruStateError, 409),
    (errors.KitaruUsageError, 422),
    (errors.KitaruFeatureNotAvailableError, 501),
    (errors.KitaruArtifactIntegrityError, 404),
    (errors.KitaruBackendError, 503),
)


def status_of(exc: errors.KitaruError) -> int:
    """Return the HTTP status of a Kitaru error."""
    if isinstance(exc, errors.KitaruArtifactIntegrityError) and exc.reason != "missing":
        return 500
    if type(exc) is errors.KitaruBackendError and not exc.transient:
        # The database refused this write as such (a reference or a unique key): the request's
        # data conflicts with what is stored. Trying again will not help; 503 says it might.
        return 409
    for kind, status in _STATUS:
        if isinstance(exc, kind):
            return status
    return 400


def error_body(kind: str, message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return the JSON body of an error response."""
    return {"error": {"type": kind, "message": message, "fields": fields or {}}}


def exception_body(exc: errors.KitaruError) -> dict[str, Any]:
    """Return the JSON body of a Kitaru error, with its plain attributes as ``fields``."""
    fields = {
        name: value
        for name, value in vars(exc).items()
        if not name.startswith("_") and isinstance(value, str | int | float | bool | type(None))
    }
    return error_body(type(exc).__name__, str(exc), fields)


def _described(description: str) -> dict[str, Any]:
    from kitaru.server._models import ErrorBody

    return {"model": ErrorBody, "description": description}


#: The error responses every route of the API may give (documented in ``/openapi.json``).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: _described("No API key, or an unknown or revoked one."),
    404: _described(
        "Nothing matched (KitaruNotFoundError), or a blob is missing (KitaruArtifactIntegrityError)."
    ),
    409: _described(
        "No such record, or it is in a state that refuses the request (KitaruStateError, KitaruFencedError)."
    ),
    413: _described("The body is larger than the server accepts (KitaruUsageError); nothing was stored."),
    422: _described("The body or a parameter is not valid (KitaruUsageError)."),
    503: _described("The server's store is unavailable (KitaruBackendError, transient); try again."),
}
