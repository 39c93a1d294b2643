"""``kitaru executions logs | input | resume | retry | replay | cancel`` as subprocesses on a real store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.cli.conftest import Cli, make_workspace

SEEDS = {
    "input": ("approve", {"draft": "post"}),
    "aborted": ("approve", {"draft": "draft 2"}),
    "logs": ("greet", {"name": "Ada"}),
    "broken": ("broken", {}),
    "followed": ("approve", {"draft": "followed"}),
    "flaky": ("flaky", {"marker": "retry-2"}),
    "essay": ("essay", {"topic": "agents"}),
    "cancel": ("approve", {"draft": "to cancel"}),
    "cancel_too": ("approve", {"draft": "to cancel too"}),
}


@pytest.fixture(scope="module")
def cli(cli_in_both_modes: Cli) -> Cli:
    return cli_in_both_modes


@pytest.fixture(scope="module")
def seeded(cli: Cli) -> dict[str, str]:
    """Executions of this module's tests, all started by one ``python`` process."""
    return dict(zip(SEEDS, cli.seed(*SEEDS.values()), strict=True))


def _execution(cli: Cli, exec_id: str) -> dict[str, Any]:
    result = cli("executions", "get", exec_id, "-o", "json")
    assert result.code == 0, result
    return result.json["item"]  # type: ignore[no-any-return]


def test_input_with_value_validation_and_abort(cli: Cli, seeded: dict[str, str]) -> None:
    waiting, aborted = seeded["input"], seeded["aborted"]
    wrong_type, not_json, both, nothing = cli.many(
        ("executions", "input", waiting, "--value", '"yes"', "-o", "json"),
        ("executions", "input", waiting, "--value", "yes"),
        ("executions", "input", waiting, "--value", "true", "--abort"),
        ("executions", "input", waiting),
    )
    assert wrong_type.code == 1 and wrong_type.error["type"] == "KitaruWaitValidationError"
    assert "'yes' is not of type 'boolean'" in wrong_type.error["message"]
    assert not_json.code == 2 and "--value is not valid JSON" in not_json.err
    assert "Strings need quotes" in not_json.err
    assert both.code == 2 and "only one of --value, --abort and -i" in both.err
    assert nothing.code == 2 and "--value JSON, --abort, or -i" in nothing.err
    unchanged = _execution(cli, waiting)
    assert unchanged["status"] == "waiting" and len(unchanged["pending_waits"]) == 1  # nothing recorded
    assert unchanged["pending_waits"][0]["question"] == "Publish post?"

    answered = cli("executions", "input", waiting[:30], "--value", "true", "-o", "json")
    assert answered.code == 0, answered
    assert answered.json["command"] == "executions.input"
    assert answered.json["item"]["status"] == "completed" and answered.json["item"]["pending_waits"] == []
    again, abort = cli.many(
        ("executions", "input", waiting, "--value", "true"), ("executions", "input", aborted, "--abort")
    )
    assert again.code == 1 and "has no pending wait" in again.err
    assert abort.code == 0, abort
    assert f"Execution {aborted} cancelled: kitaru.errors.KitaruWaitAbortedError" in abort.out


def test_input_without_an_id_picks_the_single_pending_wait(tmp_path: Path) -> None:
    cli = make_workspace(tmp_path)
    first, second = cli.seed(("approve", {"draft": "one"}), ("approve", {"draft": "two"}))
    several = cli("executions", "input", "--value", "true")
    assert several.code == 2
    assert first in several.err and second in several.err and "or use -i" in several.err
    assert cli("executions", "input", second, "--abort", "-o", "json").code == 0
    single = cli("executions", "input", "--value", "false", "-o", "json")
    assert single.code == 0, single
    assert single.json["item"]["exec_id"] == first and single.json["item"]["result"] == "discarded"
    none_left = cli("executions", "input", "--value", "true")
    assert none_left.code == 1 and "No execution waits for input; nothing to answer." in none_left.err


