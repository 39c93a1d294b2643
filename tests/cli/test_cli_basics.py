"""``kitaru`` help, init/status/info, run, executions list/get: text, JSON and error paths."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from tests.cli.conftest import Cli, make_workspace


@pytest.fixture(scope="module")
def cli(cli_in_both_modes: Cli) -> Cli:
    """The module's workspace, locally and connected to a server."""
    return cli_in_both_modes


@pytest.fixture(scope="module")
def seeded(cli: Cli) -> list[str]:
    """Executions for the listing tests, started by one ``python`` process: greet, broken, greet, greet."""
    return cli.seed(
        ("greet", {"name": "Ada"}), ("broken", {}), ("greet", {"name": "A"}), ("greet", {"name": "B"})
    )


def test_help_version_and_python_m(cli: Cli) -> None:
    root, sub, version, bare = cli.many(("--help",), ("executions", "list", "--help"), ("--version",), ())
    assert root.code == 0 and "Usage: kitaru COMMAND" in root.out
    for group in (
        "executions",
        "artifacts",
        "memory",
        "model",
        "secrets",
        "stack",
        "run",
        "init",
        "status",
        "info",
    ):
        assert group in root.out
    assert sub.code == 0 and "--status" in sub.out and "--since" in sub.out
    assert "Examples:" in sub.out and "kitaru executions list --limit 5 -o json" in sub.out
    assert version.code == 0 and version.out.strip() == "0.1.0"
    assert bare.code == 0 and "Usage: kitaru COMMAND" in bare.out
    module = subprocess.run(
        [sys.executable, "-m", "kitaru", "executions", "--help"], capture_output=True, text=True, env=cli.env
    )
    assert module.returncode == 0 and "replay" in module.stdout and "input" in module.stdout


def test_every_command_has_help_with_examples(cli: Cli) -> None:
    # One interpreter renders every page (each `kitaru X --help` would pay the start-up again).
    driver = (
        "from kitaru.cli import main\n"
        "from kitaru.cli._app import CATALOG\n"
        "for c in CATALOG:\n"
        "    args = [*(c.group.split() if c.group else []), c.name, '--help']\n"
        "    print('=====', ' '.join(args), flush=True)\n"
        "    assert main(args) == 0\n"
    )
    done = subprocess.run([sys.executable, "-c", driver], capture_output=True, text=True, env=cli.env)
    assert done.returncode == 0, done.stderr
    pages = done.stdout.split("===== ")[1:]
    assert len(pages) == 47
    for page in pages:
        command = page.splitlines()[0].removesuffix(" --help")
        assert f"Usage: kitaru {command}" in page, page
        assert "Examples:\n  kitaru" in page or "Examples:\n  printf" in page, page
        assert "--output -o" in page, page


def test_usage_errors_exit_2_in_text_and_json(cli: Cli) -> None:
    unknown, missing, bad_choice, unknown_json, bad_format = cli.many(
        ("executions", "list", "--bogus"),
        ("executions", "get"),
        ("executions", "list", "--status", "exploded"),
        ("executions", "list", "--bogus", "-o", "json"),
        ("status", "-o", "yaml"),
    )
    assert unknown.code == 2 and "Error: Unknown option: --bogus." in unknown.err
    assert "Run 'kitaru executions list --help' for usage." in unknown.err
    assert missing.code == 2 and "EXEC_ID requires an argument" in missing.err
    assert bad_choice.code == 2 and "exploded" in bad_choice.err
    assert unknown_json.code == 2 and unknown_json.out == ""
    assert unknown_json.error == {"message": "Unknown option: --bogus.", "type": "UsageError"}
    assert bad_format.code == 2


