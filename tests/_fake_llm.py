"""Local fake model providers on 127.0.0.1: the OpenAI Chat Completions API and the Anthropic
Messages API, enough for the official SDKs pointed at them by base URL.

Each server answers scripted replies first (a status and a JSON body, or a text), then
``default_text``; it counts requests and keeps their bodies.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["FakeProvider", "anthropic_server", "openai_server"]


class FakeProvider:
    """What a fake server answers and what it was asked."""

    def __init__(self, api: str) -> None:
        self.api = api
        self.script: list[tuple[int, Any]] = []
        self.default_text = "fake reply"
        self.usage = (11, 7)  # input, output tokens of each reply
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.lock = threading.Lock()
        self.url = ""

    @property
    def count(self) -> int:
        with self.lock:
            return len(self.requests)

    def reply_text(self, text: str) -> None:
        """Answer the next request with ``text``."""
        self.script.append((200, text))

    def reply_error(self, status: int, message: str) -> None:
        """Answer the next request with an error of the provider's shape."""
        if self.api == "anthropic":
            kind = "rate_limit_error" if status == 429 else "invalid_request_error"
            body: Any = {"type": "error", "error": {"type": kind, "message": message}}
        else:
            body = {"error": {"message": message, "type": "invalid_request_error", "code": None}}
        self.script.append((status, body))

    def _body(self, request: dict[str, Any], text: str) -> dict[str, Any]:
        prompt_tokens, completion_tokens = self.usage
        if self.api == "anthropic":
            return {
                "id": "msg_fake",
                "type": "message",
                "role": "assistant",
                "model": request.get("model"),
                "content": [{"type": "text", "text": text}],
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": {"input_tokens": prompt_tokens, "output_tokens": completion_tokens},
            }
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": request.get("model"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }

    def answer(self, path: str, request: dict[str, Any], headers: dict[str, str]) -> tuple[int, Any]:
        expected = "/v1/messages" if self.api == "anthropic" else "/v1/chat/completions"
        with self.lock:
            self.requests.append(request)
            self.headers.append(headers)
            scripted = self.script.pop(0) if self.script else None
        if path != expected:
            return 404, {"error": {"message": f"no route {path}"}}
        if scripted is None:
            return 200, self._body(request, self.default_text)
        status, body = scripted
        if isinstance(body, str):
            return status, self._body(request, body)
        return status, body


def _handler(provider: FakeProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # Headers and body go out in two writes: without this, Nagle's algorithm holds the
            # body until the client's delayed acknowledgement (~40 ms per request).
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            request = json.loads(self.rfile.read(length) or b"{}")
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, body = provider.answer(self.path.split("?", 1)[0], request, headers)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def _serve(api: str) -> Iterator[FakeProvider]:
    provider = FakeProvider(api)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(provider))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    provider.url = f"http://{host}:{port}"
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def openai_server() -> Iterator[FakeProvider]:
    """A fake OpenAI Chat Completions API; its SDK base URL is ``provider.url + '/v1'``."""
    with _serve("openai") as provider:
        yield provider


@contextmanager
def anthropic_server() -> Iterator[FakeProvider]:
    """A fake Anthropic Messages API; its SDK base URL is ``provider.url``."""
    with _serve("anthropic") as provider:
        yield provider
