"""``kitaru server start --detach``, ``server status`` and ``server stop`` as subprocesses."""

from __future__ import annotations

import contextlib
import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests._helpers import wait_until
from tests._server import free_port
from tests.cli.conftest import Cli, make_workspace


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Cli]:
    cli = make_workspace(tmp_path / "ws")
    yield cli
    state = cli.home / "server.json"
    if state.exists():  # a failed test leaves no server behind
        with contextlib.suppress(ProcessLookupError, ValueError, KeyError):
            os.kill(int(json.loads(state.read_text())["pid"]), signal.SIGKILL)


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_a_detached_server_runs_reports_its_status_refuses_a_twin_and_stops(ws: Cli, tmp_path: Path) -> None:
    port = free_port()
    store_url = f"sqlite:///{tmp_path / 'server.db'}"
    args = (
        "--port",
        str(port),
        "--store-url",
        store_url,
        "--artifacts",
        str(tmp_path / "blobs"),
        "--no-auth",
    )
    assert ws("server", "status").code == 1

    started = ws("server", "start", "--detach", *args, "-o", "json")
    assert started.code == 0, started.err
    item = json.loads(started.out)["item"]
    url, pid = item["url"], item["pid"]
    assert url == f"http://127.0.0.1:{port}"
    assert httpx.get(f"{url}/api/v1/executions").json() == []
    assert Path(item["log"]).parent == ws.home
    assert item["dashboard_url"] == f"{url}/ui/"
    assert '<script type="module" src="app.js">' in httpx.get(item["dashboard_url"]).text

    status = ws("server", "status", "-o", "json")
    assert status.code == 0, status.err
    shown = json.loads(status.out)["item"]
    assert shown["running"] and shown["healthy"]
    assert (shown["url"], shown["pid"], shown["store"]) == (url, pid, store_url)
    shown_text = ws("server", "status").out
    assert "answers" in shown_text and f"Dashboard: {url}/ui/" in shown_text
    assert shown["dashboard_url"] == f"{url}/ui/"

    twin = ws("server", "start", "--detach", *args)
    assert twin.code != 0
    assert f"runs already (pid {pid}" in twin.err and "kitaru server stop" in twin.err
    other = make_workspace(tmp_path / "other")
    taken = other("server", "start", "--detach", *args)
    assert taken.code != 0 and f"Port {port} on 127.0.0.1 is taken" in taken.err

    stopped = ws("server", "stop")
    assert stopped.code == 0, stopped.err
    assert f"Stopped the Kitaru server at {url} (pid {pid})" in stopped.out
    assert _gone(pid)
    assert ws("server", "status").code == 1
    assert "No Kitaru server" in ws("server", "stop").out


def test_a_detached_server_that_cannot_start_says_why(ws: Cli, tmp_path: Path) -> None:
    port = free_port()
    failed = ws("server", "start", "--detach", "--port", str(port), "--store-url", "memory://nothing")
    assert failed.code != 0
    assert "did not start" in failed.err and "cannot serve the in-memory store" in failed.err
    assert ws("server", "status").code == 1


def test_a_detached_server_that_died_is_reported_and_can_be_started_again(ws: Cli, tmp_path: Path) -> None:
    args = ("--port", str(free_port()), "--store-url", f"sqlite:///{tmp_path / 'server.db'}", "--no-auth")
    started = ws("server", "start", "--detach", *args, "-o", "json")
    assert started.code == 0, started.err
    pid = json.loads(started.out)["item"]["pid"]
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: _gone(pid), timeout=30)
    status = ws("server", "status")
    assert status.code == 1 and f"(pid {pid}) has ended" in status.out
    again = ws("server", "start", "--detach", *args)
    assert again.code == 0, again.err
    assert ws("server", "stop").code == 0