def test_init_status_and_info(tmp_path: Path) -> None:
    project = make_workspace(tmp_path / "project")
    del project.env["KITARU_HOME"]  # let the project directory be found
    first = project("init")
    assert first.code == 0 and f"Initialized {project.workspace / '.kitaru'}" in first.out
    again = project("init", "-o", "json")
    assert again.json == {
        "command": "init",
        "item": {
            "data_dir": str(project.workspace / ".kitaru"),
            "created": False,
            "overridden_by_kitaru_home": False,
        },
    }
    (project.workspace / "sub").mkdir()
    (project.workspace / "pyproject.toml").write_text("[tool.kitaru]\nretries = 2\n")
    project.env.update({"KITARU_API_KEY": "sk-do-not-print", "KITARU_CACHE": "0"})
    text, as_json, info, info_json = project.many(
        ("status",), ("status", "-o", "json"), ("info",), ("info", "-o", "json")
    )
    assert text.code == 0, text
    # Labels are padded to the longest one: compare with the padding collapsed.
    flat = re.sub(r"[ ]{2,}", "  ", text.out)
    assert (
        f"Data directory  {project.workspace / '.kitaru'} (project directory (kitaru init) found at" in flat
    )
    assert "Connection  local store sqlite:///" in flat
    assert "Active stack  default (chosen by built-in default)" in flat
    assert "\n  retries  2 ([tool.kitaru] in" in flat
    assert "\n  cache  False (environment variable KITARU_CACHE)" in flat
    assert "\n  execution_target  'local' (built-in default)" in flat
    assert "KITARU_API_KEY=***" in text.out and "sk-do-not-print" not in text.out + as_json.out
    item = as_json.json["item"]
    assert as_json.json["command"] == "status"
    assert item["connection"]["kind"] == "local"
    assert item["settings"]["api_key"] == {"value": "***", "source": "environment variable KITARU_API_KEY"}
    assert item["environment"] == {"KITARU_CACHE": "0", "KITARU_API_KEY": "***"}
    assert info.code == 0 and "Kitaru" in info.out and "sqlalchemy" in info.out
    assert info_json.json["item"]["packages"]["cyclopts"]
    assert not (project.workspace / ".kitaru" / "kitaru.db").exists()  # status opens no store


def test_status_reports_a_bad_setting_naming_its_source(cli: Cli) -> None:
    bad = cli("status", "-o", "json", env={"KITARU_RETRIES": "lots"})
    assert bad.code == 1
    assert bad.error["type"] == "KitaruUsageError"
    assert "environment variable KITARU_RETRIES='lots'" in bad.error["message"]
    server = cli("status", env={"KITARU_SERVER_URL": "https://kitaru.example.com"})
    assert (
        server.code == 0 and "server https://kitaru.example.com (executions run in this process" in server.out
    )
    # Nothing listens on the discard port: the run says the server did not answer, and how to check.
    refused = cli(
        "run", "flows.py:greet", "--args", '{"name": "x"}', env={"KITARU_SERVER_URL": "http://127.0.0.1:9"}
    )
    assert refused.code == 1 and "did not answer" in refused.err and "kitaru server start" in refused.err


def test_run_text_json_and_errors(cli: Cli) -> None:
    waited, as_json, started, failed = cli.many(
        ("run", "flows.py:greet", "--args", '{"name": "Ada"}', "--wait"),
        ("run", "flows.py:greet", "--args", '["Bo"]', "--wait", "-o", "json"),
        ("run", "flows:greet", "--args", '{"name": "Cy"}', "-o", "json"),  # module:FLOW
        ("run", "flows.py:broken", "--wait"),
    )
    assert waited.code == 0, waited
    # The flow's own output (its checkpoint prints) runs alongside and may come before this line.
    assert any(line.startswith("Started execution ") for line in waited.out.splitlines()), waited
    assert "shouting at Ada" in waited.out
    assert "completed in" in waited.out and 'Result: "Hello, ADA!"' in waited.out
    assert "MAIN BLOCK RAN" not in waited.out + waited.err
    assert as_json.code == 0, as_json
    item = as_json.json["item"]
    assert as_json.json["command"] == "run"
    assert item["status"] == "completed" and item["result"] == "Hello, BO!"
    assert [c["invocation_id"] for c in item["checkpoints"]] == ["shout", "exclaim"]
    assert started.code == 0 and started.json["item"]["flow_name"] == "greet"
    assert failed.code == 1 and "failed: ValueError: boom" in failed.out
    assert "Details: kitaru executions get" in failed.err
    bad_args, not_a_list, unknown_flow, no_file, no_module = cli.many(
        ("run", "flows.py:greet", "--args", "{name: Ada}"),
        ("run", "flows.py:greet", "--args", '"Ada"'),
        ("run", "flows.py:nothing"),
        ("run", "missing.py:greet"),
        ("run", "no_such_module:greet", "-o", "json"),
    )
    assert bad_args.code == 2 and "--args is not valid JSON" in bad_args.err
    assert not_a_list.code == 2 and "--args must be a JSON object or a JSON list, got str" in not_a_list.err
    assert (
        unknown_flow.code == 2
        and "'nothing' is not defined" in unknown_flow.err
        and "greet" in unknown_flow.err
    )
    assert no_file.code == 2 and "No such file: 'missing.py'" in no_file.err
    assert no_module.code == 2 and no_module.error["type"] == "UsageError"


