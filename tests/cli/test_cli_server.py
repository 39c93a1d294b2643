"""``kitaru server start`` and ``kitaru server api-key …`` as subprocesses, with a real server."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests._helpers import wait_until
from tests.cli.conftest import Cli, make_workspace

from kitaru.artifacts.rest import RestArtifactStore
from kitaru.store.rest import RestStore


@pytest.fixture
def ws(tmp_path: Path) -> Cli:
    return make_workspace(tmp_path / "ws")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture
def server(ws: Cli, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A server started with ``kitaru server start`` on a SQLite file; yields (URL, store URL)."""
    store_url = f"sqlite:///{tmp_path / 'server.db'}"
    port = _free_port()
    process = ws.popen(
        "server",
        "start",
        "--port",
        str(port),
        "--store-url",
        store_url,
        "--artifacts",
        str(tmp_path / "blobs"),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _up(url) or process.poll() is not None, timeout=60)
        assert process.poll() is None, process.communicate()
        yield url, store_url
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_keys_are_created_once_listed_revoked_and_checked_by_the_server(
    ws: Cli, server: tuple[str, str]
) -> None:
    url, store_url = server
    assert httpx.get(f"{url}/api/v1/executions").status_code == 401
    created = ws("server", "api-key", "create", "ci", "--store-url", store_url, "-o", "json")
    assert created.code == 0, created.err
    token = json.loads(created.out)["item"]["token"]
    assert token.startswith("kitaru_") and len(token) > 40
    assert httpx.get(f"{url}/api/v1/executions", headers={"Authorization": f"Bearer {token}"}).json() == []

    data = os.urandom(1 << 20)
    blobs = RestArtifactStore(url, api_key=token)
    assert blobs.get(blobs.put(data)) == data
    assert RestStore(url, api_key=token).list_executions() == []

    again = ws("server", "api-key", "create", "ci", "--store-url", store_url)
    assert again.code == 1 and "api-key revoke ci" in again.err
    listed = ws("server", "api-key", "list", "--store-url", store_url)
    assert listed.code == 0 and "ci" in listed.out and "active" in listed.out and token not in listed.out
    revoked = ws("server", "api-key", "revoke", "ci", "--store-url", store_url)
    assert revoked.code == 0, revoked.err
    wait_until(
        lambda: (
            httpx.get(f"{url}/api/v1/executions", headers={"Authorization": f"Bearer {token}"}).status_code
            == 401
        ),
        timeout=30,
    )
    assert "revoked" in ws("server", "api-key", "list", "--store-url", store_url).out


def test_no_auth_is_refused_beyond_loopback(ws: Cli, tmp_path: Path) -> None:
    done = ws(
        "server", "start", "--no-auth", "--host", "0.0.0.0", "--store-url", f"sqlite:///{tmp_path / 's.db'}"
    )
    assert done.code != 0 and "loopback" in done.err


def test_no_auth_on_loopback_is_warned_about(ws: Cli, tmp_path: Path) -> None:
    port = _free_port()
    process = ws.popen(
        "server", "start", "--no-auth", "--port", str(port), "--store-url", f"sqlite:///{tmp_path / 's.db'}"
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _up(url) or process.poll() is not None, timeout=60)
        assert httpx.get(f"{url}/api/v1/executions").json() == []
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=20)
    assert "WITHOUT authentication" in err
    assert f"Dashboard: {url}/ui/" in err


def test_the_cli_runs_and_lists_executions_through_the_server(ws: Cli, server: tuple[str, str]) -> None:
    url, store_url = server
    created = ws("server", "api-key", "create", "cli", "--store-url", store_url, "-o", "json")
    token = json.loads(created.out)["item"]["token"]
    env = {"KITARU_SERVER_URL": url, "KITARU_API_KEY": token}
    ran = ws("run", "flows.py:greet", "--args", '{"name": "ada"}', "--wait", "-o", "json", env=env)
    assert ran.code == 0, ran.err
    exec_id = json.loads(ran.out)["item"]["exec_id"]
    listed = ws("executions", "list", "-o", "json", env=env)
    assert listed.code == 0, listed.err
    assert [item["exec_id"] for item in json.loads(listed.out)["items"]] == [exec_id]
    got = ws("executions", "get", exec_id[-12:], "-o", "json", env=env)
    assert got.code == 0 and json.loads(got.out)["item"]["status"] == "completed"
    status = ws("status", "-o", "json", env=env)
    assert status.json["item"]["connection"] == {
        "kind": "server",
        "url": url,
        "authenticated": True,
        "note": "executions run in this process and are stored by the server",
        "source": "environment variable KITARU_SERVER_URL",
        "api_key_source": "environment variable KITARU_API_KEY",
    }
    assert not (ws.home / "kitaru.db").exists()  # nothing was stored locally
    refused = ws("executions", "list", env={"KITARU_SERVER_URL": url, "KITARU_API_KEY": "kitaru_wrong"})
    assert refused.code == 1 and "API key is not valid" in refused.err


def test_login_checks_the_key_remembers_the_server_and_logout_forgets_it(
    ws: Cli, server: tuple[str, str]
) -> None:
    url, store_url = server
    token = json.loads(ws("server", "api-key", "create", "me", "--store-url", store_url, "-o", "json").out)[
        "item"
    ]["token"]
    wrong = ws("login", url, "--api-key", "kitaru_wrong")
    assert wrong.code == 1 and "API key is not valid" in wrong.err
    assert ws("status", "-o", "json").json["item"]["connection"]["kind"] == "local"

    logged_in = ws("login", url, "--api-key", token)
    assert logged_in.code == 0, logged_in.err
    assert f"Dashboard: {url}/ui/" in logged_in.out
    status = ws("status", "-o", "json").json["item"]
    assert status["connection"]["url"] == url and status["settings"]["server_url"]["source"] == "kitaru login"
    ran = ws("run", "flows.py:greet", "--args", '{"name": "ada"}', "--wait", "-o", "json")
    assert ran.code == 0, ran.err
    exec_id = json.loads(ran.out)["item"]["exec_id"]
    assert RestStore(url, api_key=token).get_execution(exec_id).status.value == "completed"
    assert not (ws.home / "kitaru.db").exists()

    out = ws("logout")
    assert out.code == 0 and f"Logged out of {url}" in out.out
    assert ws("status", "-o", "json").json["item"]["connection"]["kind"] == "local"
    assert ws("executions", "list", "-o", "json").json["items"] == []  # the local store again
    assert "Not logged in" in ws("logout").out
