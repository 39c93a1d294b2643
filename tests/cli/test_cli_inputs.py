"""What a user hands the CLI: execution ids, JSON options (files, stdin, no NaN), and a closed pipe."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
from pathlib import Path

import pytest
from tests.cli.conftest import Cli, kitaru_command, make_workspace


@pytest.fixture(scope="module")
def cli(cli_in_both_modes: Cli) -> Cli:
    """The module's workspace, locally and connected to a server."""
    return cli_in_both_modes


@pytest.fixture(scope="module")
def waiting(cli: Cli) -> list[str]:
    """Executions waiting for input with their runner gone (approve, approve) and a finished essay."""
    return cli.seed(("approve", {"draft": "one"}), ("approve", {"draft": "two"}), ("essay", {"topic": "t"}))


def test_an_empty_exec_id_is_refused_not_matched_against_everything(tmp_path: Path) -> None:
    # One execution only: an empty prefix (an unset $ID) used to match it and act on it.
    cli = make_workspace(tmp_path / "one")
    (only,) = cli.seed(("approve", {"draft": "only"}))
    commands = [
        ("executions", "cancel", ""),
        ("executions", "cancel", "  "),
        ("executions", "get", ""),
        ("executions", "resume", ""),
        ("executions", "logs", ""),
        ("executions", "input", "", "--value", "true"),
        ("executions", "replay", "", "--from", "approve"),
        ("artifacts", "list", ""),
        ("executions", "cancel", "", "-o", "json"),
    ]
    results = cli.many(*commands)
    for result in results:
        assert result.code == 2, result
        assert "empty" in result.err and "kitaru executions list" in result.err, result
    assert results[-1].out == "" and results[-1].error["type"] == "UsageError"
    state = cli("executions", "get", only, "-o", "json").json["item"]
    assert state["status"] == "waiting" and not state["cancel_requested"]


def test_nan_and_infinity_are_not_json(cli: Cli, waiting: list[str]) -> None:
    first, _, essay = waiting
    before = cli("executions", "list", "-o", "json").json["count"]
    results = cli.many(
        ("run", "flows.py:greet", "--args", '{"name": NaN}'),
        ("run", "flows.py:ticking", "--args", "[Infinity]"),
        ("executions", "input", first, "--value", "NaN"),
        ("executions", "input", first, "--value", "-Infinity", "-o", "json"),
        ("executions", "replay", essay, "--from", "write", "--overrides", '{"checkpoint.outline": [NaN]}'),
        ("executions", "replay", essay, "--from", "write", "--args", '{"topic": Infinity}'),
    )
    for result, (option, constant) in zip(
        results,
        [
            ("--args", "NaN"),
            ("--args", "Infinity"),
            ("--value", "NaN"),
            ("--value", "-Infinity"),
            ("--overrides", "NaN"),
            ("--args", "Infinity"),
        ],
        strict=True,
    ):
        assert result.code == 2, result
        assert f"{option} is not valid JSON" in result.err and constant in result.err, result
        assert "null" in result.err, result  # what to give instead
    assert results[3].error["type"] == "UsageError"
    state = cli("executions", "get", first, "-o", "json").json["item"]
    assert state["status"] == "waiting" and len(state["pending_waits"]) == 1  # nothing recorded
    after = cli("executions", "list", "-o", "json").json["count"]
    assert after == before  # no execution started with a NaN argument


