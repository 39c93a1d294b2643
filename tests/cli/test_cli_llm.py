"""Model usage in the CLI: a flow making ``kitaru.llm()`` calls (real OpenAI SDK, local fake
provider) run with ``kitaru run``; ``executions get`` and ``executions list`` show its tokens and cost."""

from __future__ import annotations

from pathlib import Path

import pytest
from genai_prices import Usage, calc_price
from tests._fake_llm import openai_server
from tests.cli.conftest import make_workspace

_FLOW = """
import kitaru


@kitaru.flow
def writer(topic: str) -> str:
    outline = kitaru.llm(f"Outline {topic}", model="fast")
    return kitaru.llm(f"Draft {outline}", model="fast", name="draft")
"""


def test_tokens_and_cost_in_get_and_list(tmp_path: Path) -> None:
    cli = make_workspace(tmp_path / "ws")
    (cli.workspace / "writer.py").write_text(_FLOW)
    with openai_server() as fake:
        registered = cli(
            "model", "register", "fast", "--model", "openai/gpt-4o-mini", "--base-url", fake.url + "/v1"
        )
        assert registered.code == 0, registered
        env = {"OPENAI_API_KEY": "sk-cli"}
        ran = cli("run", "writer.py:writer", "--args", '{"topic": "agents"}', "-o", "json", env=env)
        assert ran.code == 0, ran
        assert fake.count == 2
    exec_id = ran.json["item"]["exec_id"]
    cost = 2 * float(
        calc_price(Usage(input_tokens=11, output_tokens=7), "gpt-4o-mini", provider_id="openai").total_price
    )

    shown = cli("executions", "get", exec_id)
    assert shown.code == 0, shown
    (line,) = [x for x in shown.out.splitlines() if x.startswith("Model calls")]
    assert "2 calls, 36 tokens (22 in, 14 out)" in line
    assert f"${cost:.6f}".rstrip("0") in line
    assert "llm_call" in shown.out and "draft" in shown.out

    listed = cli("executions", "list")
    assert listed.code == 0, listed
    header, row = listed.out.splitlines()[:2]
    assert header.split()[-2:] == ["TOKENS", "COST"]
    assert row.split()[-2:] == ["36", f"${cost:.6f}".rstrip("0")]

    as_json = cli("executions", "list", "-o", "json")
    (item,) = as_json.json["items"]
    assert item["tokens"] == 36 and item["cost_usd"] == pytest.approx(cost)
    assert item["llm_usage"] == {
        "calls": 2,
        "input_tokens": 22,
        "output_tokens": 14,
        "cost_usd": pytest.approx(cost),
        "unpriced_calls": 0,
    }
    got = cli("executions", "get", exec_id, "-o", "json")
    assert got.json["item"]["llm_usage"]["calls"] == 2
