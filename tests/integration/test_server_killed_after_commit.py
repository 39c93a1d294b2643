"""A server killed (SIGKILL) right after a write committed, before it answered: the retry of
the write with its idempotency key, to a restarted server, gets the first answer and the
write is applied once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests._helpers import wait_until
from tests._server import answers, free_port

from kitaru._types import utcnow
from kitaru._wire import to_wire
from kitaru.records import LogRecord
from kitaru.store.conformance.records import add_execution, artifact, attempt, call
from kitaru.store.sql import SqlStore

# The server of these tests: its store is wrapped so that the process kills itself as soon as
# the outermost store call during which the method named by KILL_AFTER ran has returned, i.e.
# once that method's write committed and before any answer is sent.
_SERVER = """
import os, signal, sys, threading

import uvicorn

from kitaru.artifacts.local import LocalArtifactStore
from kitaru.server import create_app
from kitaru.store.sql import SqlStore


class KilledAfterCommit:
    def __init__(self, store, method):
        self._store, self._method, self._local = store, method, threading.local()

    def __getattr__(self, name):
        found = getattr(self._store, name)
        if not callable(found) or not self._method:
            return found

        def call(*args, **kwargs):
            local = self._local
            depth = getattr(local, "depth", 0)
            local.depth = depth + 1
            local.hit = getattr(local, "hit", False) or name == self._method
            try:
                return found(*args, **kwargs)
            finally:
                local.depth = depth
                if depth == 0 and local.hit:
                    os.kill(os.getpid(), signal.SIGKILL)

        return call


database, blobs, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
store = KilledAfterCommit(SqlStore.open_sqlite(database), os.environ.get("KILL_AFTER", ""))
app = create_app(store, LocalArtifactStore(blobs), auth=None)
uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
"""


class _Server:
    def __init__(self, tmp: Path) -> None:
        self.script = tmp / "server.py"
        self.script.write_text(_SERVER)
        self.args = [str(tmp / "server.db"), str(tmp / "blobs")]
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, kill_after: str = "") -> subprocess.Popen[bytes]:
        env = {**os.environ, "KILL_AFTER": kill_after}
        command = [sys.executable, str(self.script), *self.args, str(self.port)]
        process = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
        self.processes.append(process)
        wait_until(lambda: answers(self.url) or process.poll() is not None, timeout=60)
        assert process.poll() is None
        return process

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=30)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[_Server]:
    running = _Server(tmp_path)
    try:
        yield running
    finally:
        running.stop()


def _logs(store: SqlStore) -> tuple[str, dict[str, Any], Any]:
    record = add_execution(store)
    body = {"records": to_wire([LogRecord(record.exec_id, utcnow(), "once")])}
    return "/api/v1/logs", body, lambda: [r.message for r in store.list_logs(record.exec_id)]


def _completed_call(store: SqlStore) -> tuple[str, dict[str, Any], Any]:
    record = add_execution(store)
    made = call(record.exec_id)
    body = {
        "call": to_wire(made),
        "attempt": to_wire(attempt(made.call_id)),
        "output": to_wire(artifact(record.exec_id)),
        "ended_at": utcnow().isoformat(),
        "epoch": record.epoch,
    }
    return (
        "/api/v1/completed-attempts",
        body,
        lambda: [c.status.value for c in store.list_calls(record.exec_id)],
    )


@pytest.mark.parametrize(
    ("method", "request_of"),
    [("append_logs", _logs), ("record_completed_attempt", _completed_call)],
)
def test_a_write_committed_by_a_server_killed_before_answering_is_answered_once_on_retry(
    server: _Server, tmp_path: Path, method: str, request_of: Any
) -> None:
    store = SqlStore.open_sqlite(tmp_path / "server.db")
    try:
        path, body, written = request_of(store)
        headers = {"Idempotency-Key": "k-killed"}
        first = server.start(kill_after=method)
        with pytest.raises(httpx.TransportError):
            httpx.post(server.url + path, json=body, headers=headers, timeout=30)
        assert first.wait(timeout=30) == -signal.SIGKILL
        applied = written()
        assert len(applied) == 1  # the write committed; its answer never left the server

        server.start()
        again = httpx.post(server.url + path, json=body, headers=headers, timeout=60)
        assert again.status_code == 204, again.text
        assert written() == applied
        # A new key is a new write.
        other = httpx.post(server.url + path, json=body, headers={"Idempotency-Key": "k-new"}, timeout=60)
        assert (other.status_code == 204) == (method == "append_logs")
    finally:
        store.close()
