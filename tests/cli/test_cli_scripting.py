"""``kitaru`` for scripts and for habits of the original: -V, secrets --KEY=value, JSON
errors of every kind, the counted fields of ``executions list -o json``, orphaned listings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.cli.conftest import Cli, make_workspace


@pytest.fixture(scope="module")
def cli(cli_in_both_modes: Cli) -> Cli:
    """The module's workspace, locally and connected to a server."""
    return cli_in_both_modes


@pytest.fixture
def ws(tmp_path: Path) -> Cli:
    return make_workspace(tmp_path / "ws")


def test_version_short_and_long(cli: Cli) -> None:
    short, long, python_m = cli.many(("-V",), ("--version",), ("--version", "--help"))
    assert short.code == 0 and long.code == 0, (short, long)
    assert short.out == long.out and short.out.strip() == "0.1.0"
    assert python_m.code == 0


def test_secrets_set_takes_key_value_options_and_pairs(ws: Cli) -> None:
    stored = ws(
        "secrets", "set", "db", "--username=admin", "--password=s3=cret", "HOST=db.local", "-o", "json"
    )
    assert stored.code == 0, stored
    assert stored.json["item"]["keys"] == ["HOST", "password", "username"]
    shown = ws("secrets", "show", "db", "--show-values", "-o", "json")
    assert shown.json["item"]["values"] == {"username": "admin", "password": "s3=cret", "HOST": "db.local"}
    text = ws("secrets", "set", "api", "--OPENAI_API_KEY=sk-1")
    assert text.code == 0 and "OPENAI_API_KEY" in text.out, text
    # The command's own options stay options: a key named like one is given as KEY=VALUE.
    own = ws("secrets", "set", "odd", "output=x", "--output=json")
    assert own.code == 0 and own.json["item"]["keys"] == ["output"], own


def test_every_error_is_the_json_envelope_under_o_json(cli: Cli) -> None:
    cases = [
        (("executions", "list", "--bogus", "-o", "json"), 2, "executions.list", "Unknown option"),
        (("executions", "list", "--limit", "x", "-o", "json"), 2, "executions.list", "--limit"),
        (("executions", "list", "--limit", "0", "-o", "json"), 2, "executions.list", "--limit"),
        (("executions", "get", "-o", "json"), 2, "executions.get", "EXEC_ID"),
        (("executions", "list", "a", "b", "-o", "json"), 2, "executions.list", "'a'"),
        (("executions", "lisst", "-o", "json"), 2, "executions", "lisst"),
        (("-o", "json", "executions", "list", "--status", "zz"), 2, "executions.list", "zz"),
        (("--output=json", "executions", "get", "ffff"), 1, "executions.get", "ffff"),
        (("executions", "get", "ffff", "-o", "json"), 1, "executions.get", "ffff"),
        (("secrets", "show", "missing", "-o", "json"), 1, "secrets.show", "missing"),
    ]
    results = cli.many(*(args for args, *_ in cases))
    for (_, code, command, needle), result in zip(cases, results, strict=True):
        assert result.code == code and result.out == "", result
        envelope = json.loads(result.err)
        assert set(envelope) == {"command", "error"} and envelope["command"] == command, result
        assert set(envelope["error"]) == {"message", "type"}, result
        assert needle in envelope["error"]["message"], result
        assert (envelope["error"]["type"] == "UsageError") == (code == 2), result


def test_list_json_items_carry_counts_waits_and_reasons(ws: Cli) -> None:
    greet, broken, gate = ws.seed(("greet", {"name": "Ada"}), ("broken", {}), ("gate", {}))
    listed = ws("executions", "list", "-o", "json")
    assert listed.code == 0, listed
    items = {item["exec_id"]: item for item in listed.json["items"]}
    keys = ("pending_wait", "flow_id", "stack_name", "status_reason", "checkpoint_count", "artifact_count")
    for item in items.values():
        assert all(key in item for key in keys), item
        assert item["stack_name"] == "default"
        assert item["flow_id"] == f"flows:{item['flow_name']}"
    # greet: shout and exclaim; its input, their outputs and its result.
    assert (items[greet]["checkpoint_count"], items[greet]["artifact_count"]) == (2, 4)
    assert items[greet]["pending_wait"] is None and items[greet]["status_reason"] is None
    assert items[broken]["checkpoint_count"] == 1
    assert "ValueError: boom" in items[broken]["status_reason"]
    assert items[gate]["pending_wait"]["question"] == "Go on?"
    assert items[gate]["status_reason"] == "waiting for input at 'wait'"
    assert items[gate]["checkpoint_count"] == 1 and items[gate]["artifact_count"] == 0


