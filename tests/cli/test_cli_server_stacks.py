"""Working from a Kitaru server: a stack that points at it, and the model aliases and secrets it
keeps, used by flows run on other machines (separate data directories sharing only the server).

Everything is real: ``kitaru server start`` with API keys in a subprocess (its own data
directory), ``kitaru`` commands in subprocesses, the OpenAI SDK against a local fake provider.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests._fake_llm import openai_server
from tests._helpers import wait_until
from tests._server import answers, free_port
from tests.cli.conftest import Cli, kitaru_command, make_workspace

from kitaru.store.rest import RestStore

_SECRET_VALUE = "sk-kept-by-the-server-7f3a"

_FLOWS = """
import kitaru


@kitaru.flow
def ask(topic: str) -> str:
    return kitaru.llm(f"Say something about {topic}", model="fast")
"""


@dataclass
class Server:
    url: str
    store_url: str
    key: str
    process: subprocess.Popen[str]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """``kitaru server start`` with API keys, on a SQLite file, with a data directory of its own
    (where it keeps model aliases and secrets); yields it with a key."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KITARU_")}
    env["KITARU_HOME"] = str(tmp_path / "server-home")
    store_url = f"sqlite:///{tmp_path / 'server.db'}"
    created = subprocess.run(
        [*kitaru_command(), "server", "api-key", "create", "team", "--store-url", store_url, "-o", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert created.returncode == 0, created.stderr
    key = json.loads(created.stdout)["item"]["token"]
    port = free_port()
    command = ["server", "start", "--port", str(port), "--store-url", store_url]
    process = subprocess.Popen(
        [*kitaru_command(), *command, "--artifacts", str(tmp_path / "blobs")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: answers(url) or process.poll() is not None, timeout=60)
        assert process.poll() is None, process.communicate()
        yield Server(url, store_url, key, process)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        try:
            process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


def _machine(tmp_path: Path, name: str) -> Cli:
    cli = make_workspace(tmp_path / name)
    for var in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENROUTER_API_KEY"):
        cli.env.pop(var, None)
    (cli.workspace / "llmflows.py").write_text(_FLOWS)
    return cli


def _python(cli: Cli, code: str, *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=cli.workspace,
        env=cli.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


def test_a_flow_on_one_machine_uses_the_alias_and_secret_another_registered_on_the_server(
    tmp_path: Path, server: Server
) -> None:
    admin, runner = _machine(tmp_path, "admin"), _machine(tmp_path, "runner")
    with openai_server() as fake:
        fake.default_text = "servers are shared"
        # Machine one: a server stack, then an alias and its secret, on the server.
        done = admin("stack", "create", "team", "--server", server.url, "--api-key", server.key)
        assert done.code == 0, done
        stored = admin("secrets", "set", "openai", f"--OPENAI_API_KEY={_SECRET_VALUE}")
        assert stored.code == 0 and f"on server {server.url}" in stored.out, stored
        registered = admin(
            "model", "register", "fast", "--model", "openai/gpt-4o-mini", "--secret", "openai",
            "--base-url", fake.url + "/v1",
        )  # fmt: skip
        assert registered.code == 0 and "Note" not in registered.err, registered
        assert not (admin.home / "secrets.json").exists()  # nothing was kept locally

        # Machine two: connected by the environment; no alias, no secret, no key of its own.
        env = {"KITARU_SERVER_URL": server.url, "KITARU_API_KEY": server.key}
        aliases = runner("model", "list", "-o", "json", env=env)
        assert [m["alias"] for m in aliases.json["items"]] == ["fast"], aliases
        listed = runner("secrets", "list", "-o", "json", env=env)
        assert listed.json["items"][0]["name"] == "openai" and _SECRET_VALUE not in listed.out
        shown = runner("secrets", "show", "openai", "-o", "json", env=env)
        assert shown.json["item"]["values"] == {"OPENAI_API_KEY": "***"}, shown
        args = ("--args", '{"topic": "teams"}', "--wait", "-o", "json")
        ran = runner("run", "llmflows.py:ask", *args, env=env)
        assert ran.code == 0, ran
        assert fake.count == 1
        assert fake.headers[0]["authorization"] == f"Bearer {_SECRET_VALUE}"
    exec_id = ran.json["item"]["exec_id"]
    assert not (runner.home / "secrets.json").exists() and not (runner.home / "kitaru.db").exists()

    got = runner("executions", "get", exec_id, "-o", "json", env=env)
    assert got.code == 0, got
    execution = RestStore(server.url, api_key=server.key).get_execution(exec_id)
    assert execution.status.value == "completed"
    assert execution.spec["models"]["aliases"]["fast"]["model"] == "openai/gpt-4o-mini"  # the server's
    metadata = json.dumps(got.json)
    assert "secret 'openai' on server" in metadata  # where the key came from, recorded
    everything = [done, stored, registered, aliases, listed, shown, ran, got]
    assert not [r for r in everything if _SECRET_VALUE in r.out + r.err]
    assert _SECRET_VALUE not in json.dumps(execution.spec)
    server.process.send_signal(signal.SIGINT)
    out, err = server.process.communicate(timeout=30)
    assert _SECRET_VALUE not in out + err  # nor in the server's log


def test_a_server_stack_is_created_used_listed_with_its_key_masked_and_deleted(
    tmp_path: Path, server: Server
) -> None:
    cli = _machine(tmp_path, "ws")
    created = cli("stack", "create", "team", "--server", server.url, "--api-key", server.key, "--no-activate")
    assert created.code == 0, created
    config = cli.home / "config.json"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert server.key in config.read_text()  # kept as `kitaru login` keeps it

    listed = cli("stack", "list")
    assert listed.code == 0 and "team" in listed.out and "server" in listed.out and server.url in listed.out
    as_json = cli("stack", "list", "-o", "json")
    (team,) = [s for s in as_json.json["items"] if s["name"] == "team"]
    assert team["kind"] == "server" and team["server_url"] == server.url and team["api_key"] == "***"
    shown = cli("stack", "show", "team")
    assert "***" in shown.out and server.url in shown.out
    assert not [r for r in (created, listed, as_json, shown) if server.key in r.out + r.err]

    used = cli("stack", "use", "team")
    assert used.code == 0, used
    status = cli("status", "-o", "json").json["item"]
    assert status["connection"]["url"] == server.url
    assert status["connection"]["source"].startswith("stack 'team'")
    assert status["connection"]["api_key_source"].startswith("stack 'team'")
    assert server.key not in json.dumps(status)
    ran = cli("run", "flows.py:greet", "--args", '{"name": "ada"}', "--wait", "-o", "json")
    assert ran.code == 0, ran
    exec_id = ran.json["item"]["exec_id"]
    assert RestStore(server.url, api_key=server.key).get_execution(exec_id).status.value == "completed"
    assert not (cli.home / "kitaru.db").exists()
    assert [e["exec_id"] for e in cli("executions", "list", "-o", "json").json["items"]] == [exec_id]

    # A server named above the stack wins, and status and `stack use` say so.
    other = f"http://127.0.0.1:{free_port()}"
    env = {"KITARU_SERVER_URL": other}
    status = cli("status", env=env)
    assert "chosen by environment variable KITARU_SERVER_URL; no API key)" in status.out
    assert f"takes precedence over the server of stack 'team' ({server.url})" in status.out
    again = cli("stack", "use", "team", env=env)
    assert "KITARU_SERVER_URL" in again.err and "takes precedence" in again.err

    refused = cli("stack", "delete", "team")
    assert refused.code == 1 and "--force" in refused.err
    deleted = cli("stack", "delete", "team", "--force")
    assert deleted.code == 0, deleted
    assert server.key not in config.read_text()
    assert cli("status", "-o", "json").json["item"]["connection"]["kind"] == "local"


def test_a_server_stack_names_no_store_and_its_server_must_answer(tmp_path: Path, server: Server) -> None:
    cli = _machine(tmp_path, "ws")
    both = cli("stack", "create", "x", "--server", server.url, "--store-url", str(tmp_path / "x.db"))
    assert both.code == 1 and "not both" in both.err and "--store-url" in both.err, both
    key_only = cli("stack", "create", "x", "--api-key", server.key)
    assert key_only.code == 1 and "--server URL" in key_only.err and server.key not in key_only.err
    nobody = f"http://127.0.0.1:{free_port()}"
    unreachable = cli("stack", "create", "x", "--server", nobody, "--api-key", server.key)
    assert unreachable.code == 1 and f"The Kitaru server at {nobody}" in unreachable.err, unreachable
    assert "did not answer" in unreachable.err and server.key not in unreachable.err
    assert [s["name"] for s in cli("stack", "list", "-o", "json").json["items"]] == ["default"]

    # A stack saved without the check (Python does not contact the server) whose server is gone.
    _python(cli, "import kitaru, sys; kitaru.create_stack('gone', server_url=sys.argv[1])", nobody)
    listed = cli("executions", "list")
    assert listed.code == 1 and f"The Kitaru server at {nobody} (from stack 'gone' in " in listed.err
    assert "did not answer" in listed.err, listed


def test_a_wrong_key_is_refused_with_what_to_do(tmp_path: Path, server: Server) -> None:
    cli = _machine(tmp_path, "ws")
    wrong = "kitaru_not-a-key-of-this-server"
    refused = cli("stack", "create", "team", "--server", server.url, "--api-key", wrong)
    assert refused.code == 1, refused
    assert "API key is not valid" in refused.err and "--api-key" in refused.err
    assert "kitaru server api-key create" in refused.err and wrong not in refused.err

    # A stack saved with a key the server does not accept (Python does not contact the server).
    code = "import kitaru, sys; kitaru.create_stack('team', server_url=sys.argv[1], api_key=sys.argv[2])"
    _python(cli, code, server.url, wrong)
    listed = cli("executions", "list")
    assert listed.code == 1, listed
    assert f"The Kitaru server at {server.url} (from stack 'team'" in listed.err
    assert "API key is not valid" in listed.err
    assert "kitaru stack create team --server" in listed.err and "KITARU_API_KEY" in listed.err
    assert wrong not in listed.err

    logged_in = cli("login", server.url, "--api-key", server.key)  # a key that works, remembered
    assert logged_in.code == 0, logged_in
    assert cli("executions", "list").code == 0  # `kitaru login` takes precedence over the stack
    env = {"KITARU_API_KEY": wrong}
    refused = cli("secrets", "list", env=env)
    assert refused.code == 1 and "environment variable KITARU_API_KEY" in refused.err, refused
