"""``kitaru executions get`` shows a page of a long execution's calls, and says how to see the rest."""

from __future__ import annotations

import pytest
from tests.cli.conftest import Cli


@pytest.fixture(scope="module")
def cli(cli_in_both_modes: Cli) -> Cli:
    """The module's workspace, locally and connected to a server."""
    return cli_in_both_modes


def test_executions_get_pages_the_calls(cli: Cli) -> None:
    (exec_id,) = cli.seed(("ticking", {"n": 7, "delay": 0}))
    whole, first, last, beyond, as_json, all_calls = cli.many(
        ("executions", "get", exec_id),
        ("executions", "get", exec_id, "--calls-limit", "3"),
        ("executions", "get", exec_id, "--calls-limit", "3", "--page", "3"),
        ("executions", "get", exec_id, "--calls-limit", "3", "--page", "9"),
        ("executions", "get", exec_id, "--calls-limit", "3", "--page", "2", "-o", "json"),
        ("executions", "get", exec_id, "--calls-limit", "0", "-o", "json"),
    )
    assert whole.code == 0, whole
    assert "step_7" in whole.out and "Calls " not in whole.out  # seven fit on the default page
    assert first.code == 0, first
    assert "step_3" in first.out and "step_4" not in first.out
    assert "Calls 1-3 of 7. 4 more: --page N shows others, --calls-limit 0 shows all." in first.out
    assert last.code == 0 and "step_7" in last.out and "step_6" not in last.out
    assert "Calls 7-7 of 7." in last.out and "more:" not in last.out
    assert beyond.code == 0 and "No calls on this page; the execution has 7" in beyond.out
    item = as_json.json["item"]
    assert [c["invocation_id"] for c in item["checkpoints"]] == ["step_4", "step_5", "step_6"]
    assert [c["seq"] for c in item["checkpoints"]] == [4, 5, 6]
    assert item["checkpoints"][0]["artifacts"][0]["name"] == "step_4"  # the output comes along
    assert item["checkpoint_count"] == 7
    assert item["checkpoints_page"] == {"offset": 3, "limit": 3, "page": 2}
    assert len(all_calls.json["item"]["checkpoints"]) == 7
    assert all_calls.json["item"]["checkpoints_page"]["limit"] is None


def test_executions_get_rejects_bad_pages(cli: Cli) -> None:
    (exec_id,) = cli.seed(("ticking", {"n": 1, "delay": 0}))
    zero_page, negative = cli.many(
        ("executions", "get", exec_id, "--page", "0"),
        ("executions", "get", exec_id, "--calls-limit", "-1"),
    )
    assert zero_page.code == 2 and "--page must be at least 1, got 0" in zero_page.err
    assert negative.code == 2 and "--calls-limit must be 0 (all) or more, got -1" in negative.err