def test_list_status_orphaned(ws: Cli) -> None:
    crashed = ws("run", "flows.py:crashy", "--args", '{"marker": "crash"}')
    assert crashed.code != 0
    done = ws.seed(("greet", {"name": "Ada"}))[0]
    orphaned, orphaned_text, completed = ws.many(
        ("executions", "list", "--status", "orphaned", "-o", "json"),
        ("executions", "list", "--status", "orphaned"),
        ("executions", "list", "--status", "completed", "-o", "json"),
    )
    assert orphaned.code == 0, orphaned
    [item] = orphaned.json["items"]
    assert item["flow_name"] == "crashy" and item["status"] == "running" and item["orphaned"]
    assert item["status_reason"] == f"its runner is gone: kitaru executions resume {item['exec_id']}"
    assert item["exec_id"][-12:] in orphaned_text.out and "orphaned: resume it" in orphaned_text.out
    assert [i["exec_id"] for i in completed.json["items"]] == [done]


def test_logs_source_grouped_and_verbose(ws: Cli) -> None:
    exec_id = ws.seed(("chatty", {"n": 2}))[0]
    step, runner, grouped, grouped_json, verbose, very = ws.many(
        ("executions", "logs", exec_id, "--source", "step", "-o", "json"),
        ("executions", "logs", exec_id, "--source", "runner", "--limit", "1", "-o", "json"),
        ("executions", "logs", exec_id, "--grouped"),
        ("executions", "logs", exec_id, "--grouped", "-o", "json"),
        ("executions", "logs", exec_id, "-v"),
        ("executions", "logs", exec_id, "-vv", "--source", "step"),
    )
    assert [e["message"] for e in step.json["items"]] == ["step 0", "step 1"], step
    assert all(e["call_id"] for e in step.json["items"])
    assert [e["message"] for e in runner.json["items"]] == ["planning"], runner
    assert grouped.code == 0, grouped
    lines = grouped.out.splitlines()
    assert lines[0] == "flow (outside checkpoints) (2 lines)"
    assert lines[1].endswith("  planning") and lines[2].endswith("  all steps done")
    assert "step (1 line)" in lines and "step_2 (1 line)" in lines
    groups = grouped_json.json["items"]
    assert [(g["checkpoint"], g["count"]) for g in groups] == [(None, 2), ("step", 1), ("step_2", 1)]
    assert [e["message"] for e in groups[1]["entries"]] == ["step 0"]
    # -v: date with milliseconds, level and stream; -vv: also the call id.
    first = verbose.out.splitlines()[0]
    assert "INFO" in first and "stdout" in first and first.endswith("planning"), verbose
    assert first[:4].isdigit() and first[4] == "-" and "." in first.split()[1]
    assert "call=" not in verbose.out
    assert all("call=" in line and "call=-" not in line for line in very.out.splitlines()), very


def test_logs_follow_options(ws: Cli) -> None:
    runner = ws.popen("run", "flows.py:ticking", "--args", '{"n": 3, "delay": 0.1}')
    assert runner.stdout is not None
    exec_id = runner.stdout.readline().split()[2]
    followed = ws(
        "executions", "logs", exec_id, "-f", "--interval", "0.05", "--source", "runner", "-o", "json"
    )
    assert runner.wait(timeout=60) == 0
    assert followed.code == 0, followed
    events = [json.loads(line) for line in followed.out.splitlines()]
    assert [e["event"] for e in events] == ["terminal"]  # ticking prints only inside checkpoints
    assert events[0] == {
        "command": "executions.logs",
        "event": "terminal",
        "item": {"exec_id": exec_id, "status": "completed", "failure": None},
    }
    bad_interval, grouped_follow, bad_source = ws.many(
        ("executions", "logs", exec_id, "-f", "--interval", "0", "-o", "json"),
        ("executions", "logs", exec_id, "-f", "--grouped", "-o", "json"),
        ("executions", "logs", exec_id, "--source", "driver", "-o", "json"),
    )
    assert bad_interval.code == 2 and "--interval" in bad_interval.error["message"]
    assert grouped_follow.code == 2 and "--grouped" in grouped_follow.error["message"]
    assert bad_source.code == 2 and "driver" in bad_source.error["message"]
