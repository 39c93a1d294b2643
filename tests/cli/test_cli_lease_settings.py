"""``KITARU_HEARTBEAT_SECONDS`` and ``KITARU_LEASE_SECONDS``: a bad value stops the command
before any execution starts, and the error names the variable, its value and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.cli.conftest import Cli, make_workspace

BAD_VALUES = ["abc", "0", "-1", "nan", "inf", ""]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    return make_workspace(tmp_path_factory.mktemp("leases"))


def _executions(cli: Cli) -> list[dict[str, object]]:
    listed = cli("executions", "list", "-o", "json")
    assert listed.code == 0, listed
    return list(listed.json["items"])


@pytest.mark.parametrize("variable", ["KITARU_HEARTBEAT_SECONDS", "KITARU_LEASE_SECONDS"])
@pytest.mark.parametrize("value", [v for v in BAD_VALUES if v])
def test_a_bad_lease_setting_fails_before_the_execution_starts(
    workspace: Cli, variable: str, value: str
) -> None:
    before = _executions(workspace)
    result = workspace(
        "run", "flows.py:greet", "--args", '{"name": "Ada"}', "--wait", "-o", "json", env={variable: value}
    )
    assert result.code == 1, result
    message = result.error["message"]
    assert result.error["type"] == "KitaruUsageError", result
    assert f"environment variable {variable}={value!r}" in message, message
    assert "unset it" in message, message
    # Nothing started: no new execution, so nothing is left running.
    assert _executions(workspace) == before


def test_the_heartbeat_must_be_well_inside_the_lease(workspace: Cli) -> None:
    result = workspace(
        "run",
        "flows.py:greet",
        "--args",
        '{"name": "Ada"}',
        "-o",
        "json",
        env={"KITARU_HEARTBEAT_SECONDS": "5", "KITARU_LEASE_SECONDS": "6"},
    )
    assert result.code == 1, result
    message = result.error["message"]
    assert "KITARU_LEASE_SECONDS=6" in message and "KITARU_HEARTBEAT_SECONDS=5" in message, message
    assert "at least twice" in message, message


def test_good_values_and_empty_ones_run(workspace: Cli, tmp_path: Path) -> None:
    for env in (
        {"KITARU_HEARTBEAT_SECONDS": "0.5", "KITARU_LEASE_SECONDS": "1e1"},
        {"KITARU_HEARTBEAT_SECONDS": "", "KITARU_LEASE_SECONDS": " "},  # empty: the default
    ):
        result = workspace(
            "run", "flows.py:greet", "--args", '{"name": "Ada"}', "--wait", "-o", "json", env=env
        )
        assert result.code == 0, result
        assert result.json["item"]["status"] == "completed", result


def test_a_bad_lease_setting_refuses_an_answer_before_recording_it(workspace: Cli) -> None:
    (waiting,) = workspace.seed(("approve", {"draft": "post"}))
    result = workspace(
        "executions", "input", waiting, "--value", "true", "-o", "json", env={"KITARU_LEASE_SECONDS": "abc"}
    )
    assert result.code == 1, result
    assert "KITARU_LEASE_SECONDS='abc'" in result.error["message"], result
    # Nothing was recorded: the wait is still pending, and a good setting answers it.
    shown = workspace("executions", "get", waiting, "-o", "json")
    assert shown.json["item"]["status"] == "waiting", shown
    assert shown.json["item"]["pending_waits"], shown
    answered = workspace("executions", "input", waiting, "--value", "true", "-o", "json")
    assert answered.code == 0, answered
    assert answered.json["item"]["status"] == "completed", answered
