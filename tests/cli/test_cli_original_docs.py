"""The CLI usages of the original's guide on execution logs and artifacts, through ``kitaru``
in subprocesses: call sites of log lines, ``-vv``/``--verbosity``, ``--checkpoint`` across
the calls of a checkpoint, and artifacts of a checkpoint by its name."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tests.cli.conftest import Cli, make_workspace

DOCS_FLOWS = """\
import logging

import kitaru
from kitaru import checkpoint, flow

log = logging.getLogger("docs_flows")


@checkpoint
def research(topic: str) -> str:
    print(f"researching {topic}")
    log.warning("found sources on %s", topic)
    kitaru.save("research_context", {"topic": topic}, type="context")
    return f"notes on {topic}"


@flow
def two_researches(topic: str) -> str:
    return research(topic) + research(topic + " again")


@checkpoint
def write_draft(notes: str) -> str:
    return f"Draft: {notes}"


@flow
def content_pipeline(topic: str) -> str:
    draft = write_draft(research(topic))
    approved = kitaru.wait(name="approve_deploy", question="Deploy?", schema=bool, timeout=0)
    return draft if approved else "withheld"


@flow
def failing(topic: str) -> str:
    raise RuntimeError(f"no {topic}")
"""
LOGGED_AT = 12  # the line of log.warning(...) in DOCS_FLOWS


@pytest.fixture(scope="module")
def docs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Cli, str]:
    """A workspace with the flows above and one execution of ``two_researches``."""
    cli = make_workspace(tmp_path_factory.mktemp("docs"))
    (cli.workspace / "docs_flows.py").write_text(DOCS_FLOWS)
    assert DOCS_FLOWS.splitlines()[LOGGED_AT - 1].strip().startswith("log.warning(")
    return cli, cli.started("docs_flows.py:two_researches", "--args", '{"topic": "agents"}')


def test_logs_as_json_carry_the_call_site_of_logging_records(docs: tuple[Cli, str]) -> None:
    cli, exec_id = docs
    result = cli("executions", "logs", exec_id, "-o", "json")
    assert result.code == 0, result
    items = result.json["items"]
    assert [(i["source"], i["message"]) for i in items] == [
        ("stdout", "researching agents"),
        ("logging", "found sources on agents"),
        ("stdout", "researching agents again"),
        ("logging", "found sources on agents again"),
    ]
    sites = [(i["module"], i["filename"], i["lineno"]) for i in items]
    logged = ("docs_flows", "docs_flows.py", LOGGED_AT)
    assert sites == [(None, None, None), logged, (None, None, None), logged]
    assert [i["checkpoint_name"] for i in items] == ["research"] * 4


def test_very_verbose_logs_show_module_and_line(docs: tuple[Cli, str]) -> None:
    cli, exec_id = docs
    short, very, spelled = cli.many(
        ("executions", "logs", exec_id, "-v"),
        ("executions", "logs", exec_id, "-vv"),
        ("executions", "logs", exec_id, "--verbosity", "--verbosity"),
    )
    assert short.code == very.code == spelled.code == 0, (short, very, spelled)
    assert f"docs_flows:{LOGGED_AT}" not in short.out
    lines = very.out.splitlines()
    assert len(lines) == 4
    assert [f"docs_flows:{LOGGED_AT}" in line for line in lines] == [False, True, False, True]
    assert spelled.out == very.out


def test_checkpoint_filter_takes_every_call_of_a_checkpoint(docs: tuple[Cli, str]) -> None:
    cli, exec_id = docs
    by_name, by_invocation, nothing = cli.many(
        ("executions", "logs", exec_id, "--checkpoint", "research", "-o", "json"),
        ("executions", "logs", exec_id, "--checkpoint", "research_2", "-o", "json"),
        ("executions", "logs", exec_id, "--checkpoint", "nothing", "-o", "json"),
    )
    assert by_name.code == 0 and by_name.json["count"] == 4, by_name
    assert [i["message"] for i in by_invocation.json["items"]] == [
        "researching agents again",
        "found sources on agents again",
    ]
    assert nothing.code == 1 and "matches no call" in nothing.error["message"]


def test_artifacts_of_a_checkpoint_by_its_name(docs: tuple[Cli, str]) -> None:
    cli, exec_id = docs
    by_name, one_call, limited = cli.many(
        ("artifacts", "list", exec_id, "--producing-call", "research", "-o", "json"),
        ("artifacts", "list", exec_id, "--checkpoint", "research_2", "-o", "json"),
        (
            "artifacts",
            "list",
            exec_id,
            "--producing-call",
            "research",
            "--name",
            "research_context",
            "--limit",
            "1",
            "-o",
            "json",
        ),
    )
    assert by_name.code == 0, by_name
    assert sorted(i["name"] for i in by_name.json["items"]) == [
        "research",
        "research_2",
        "research_context",
        "research_context",
    ]
    assert {i["producing_call"] for i in by_name.json["items"]} == {"research"}
    assert sorted(i["name"] for i in one_call.json["items"]) == ["research_2", "research_context"]
    assert [i["name"] for i in limited.json["items"]] == ["research_context"]


SDK_STACKS = """\
import json