def test_interactive_input_sweeps_every_waiting_execution(tmp_path: Path) -> None:
    cli = make_workspace(tmp_path)
    oldest, middle, newest = cli.seed(
        ("approve", {"draft": "d1"}), ("gate", {}), ("approve", {"draft": "d3"})
    )
    # Newest first: d3 gets plain text (a string, as at the runner's prompt), a JSON value
    # failing the schema, then true; the gate is skipped; d1 is aborted.
    answers = 'c\nyes\n"x"\ntrue\ns\nwhat\na\n'
    swept = cli("executions", "input", "-i", stdin=answers)
    assert swept.code == 0, swept
    assert f"Execution {newest} (flow 'approve') waits at 'wait' since" in swept.err
    assert "Question: Publish d3?" in swept.err and 'Schema:   {"type": "boolean"}' in swept.err
    assert "'yes' is not of type 'boolean'" in swept.err
    assert "'x' is not of type 'boolean'" in swept.err
    assert "Schema:   none (continue or abort)" in swept.err
    assert "Type c, a, s or q." in swept.err
    assert f"Execution {newest} completed" in swept.out
    assert f"Execution {oldest} cancelled" in swept.out
    assert _execution(cli, middle)["status"] == "waiting"

    quit_early = cli("executions", "input", "-i", "-o", "json", stdin="q\n")
    assert quit_early.code == 0 and quit_early.json == {
        "command": "executions.input",
        "items": [],
        "count": 0,
    }
    gate = cli("executions", "input", middle, "-i", "-o", "json", stdin="c\n")
    assert gate.code == 0, gate
    assert gate.json["items"] == [
        {"exec_id": middle, "wait": "wait", "action": "continued", "status": "completed"}
    ]


def test_logs_and_checkpoint_filter(cli: Cli, seeded: dict[str, str]) -> None:
    exec_id = seeded["logs"]
    text, as_json, one_call, unknown = cli.many(
        ("executions", "logs", exec_id),
        ("executions", "logs", exec_id, "-o", "json"),
        ("executions", "logs", exec_id, "--checkpoint", "shout", "-o", "json"),
        ("executions", "logs", exec_id, "--checkpoint", "nope", "-o", "json"),
    )
    assert text.code == 0 and "  shout  shouting at Ada" in text.out
    assert as_json.json["command"] == "executions.logs"
    assert [e["message"] for e in as_json.json["items"]] == ["shouting at Ada"]
    assert one_call.json["items"][0]["invocation_id"] == "shout"
    assert unknown.code == 1 and "'nope' matches no call" in unknown.error["message"]
    assert "'shout'" in unknown.error["message"]


def _json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_follow_streams_until_the_end_with_exit_codes(cli: Cli, seeded: dict[str, str]) -> None:
    runner = cli.popen("run", "flows.py:ticking", "--args", '{"n": 5, "delay": 0.1}')
    assert runner.stdout is not None
    exec_id = runner.stdout.readline().split()[2]
    followed = cli("executions", "logs", exec_id, "--follow", "-o", "json")
    assert runner.wait(timeout=60) == 0
    assert followed.code == 0, followed
    events = _json_lines(followed.out)
    assert {e["command"] for e in events} == {"executions.logs"}
    assert [e["item"]["message"] for e in events if e["event"] == "log"] == [f"step {i}" for i in range(5)]
    assert events[-1]["event"] == "terminal"
    assert events[-1]["item"] == {"exec_id": exec_id, "status": "completed", "failure": None}

    failed, waiting = seeded["broken"], seeded["followed"]
    text, as_json = cli.many(
        ("executions", "logs", failed, "--follow"), ("executions", "logs", failed, "-f", "-o", "json")
    )
    assert text.code == 1 and "execution failed: ValueError: boom" in text.out
    assert as_json.code == 1 and _json_lines(as_json.out)[-1]["item"]["status"] == "failed"
    # A waiting execution: the follower announces the wait and ends when the answer lets it finish.
    follower = cli.popen("executions", "logs", waiting, "--follow", "-o", "json")
    assert follower.stdout is not None
    event = json.loads(follower.stdout.readline())
    assert event["event"] == "waiting" and event["item"]["question"] == "Publish followed?"
    assert cli("executions", "input", waiting, "--value", "false").code == 0
    rest, _ = follower.communicate(timeout=60)
    assert follower.returncode == 0
    assert _json_lines(rest)[-1]["item"]["status"] == "completed"


