"""The two modes the flow, client and lifecycle tests run in.

``local``: the test's data directory holds its stores (a SQLite file, an artifact directory).
``server``: the same test, but every process of it (this one and the ``kitaru`` subprocesses it
starts) is connected to a Kitaru server (``KITARU_SERVER_URL`` + ``KITARU_API_KEY``), so it
stores everything through the REST store and REST artifact store. One server (uvicorn in a thread,
with API keys) serves the whole test session; each test gets stores of its own behind it (a SQLite
file and a blob directory outside its data directory), under a URL of its own
(``http://127.0.0.1:PORT/t/N``): a request of an earlier test's leftover thread is refused
(410) instead of reaching the stores of the next test.

A test module opts in with ``pytestmark = pytest.mark.both_modes``; a test of such a module that
is about a local-only thing says so with ``@pytest.mark.local_only(reason=...)``.
``KITARU_TEST_MODES=local`` runs the local mode only.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MODES = ("local", "server")


@dataclass(frozen=True)
class Stored:
    """The files that keep a test's executions: its SQLite database and its blob directory."""

    db: Path
    blobs: Path

    @property
    def url(self) -> str:
        """The SQLAlchemy URL of the database."""
        return f"sqlite:///{self.db}"


def modes_to_run() -> tuple[str, ...]:
    """The modes ``KITARU_TEST_MODES`` (comma-separated) selects; both by default."""
    raw = os.environ.get("KITARU_TEST_MODES", ",".join(MODES))
    chosen = tuple(mode.strip() for mode in raw.split(",") if mode.strip())
    unknown = [mode for mode in chosen if mode not in MODES]
    if unknown or not chosen:
        raise ValueError(f"KITARU_TEST_MODES={raw!r}: expected a comma-separated subset of {MODES}")
    return chosen


class _Switch:
    """Forwards every attribute to the store of the test that runs now."""

    def __init__(self) -> None:
        self.current: Any = None

    def __getattr__(self, name: str) -> Any:
        current = self.__dict__["current"]
        if current is None:
            raise RuntimeError("no test is being served")
        return getattr(current, name)


class ModeServer:
    """A Kitaru server (in a thread of this process) that serves one test's stores at a time."""

    def __init__(self) -> None:
        self.metadata = _Switch()
        self.artifacts = _Switch()
        self._numbers = itertools.count(1)
        self._serving = 0
        self._lock = threading.Lock()
        self._stack: contextlib.ExitStack | None = None
        self.url = ""
        #: Seconds the server waits before answering a request whose path ends so (a slow store).
        self.delays: dict[str, float] = {}

    def _start(self) -> None:
        from tests._server import running_server

        from kitaru.server import store_api_keys

        stack = contextlib.ExitStack()
        auth = store_api_keys(self.metadata)  # type: ignore[arg-type]
        served = running_server(self.metadata, self.artifacts, auth=auth, wrap=self.route)  # type: ignore[arg-type]
        self.url = stack.enter_context(served)
        self._stack = stack

    def close(self) -> None:
        if self._stack is not None:
            self._stack.close()
            self._stack = None

    @contextlib.contextmanager
    def serving(self, directory: Path, *, environ: bool = True) -> Iterator[dict[str, str]]:
        """Serve new stores in ``directory`` for the block; yield the variables that connect a
        process to them (``KITARU_SERVER_URL``, ``KITARU_API_KEY``), set in this process's
        environment unless ``environ`` is false."""
        from kitaru.artifacts.local import LocalArtifactStore
        from kitaru.config import reset_config
        from kitaru.server import issue_api_key
        from kitaru.store.sql import SqlStore
        from kitaru.testing import reset_default_stores

        directory.mkdir(parents=True, exist_ok=True)
        metadata = SqlStore.open_sqlite(directory / "kitaru.db")
        artifacts = LocalArtifactStore(directory / "blobs")
        token, _ = issue_api_key(metadata, "tests")
        number = next(self._numbers)
        with self._lock:
            self.metadata.current, self.artifacts.current = metadata, artifacts
            self._serving = number
        if self._stack is None:
            self._start()
        connection = {"KITARU_SERVER_URL": f"{self.url}/t/{number}", "KITARU_API_KEY": token}
        if environ:
            os.environ.update(connection)
            reset_default_stores()
            reset_config()
        try:
            yield connection
        finally:
            if environ:
                for name in connection:
                    os.environ.pop(name, None)
                reset_default_stores()
                reset_config()
            with self._lock:
                self._serving = 0
                self.metadata.current = self.artifacts.current = None
            metadata.close()

    def route(self, app: Callable[..., Any]) -> Callable[..., Any]:
        """An ASGI app that passes ``/t/<current test>/…`` on to ``app`` as ``/…``, answers
        ``/health`` itself, and refuses the paths of other tests with 410."""

        async def routed(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            path: str = scope["path"]
            parts = path.split("/", 3)  # "", "t", N, rest
            if len(parts) >= 3 and parts[1] == "t" and parts[2] == str(self._serving) and self._serving:
                rest = "/" + (parts[3] if len(parts) == 4 else "")
                delay = next((s for end, s in self.delays.items() if rest.endswith(end)), 0.0)
                if delay:
                    await asyncio.sleep(delay)
                await app({**scope, "path": rest, "raw_path": rest.encode()}, receive, send)
                return
            if path == "/health":
                await app(scope, receive, send)
                return
            body = json.dumps(
                {"error": {"type": "HTTPError", "message": f"{path}: that test has ended", "fields": {}}}
            ).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 410,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": body})

        return routed


_server: ModeServer | None = None


def mode_server() -> ModeServer:
    """The session's server (started on first use, stopped by :func:`stop_mode_server`)."""
    global _server
    if _server is None:
        _server = ModeServer()
    return _server


def stop_mode_server() -> None:
    if _server is not None:
        _server.close()


@contextlib.contextmanager
def another_home(path: str | os.PathLike[str]) -> Iterator[Path]:
    """:func:`kitaru.testing.isolated_home` that stays connected to the test's server in the mode
    ``server``: another data directory (another machine) of the same team."""
    from kitaru.config import reset_config
    from kitaru.testing import isolated_home, reset_default_stores

    server = {
        name: os.environ[name] for name in ("KITARU_SERVER_URL", "KITARU_API_KEY") if name in os.environ
    }
    with isolated_home(path) as home:
        os.environ.update(server)
        reset_default_stores()
        reset_config()
        try:
            yield home
        finally:
            for name in server:
                os.environ.pop(name, None)
