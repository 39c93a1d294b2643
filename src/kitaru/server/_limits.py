"""Request size limits: a body over its limit is refused with 413 before it is all read."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["BodyLimitMiddleware"]

_BLOBS = "/api/v1/blobs/"


class BodyLimitMiddleware:
    """ASGI middleware: JSON bodies up to ``max_json_bytes``, blob uploads up to ``max_blob_bytes``."""

    def __init__(self, app: Any, *, max_json_bytes: int, max_blob_bytes: int) -> None:
        self._app = app
        self._json = max_json_bytes
        self._blob = max_blob_bytes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        limit = self._blob if scope["path"].startswith(_BLOBS) else self._json
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await _refuse(send, scope, limit)
                return
        seen = 0
        started = refused = False

        async def counting() -> Any:
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # Answer now; to the app the client is gone (it stops reading and writes nothing).
                    if not started and not refused:
                        refused = True
                        await _refuse(send, scope, limit)
                    return {"type": "http.disconnect"}
            return message

        async def tracking(message: dict[str, Any]) -> None:
            nonlocal started
            if refused:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self._app(scope, counting, tracking)


async def _refuse(send: Any, scope: dict[str, Any], limit: int) -> None:
    message = (
        f"The body of {scope['method']} {scope['path']} is larger than this server accepts ({limit} bytes); "
        "nothing was stored. Send less at once, or start the server with a larger limit."
    )
    body = json.dumps({"error": {"type": "KitaruUsageError", "message": message, "fields": {}}}).encode()
    await send(
        {"type": "http.response.start", "status": 413, "headers": [(b"content-type", b"application/json")]}
    )
    await send({"type": "http.response.body", "body": body})