def test_json_options_read_a_file_or_stdin(cli: Cli, waiting: list[str]) -> None:
    first, second, essay = waiting
    (cli.workspace / "args.json").write_text('{"name": "Ada"}\n')
    (cli.workspace / "overrides.json").write_text('{"checkpoint.outline": ["from", "file"]}')
    (cli.workspace / "nan.json").write_text('{"name": NaN}')
    from_file, from_stdin, overridden, answered_file, answered_stdin = cli.many(
        ("run", "flows.py:greet", "--args", "@args.json", "--wait", "-o", "json"),
        ("run", "flows.py:greet", "--args", "-", "--wait", "-o", "json"),
        ("executions", "replay", essay, "--from", "write", "--overrides", "@overrides.json", "-o", "json"),
        ("executions", "input", first, "--value", f"@{cli.workspace / 'answer.json'}", "-o", "json"),
        ("executions", "input", second, "--value", "-", "-o", "json"),
    )
    # (the answer file is written after the commands started: it is missing for the first one)
    assert from_file.code == 0, from_file
    assert from_file.json["item"]["result"] == "Hello, ADA!"
    assert from_stdin.code == 2 and "stdin" in from_stdin.err  # empty stdin is no JSON
    assert overridden.code == 0, overridden
    assert overridden.json["item"]["result"] == "from / file"
    assert answered_file.code == 2 and answered_file.error["type"] == "UsageError"
    assert "--value" in answered_file.error["message"] and "answer.json" in answered_file.error["message"]
    assert "No such file" in answered_file.error["message"]
    assert answered_stdin.code == 2 and "stdin" in answered_stdin.err

    (cli.workspace / "answer.json").write_text("true")
    piped = cli("run", "flows.py:greet", "--args", "-", "--wait", "-o", "json", stdin='["Bo"]')
    assert piped.code == 0, piped
    assert piped.json["item"]["result"] == "Hello, BO!"
    by_file = cli("executions", "input", first, "--value", "@answer.json", "-o", "json")
    assert by_file.code == 0, by_file
    assert by_file.json["item"]["status"] == "completed"
    by_stdin = cli("executions", "input", second, "--value", "-", "-o", "json", stdin="false\n")
    assert by_stdin.code == 0, by_stdin
    assert by_stdin.json["item"]["result"] == "discarded"
    nan_file = cli("run", "flows.py:greet", "--args", "@nan.json")
    assert nan_file.code == 2 and "NaN" in nan_file.err and "nan.json" in nan_file.err
    pages = cli.many(("run", "--help"), ("executions", "input", "--help"), ("executions", "replay", "--help"))
    for page in pages:
        assert "@FILE" in page.out and "- reads stdin" in page.out, page


def _first_line_then_close(cli: Cli, *args: str) -> tuple[int, str, str]:
    """Run ``kitaru ARGS`` into a real pipe, read its first line, close the pipe (as ``| head -1``)."""
    read_end, write_end = os.pipe()
    fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, 4096)  # the output below is larger than the pipe
    process = subprocess.Popen(
        [*kitaru_command(), *args],
        cwd=cli.workspace,
        env=cli.env,
        stdin=subprocess.DEVNULL,
        stdout=write_end,
        stderr=subprocess.PIPE,
    )
    os.close(write_end)
    line = b""
    while not line.endswith(b"\n"):
        chunk = os.read(read_end, 1)
        assert chunk, "the command wrote no line"
        line += chunk
    os.close(read_end)
    _, err = process.communicate(timeout=60)
    return process.returncode, line.decode(), err.decode()


def test_piping_into_head_ends_quietly(tmp_path: Path) -> None:
    cli = make_workspace(tmp_path / "many")
    cli.seed(*[("greet", {"name": f"n{i}"}) for i in range(180)])  # rows of short ids: 8 KiB
    for args in (("executions", "list", "--limit", "200"), ("executions", "list", "-o", "json")):
        full = cli(*args)
        assert full.code == 0 and len(full.out) > 8000, full  # twice what the pipe holds
        code, line, err = _first_line_then_close(cli, *args)
        assert line.split()[:2] == full.out.split("\n")[0].split()[:2]  # (column widths may differ)
        assert err == "", err  # no traceback, no "Error: BrokenPipeError"
        assert code == 141  # as a command killed by SIGPIPE reports it (128 + 13)
    assert json.loads(cli("executions", "list", "-o", "json").out)["count"] == 50
