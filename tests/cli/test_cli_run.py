"""``kitaru run``: how the execution it started ended decides what it prints and its exit code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.cli.conftest import Cli, make_workspace


@pytest.fixture(scope="module")
def cli(cli_in_both_modes: Cli) -> Cli:
    """The module's workspace, locally and connected to a server."""
    return cli_in_both_modes


def test_a_failed_execution_prints_its_failure_and_exits_1(cli: Cli) -> None:
    text = cli("run", "flows.py:broken")
    assert text.code == 1, text
    assert "failed: ValueError: boom" in text.out
    assert "kitaru executions get" in text.err
    as_json = cli("run", "flows.py:broken", "-o", "json")
    assert as_json.code == 1, as_json
    assert as_json.json["item"]["status"] == "failed"
    assert as_json.json["item"]["failure"]["exception_type"] == "ValueError"


def test_json_reports_the_final_status_and_result(cli: Cli) -> None:
    done = cli("run", "flows.py:greet", "--args", '{"name": "ada"}', "-o", "json")
    assert done.code == 0, done
    assert done.json["item"]["status"] == "completed"
    assert done.json["item"]["result"] == "Hello, ADA!"


def test_wait_returns_when_the_execution_leaves_a_wait(cli: Cli) -> None:
    waiting = cli("run", "flows.py:approve", "--args", '{"draft": "post"}', "--wait", timeout=30)
    assert waiting.code == 0, waiting
    assert "waits for input at 'wait': Publish post?" in waiting.out
    assert "kitaru executions input" in waiting.out
    as_json = cli("run", "flows.py:approve", "--args", '{"draft": "x"}', "--wait", "-o", "json", timeout=30)
    assert as_json.code == 0, as_json
    assert as_json.json["item"]["status"] == "waiting"
    assert as_json.json["item"]["result"] is None


def test_wait_prints_the_result(cli: Cli) -> None:
    done = cli("run", "flows.py:greet", "--args", '{"name": "ada"}', "--wait")
    assert done.code == 0, done
    assert 'Result: "Hello, ADA!"' in done.out


def test_timeout_cancels_the_execution_and_exits_1(cli: Cli) -> None:
    slow = cli("run", "flows.py:ticking", "--args", '{"n": 600}', "--wait", "--timeout", "0.5", "-o", "json")
    assert slow.code == 1, slow
    error = json.loads(slow.err[slow.err.index("{") :])["error"]  # after what the flow printed
    assert error["type"] == "TimeoutError"
    assert "--timeout 0.5 s" in error["message"] and "cancelled" in error["message"]
    exec_id = error["message"].split()[1]
    shown = cli("executions", "get", exec_id, "-o", "json")
    assert shown.json["item"]["status"] == "cancelled", shown
    refused = cli("run", "flows.py:greet", "--timeout", "0")
    assert refused.code == 2, refused
    assert "--timeout must be more than 0" in refused.err


def test_get_shows_inputs_and_result_short_and_in_full_with_verbose(cli: Cli) -> None:
    long_name = "x" * 100
    exec_id = cli.started("flows.py:greet", "--args", json.dumps({"name": long_name}))
    short, full = cli.many(("executions", "get", exec_id), ("executions", "get", exec_id, "-v"))
    assert short.code == 0 and full.code == 0, (short, full)
    inputs = next(line for line in short.out.splitlines() if line.startswith("Inputs"))
    assert f'name="{"x" * 50}' in inputs and long_name not in inputs and "or -v)" in inputs
    result = next(line for line in short.out.splitlines() if line.startswith("Result"))
    assert result.startswith('Result     "Hello, XXXX') and "or -v)" in result
    assert f'name="{long_name}"' in full.out and f'"Hello, {long_name.upper()}!"' in full.out
    assert "Frozen spec" not in short.out and "Frozen spec" in full.out


def test_boolean_options_take_true_and_false(cli: Cli) -> None:
    on, off = cli.many(
        ("run", "flows.py:greet", "--args", '{"name": "t"}', "--wait=true", "--cache=false"),
        ("run", "flows.py:greet", "--args", '{"name": "f"}', "--wait=false"),
    )
    assert on.code == 0 and 'Result: "Hello, T!"' in on.out, on
    assert off.code == 0 and "Result:" not in off.out, off


def test_short_ids_and_latest_work_wherever_an_id_does(tmp_path: Path) -> None:
    cli = make_workspace(tmp_path / "ids")
    one, two = cli.seed(("greet", {"name": "Ada"}), ("greet", {"name": "Bo"}))
    listed, latest, by_short = cli.many(
        ("executions", "list"),
        ("executions", "get", "latest", "-o", "json"),
        ("executions", "get", one[-12:], "-o", "json"),
    )
    assert [line.split()[0] for line in listed.out.splitlines()[1:]] == [two[-12:], one[-12:]], listed
    assert latest.json["item"]["exec_id"] == two, latest
    assert by_short.json["item"]["exec_id"] == one, by_short
    artifacts = cli("artifacts", "list", one[-12:], "--kind", "result")
    short = artifacts.out.splitlines()[1].split()[0]
    assert len(short) == 12, artifacts
    loaded, shown = cli.many(("artifacts", "load", short), ("artifacts", "get", short, "-o", "json"))
    assert loaded.out.strip() == "Hello, ADA!", loaded
    assert shown.json["item"]["artifact_id"].endswith(short), shown
    common = next(one[:i] for i in range(len(one), 0, -1) if two.startswith(one[:i]))  # time-ordered
    ambiguous = cli("executions", "get", common)
    assert ambiguous.code == 1, ambiguous
    assert f"\n  {one}\n  {two}\n" in ambiguous.err
    assert f"`kitaru executions get {one}`" in ambiguous.err


def test_errors_name_commands_not_python_calls(cli: Cli) -> None:
    done = cli.started("flows.py:greet", "--args", '{"name": "r"}')
    retried, unknown = cli.many(("executions", "retry", done), ("artifacts", "get", "zzzzzzzz"))
    assert retried.code == 1, retried
    assert f"`kitaru executions replay {done} --from CHECKPOINT`" in retried.err
    assert "replay()" not in retried.err
    assert unknown.code == 1 and "`kitaru artifacts list EXEC_ID`" in unknown.err, unknown


def test_help_of_a_group_shows_its_own_examples(cli: Cli) -> None:
    stack, artifacts = cli.many(("stack", "--help"), ("artifacts", "--help"))
    assert "kitaru stack create scratch" in stack.out and "kitaru run" not in stack.out, stack
    assert "kitaru artifacts load" in artifacts.out and "kitaru run" not in artifacts.out, artifacts