def test_list_and_get(cli: Cli, seeded: list[str]) -> None:
    first, second = seeded[:2]
    listed, listed_json, failed_only, limited, bad_since, recent = cli.many(
        ("executions", "list"),
        ("executions", "list", "-o", "json"),
        ("executions", "list", "--status", "failed", "-o", "json"),
        ("executions", "list", "--flow", "greet", "--limit", "1", "-o", "json"),
        ("executions", "list", "--since", "yesterday"),
        ("executions", "list", "--since", "1h", "--flow", "nope"),
    )
    assert listed.code == 0
    header = listed.out.splitlines()[0].split()
    assert header == ["EXEC", "ID", "FLOW", "STATUS", "STARTED", "DURATION"]
    assert first[-12:] in listed.out and second[-12:] in listed.out  # the short ids
    # STARTED is relative: "just now" under a second, "N s ago" after (the CLI may be that fast).
    assert "just now" in listed.out or " ago" in listed.out
    assert "\x1b[" not in listed.out  # no colour codes when piped
    items = listed_json.json["items"]
    assert listed_json.json["count"] == len(items) >= 4
    order = [i["exec_id"] for i in items]
    assert order.index(second) < order.index(first)  # newest first
    assert {i["status"] for i in failed_only.json["items"]} == {"failed"}
    assert limited.json["count"] == 1 and limited.json["items"][0]["flow_name"] == "greet"
    assert bad_since.code == 2 and "--since 'yesterday' is neither a duration" in bad_since.err
    assert recent.code == 0 and recent.out.strip() == "No executions match."

    text, as_json, by_prefix, verbose = cli.many(
        ("executions", "get", second),
        ("executions", "get", first, "-o", "json"),
        ("executions", "get", first[:30]),
        ("executions", "get", second, "-v"),
    )
    assert text.code == 0
    assert f"Execution  {second}" in text.out and "Status     failed" in text.out
    assert "Inputs" not in text.out  # broken() takes no arguments
    assert "Failure    ValueError: boom [user_code]" in text.out
    assert "Checkpoint calls" in text.out and "explode" in text.out and "Traceback" in text.out
    assert "Frozen spec" not in text.out  # only with -v
    assert "Frozen spec (secrets redacted)" in verbose.out and '"sources"' in verbose.out
    execution = as_json.json["item"]
    assert as_json.json["command"] == "executions.get"
    assert execution["exec_id"] == first and execution["spec"]["options"]["stack"] == "default"
    assert by_prefix.code == 0 and first in by_prefix.out
    assert 'Inputs     name="Ada"' in by_prefix.out
    assert 'Result     "Hello, ADA!"' in by_prefix.out
    assert [(a["name"], a["serializer"]) for a in execution["artifacts"] if a["kind"] == "input"] == [
        ("name", "json")
    ]


def test_get_unknown_and_ambiguous_ids(cli: Cli, seeded: list[str]) -> None:
    one, two = seeded[2:]
    common = next(one[:i] for i in range(len(one), 0, -1) if two.startswith(one[:i]))  # shared prefix
    unknown, unknown_json, ambiguous = cli.many(
        ("executions", "get", "ffffffff"),
        ("executions", "get", "ffffffff", "-o", "json"),
        ("executions", "get", common, "-o", "json"),
    )
    assert unknown.code == 1
    assert unknown.err.startswith("Error: No execution id starts or ends with 'ffffffff'")
    assert unknown_json.code == 1 and unknown_json.out == ""
    assert unknown_json.error["type"] == "KitaruStateError"
    assert ambiguous.code == 1 and ambiguous.error["type"] == "KitaruStateError"
    assert one in ambiguous.error["message"] and two in ambiguous.error["message"]
