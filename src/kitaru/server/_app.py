"""The FastAPI application: the routers, the error handlers, authentication, idempotency."""

from __future__ import annotations

import logging
import os
import tempfile
import uuid
from pathlib import Path
from typing import Any, cast

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from kitaru.artifacts.base import ArtifactStore
from kitaru.errors import KitaruError
from kitaru.server._artifact_values import artifact_values_router
from kitaru.server._auth import Authenticator, AuthMiddleware
from kitaru.server._blobs import blobs_router
from kitaru.server._calls import calls_router
from kitaru.server._dashboard import mount_dashboard
from kitaru.server._errors import ERROR_RESPONSES, error_body, exception_body, status_of
from kitaru.server._executions import executions_router
from kitaru.server._follow import MAX_FOLLOW_WAIT, follow_router
from kitaru.server._idempotency import IdempotencyMiddleware, IdempotentStore
from kitaru.server._limits import BodyLimitMiddleware
from kitaru.server._memory import memory_router, retention_router
from kitaru.server._operations import operations_router
from kitaru.server._queue import MAX_CLAIM_WAIT, queue_router
from kitaru.server._registry import registry_router
from kitaru.server._usage import usage_router
from kitaru.server._waits import waits_router
from kitaru.store.base import MetadataStore

__all__ = ["API_PREFIX", "build_app"]

#: Every resource lives under this path (``/health`` and the schema do not).
API_PREFIX = "/api/v1"
#: The default largest blob upload, in bytes.
MAX_BLOB_BYTES = 1 << 30
#: The default largest JSON body, in bytes (records carry inline values up to 64 KiB each).
MAX_JSON_BYTES = 64 << 20

_log = logging.getLogger("kitaru.server")


def build_app(
    store: MetadataStore,
    artifacts: ArtifactStore,
    *,
    auth: Authenticator | None,
    max_blob_bytes: int = MAX_BLOB_BYTES,
    max_json_bytes: int = MAX_JSON_BYTES,
    max_follow_wait: float = MAX_FOLLOW_WAIT,
    uploads_dir: str | os.PathLike[str] | None = None,
) -> FastAPI:
    """Return the API over ``store`` and ``artifacts`` (see :func:`kitaru.server.create_app`)."""
    __version__ = _version()
    if uploads_dir is None:  # made when the first upload session starts
        uploads_dir = Path(tempfile.gettempdir()) / f"kitaru-uploads-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    uploads = Path(uploads_dir)
    app = FastAPI(
        title="Kitaru server",
        version=__version__,
        description="Executions, calls, waits, logs, artifacts and memory of Kitaru, over HTTP. "
        "Every route but /health needs an API key as a bearer token.",
        responses=ERROR_RESPONSES,
    )
    keyed = cast(MetadataStore, IdempotentStore(store))  # a retried write's calls are made once
    # Each router straight under the app (a request is matched against the routers in
    # order, and again within the one that matched): the checkpoint hot path's first.
    for router in (
        calls_router(keyed, artifacts),
        executions_router(keyed),
        follow_router(store, max_wait=max_follow_wait),
        operations_router(keyed),
        queue_router(store, max_wait=min(max_follow_wait, MAX_CLAIM_WAIT)),
        waits_router(keyed, artifacts),
        registry_router(authenticated=auth is not None),
        memory_router(keyed),
        usage_router(store),
        retention_router(keyed),
        blobs_router(artifacts, max_blob_bytes=max_blob_bytes, uploads_dir=uploads),
        artifact_values_router(store, artifacts),
    ):
        app.include_router(router, prefix=API_PREFIX)

    @app.get("/health", tags=["server"], summary="Whether the server answers (no key needed)")
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    mount_dashboard(app)
    _add_error_handlers(app)
    app.add_middleware(IdempotencyMiddleware, store=store)
    app.add_middleware(AuthMiddleware, authenticator=auth)
    # Outermost: a body over its limit is refused before anything reads it.
    app.add_middleware(BodyLimitMiddleware, max_json_bytes=max_json_bytes, max_blob_bytes=max_blob_bytes)
    return app


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("kitaru")
    except PackageNotFoundError:
        return "unknown"


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(KitaruError)
    async def kitaru_error(request: Request, exc: KitaruError) -> JSONResponse:
        return JSONResponse(exception_body(exc), status_code=status_of(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(_problem(error) for error in exc.errors())
        message = f"The request to {request.method} {request.url.path} is not valid: {problems}"
        return JSONResponse(error_body("KitaruUsageError", message), status_code=422)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        if exc.status_code == 404:
            message = f"No route {request.method} {request.url.path}; the routes are listed at /docs."
        else:
            message = str(exc.detail)
        return JSONResponse(
            error_body("HTTPError", message), status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(OverflowError)
    async def overflow(request: Request, exc: OverflowError) -> JSONResponse:
        message = (
            f"A number in the request to {request.method} {request.url.path} is out of the range the "
            f"store keeps ({exc}); use whole numbers between -2**63 and 2**63 - 1."
        )
        return JSONResponse(error_body("KitaruUsageError", message), status_code=422)

    @app.exception_handler(ClientDisconnect)
    async def client_gone(request: Request, exc: ClientDisconnect) -> Response:
        # Nobody reads this answer (the client left, or its body was refused as too large).
        return Response(status_code=400)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        _log.exception("unexpected error serving %s %s", request.method, request.url.path)
        message = (
            f"The server failed on {request.method} {request.url.path} ({type(exc).__name__}); see its log."
        )
        return JSONResponse(error_body("KitaruBackendError", message), status_code=500)


def _problem(error: Any) -> str:
    where = ".".join(str(part) for part in error.get("loc", ()))
    problem = f"{where}: {error.get('msg', 'invalid')}"
    if "input" in error and not isinstance(error["input"], dict | list):
        problem += f" (got {error['input']!r:.80})"
    return problem