def test_resume_an_orphaned_execution(cli: Cli) -> None:
    crashed = cli("run", "flows.py:crashy", "--args", '{"marker": "crash-1"}')
    assert crashed.code == -9  # the flow killed its own process after the first checkpoint
    listed_json, listed = cli.many(
        ("executions", "list", "--flow", "crashy", "-o", "json"), ("executions", "list", "--flow", "crashy")
    )
    exec_id = listed_json.json["items"][0]["exec_id"]
    assert listed_json.json["items"][0]["status"] == "running" and listed_json.json["items"][0]["orphaned"]
    assert "running (orphaned: resume it)" in listed.out
    resumed = cli("executions", "resume", exec_id)
    assert resumed.code == 0, resumed
    assert f"Execution {exec_id} completed in" in resumed.out
    after, not_again = cli.many(
        ("executions", "get", exec_id, "-o", "json"), ("executions", "resume", exec_id, "-o", "json")
    )
    assert [c["invocation_id"] for c in after.json["item"]["checkpoints"]] == ["step", "step_2"]
    assert not_again.code == 1 and "cannot be resumed: it completed" in not_again.error["message"]


def test_retry_a_failed_execution(cli: Cli, seeded: dict[str, str]) -> None:
    failed = cli("run", "flows.py:flaky", "--args", '{"marker": "retry-1"}', "--wait", "-o", "json")
    assert failed.code == 1 and failed.json["item"]["status"] == "failed"
    exec_id = failed.json["item"]["exec_id"]
    other = seeded["flaky"]
    retried, as_json = cli.many(
        ("executions", "retry", exec_id), ("executions", "retry", other, "-o", "json")
    )
    assert retried.code == 0, retried
    assert f"Execution {exec_id} completed" in retried.out
    assert as_json.code == 0 and as_json.json["item"]["status"] == "completed"
    assert as_json.json["item"]["result"] == "fixed" and as_json.json["item"]["run_count"] == 2
    again = cli("executions", "retry", exec_id, "-o", "json")
    assert again.code == 1 and "cannot be retried: it completed" in again.error["message"]


def test_replay_from_a_checkpoint(cli: Cli, seeded: dict[str, str]) -> None:
    exec_id = seeded["essay"]
    plain, new_inputs, pinned = cli.many(
        ("executions", "replay", exec_id, "--from", "write"),
        (
            "executions",
            "replay",
            exec_id,
            "--from",
            "outline",
            "--args",
            '{"topic": "durable"}',
            "-o",
            "json",
        ),
        (
            "executions",
            "replay",
            exec_id,
            "--from",
            "write",
            "--overrides",
            '{"checkpoint.outline": ["x"]}',
            "-o",
            "json",
        ),
    )
    assert plain.code == 0, plain
    assert f"Replaying {exec_id} from 'write' as new execution" in plain.err
    assert "Replay " in plain.out and "completed in" in plain.out
    assert new_inputs.code == 0, new_inputs
    assert new_inputs.json["item"]["original_exec_id"] == exec_id
    assert new_inputs.json["item"]["result"] == "durable: intro / durable: body"
    assert pinned.code == 0, pinned
    assert pinned.json["item"]["result"] == "x"
    changed = cli(
        "executions", "replay", exec_id, "--from", "write", "--args", '{"topic": "new"}', "-o", "json"
    )
    assert changed.code == 0, changed
    assert changed.json["item"]["result"] == "new: intro / new: body"  # outline's argument changed: it ran
    shown = cli("executions", "get", changed.json["item"]["exec_id"])
    assert "outline: arguments changed since the call was recorded" in shown.out, shown
    bad_json, unknown, bad_key = cli.many(
        ("executions", "replay", exec_id, "--from", "write", "--overrides", "{oops"),
        ("executions", "replay", exec_id, "--from", "nowhere", "-o", "json"),
        ("executions", "replay", exec_id, "--from", "write", "--overrides", '{"outline": 1}', "-o", "json"),
    )
    assert bad_json.code == 2 and "--overrides is not valid JSON" in bad_json.err
    assert unknown.code == 1 and unknown.error["type"] == "KitaruStateError"
    assert "'outline'" in unknown.error["message"] and "'write'" in unknown.error["message"]
    assert bad_key.code == 1 and bad_key.error["type"] == "KitaruUsageError"


def test_cancel(cli: Cli, seeded: dict[str, str]) -> None:
    first, second = seeded["cancel"], seeded["cancel_too"]
    text, as_json = cli.many(("executions", "cancel", first), ("executions", "cancel", second, "-o", "json"))
    assert text.code == 0 and text.out.strip() == f"Execution {first} cancelled."
    assert as_json.code == 0 and as_json.json["item"]["status"] == "cancelled"
    again = cli("executions", "cancel", first)
    assert again.code == 1 and "already ended (cancelled)" in again.err