import kitaru

print(kitaru.current_stack().name)
print([s.name for s in kitaru.list_stacks()])
kitaru.create_stack("dev")
kitaru.create_stack("production", activate=False)
kitaru.use_stack("production")
kitaru.delete_stack("dev", recursive=True, force=True)
print(json.dumps([[s.id, s.name, s.is_active] for s in kitaru.list_stacks()]))
"""


def test_the_stacks_guide(tmp_path: Path) -> None:
    cli = make_workspace(tmp_path / "stacks")
    created = cli("stack", "create", "dev", "-o", "json")
    assert created.code == 0 and created.json["item"]["is_active"] is True, created
    listed = cli("stack", "list", "--output", "json")
    assert listed.code == 0, listed
    items = {i["name"]: i for i in listed.json["items"]}
    assert {k: items["dev"][k] for k in ("name", "is_active", "is_managed")} == {
        "name": "dev",
        "is_active": True,
        "is_managed": True,
    }
    assert (items["default"]["is_active"], items["default"]["is_managed"]) == (False, False)
    assert len(items["dev"]["id"]) == 36
    assert cli("stack", "delete", "dev").code == 1  # the active stack is protected
    assert cli("stack", "delete", "dev", "--recursive", "--force").code == 0
    assert cli("stack", "current", "-o", "json").json["item"]["name"] == "default"

    ran = subprocess.run(
        [sys.executable, "-c", SDK_STACKS],
        cwd=cli.workspace,
        env=cli.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.returncode == 0, ran.stderr
    first, names, last = ran.stdout.splitlines()
    assert (first, names) == ("default", "['default']")
    assert [(name, active) for _, name, active in json.loads(last)] == [
        ("default", False),
        ("production", True),
    ]


def test_the_execution_management_guide_commands(docs: tuple[Cli, str]) -> None:
    cli, _ = docs
    waiting = cli.started("docs_flows.py:content_pipeline", "--args", '{"topic": "agents"}')
    listed, as_json, got, logs, status, stacks = cli.many(
        ("executions", "list", "--status", "waiting", "--flow", "content_pipeline", "--limit", "20"),
        ("executions", "list", "--status", "waiting", "--output", "json"),
        ("executions", "get", waiting, "--output", "json"),
        ("executions", "logs", waiting, "--checkpoint", "research"),
        ("status", "--output", "json"),
        ("stack", "list", "--output", "json"),
    )
    for result in (listed, as_json, got, logs, status, stacks):
        assert result.code == 0, result
    assert waiting[-12:] in listed.out
    assert [i["exec_id"] for i in as_json.json["items"]] == [waiting]
    assert got.json["item"]["pending_wait"]["name"] == "approve_deploy"
    assert "found sources on agents" in logs.out

    answered = cli("executions", "input", waiting, "--value", "true", "-o", "json")
    assert answered.code == 0 and answered.json["item"]["status"] == "completed", answered
    replayed = cli(
        "executions",
        "replay",
        waiting,
        "--from",
        "write_draft",
        "--args",
        '{"topic":"New topic"}',
        "--overrides",
        '{"checkpoint.research":"Edited notes"}',
        "-o",
        "json",
    )
    assert replayed.code == 0, replayed
    new_id = replayed.json["item"]["exec_id"]
    aborted = cli("executions", "input", new_id, "--abort", "-o", "json")
    assert aborted.code == 0 and aborted.json["item"]["status"] == "cancelled", aborted

    failed = cli.started("docs_flows.py:failing", "--args", '{"topic": "luck"}')
    retried = cli("executions", "retry", failed, "-o", "json")
    assert retried.code == 1, retried  # it ran again and failed again
    assert (retried.json["item"]["status"], retried.json["item"]["run_count"]) == ("failed", 2)
    blocked = cli.started("docs_flows.py:content_pipeline", "--args", '{"topic": "later"}')
    cancelled = cli("executions", "cancel", blocked, "-o", "json")
    assert cancelled.code == 0 and cancelled.json["item"]["status"] == "cancelled", cancelled
