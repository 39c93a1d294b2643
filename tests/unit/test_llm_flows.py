"""``kitaru.llm()`` in flows, with the real OpenAI SDK against a local fake provider: its own
durable call in the flow body (recorded, reused on resume and replay, selectable, overridable),
a child event inside a checkpoint, and the usage totals of executions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from genai_prices import Usage, calc_price
from pydantic import BaseModel
from tests._fake_llm import FakeProvider, openai_server
from tests._helpers import retry_and_wait

import kitaru
from kitaru import KitaruClient, checkpoint, flow
from kitaru.config.model_aliases import register_model
from kitaru.errors import KitaruContextError, KitaruUserCodeError

pytestmark = pytest.mark.both_modes

ES = kitaru.ExecutionStatus
state: dict[str, Any] = {}


@pytest.fixture(autouse=True)
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeProvider]:
    for name in ("KITARU_LLM_MOCK_RESPONSE", "KITARU_DEFAULT_MODEL", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("KITARU_LLM_RETRY_DELAY", "0.001")
    state.clear()
    with openai_server() as provider:
        register_model("fast", model="openai/gpt-4o-mini", base_url=provider.url + "/v1")
        yield provider


def _price(tokens: tuple[int, int], calls: int = 1) -> float:
    usage = Usage(input_tokens=tokens[0], output_tokens=tokens[1])
    return calls * float(calc_price(usage, "gpt-4o-mini", provider_id="openai").total_price)


@checkpoint
def flaky(text: str) -> str:
    if not state.get("healed"):
        raise RuntimeError("not yet")
    return text.upper()


@flow
def two_calls(topic: str) -> str:
    outline = kitaru.llm(f"Outline {topic}", model="fast")
    draft = kitaru.llm(f"Draft from {outline}", model="fast")
    return flaky(draft)


@checkpoint
def summarize(text: str) -> str:
    first = kitaru.llm(f"Summarize {text}", model="fast")
    return first + "|" + kitaru.llm("Shorter", model="fast", name="shorter")


@flow
def with_child(text: str) -> str:
    return summarize(text)


def _calls(exec_id: str) -> dict[str, Any]:
    return {c.invocation_id: c for c in KitaruClient().executions.get(exec_id).checkpoints}


def test_flow_body_calls_are_durable_llm_calls(fake: FakeProvider) -> None:
    state["healed"] = True
    fake.reply_text("an outline")
    fake.reply_text("a draft")
    handle = two_calls.run("agents")
    assert handle.wait(timeout=30) == "A DRAFT"
    calls = _calls(handle.exec_id)
    assert list(calls) == ["llm_1", "llm_2", "flaky"]
    first = calls["llm_1"]
    assert (first.kind, first.type, first.status.value) == ("llm", "llm_call", "completed")
    meta = first.metadata["llm_calls"]["llm_1"]
    assert meta["resolved_model"] == "openai/gpt-4o-mini" and meta["alias"] == "fast"
    assert meta["requested_model"] == "fast"
    assert (meta["input_tokens"], meta["output_tokens"]) == fake.usage
    assert meta["cost_usd"] == pytest.approx(_price(fake.usage))
    assert meta["credential_source"] == "environment variable OPENAI_API_KEY"
    assert meta["latency_ms"] >= 0
    kinds = {a.name: (a.kind, a.load()) for a in first.artifacts}
    assert kinds["llm_1_prompt"] == ("prompt", [{"role": "user", "content": "Outline agents"}])
    assert kinds["llm_1_response"] == ("response", "an outline")
    assert kitaru.load(handle.exec_id, "llm_2") == "a draft"


def test_resume_reuses_recorded_calls_without_requests(fake: FakeProvider) -> None:
    handle = two_calls.run("agents")
    with pytest.raises(KitaruUserCodeError):
        handle.wait(timeout=30)
    assert fake.count == 2
    state["healed"] = True
    execution = retry_and_wait(handle.exec_id)
    assert execution.status is ES.COMPLETED
    assert fake.count == 2  # the recorded llm calls were reused, not asked again
    assert execution.llm_usage is not None and execution.llm_usage.calls == 2


def test_replay_from_an_llm_call_reuses_the_earlier_ones(fake: FakeProvider) -> None:
    state["healed"] = True
    fake.reply_text("outline v1")
    fake.reply_text("draft v1")
    source = two_calls.run("agents")
    source.wait(timeout=30)
    fake.reply_text("draft v2")
    replay = two_calls.replay(source.exec_id, from_="llm_2")
    assert replay.wait(timeout=30) == "DRAFT V2"
    assert fake.count == 3
    assert fake.requests[2]["messages"][-1]["content"] == "Draft from outline v1"
    usage = KitaruClient().executions.get(replay.exec_id).llm_usage
    assert usage is not None and usage.calls == 1  # the reused call cost nothing new


def test_an_override_pins_an_llm_call_without_a_request(fake: FakeProvider) -> None:
    state["healed"] = True
    source = two_calls.run("agents")
    source.wait(timeout=30)
    before = fake.count
    replay = two_calls.replay(source.exec_id, from_="llm_2", overrides={"checkpoint.llm_1": "pinned outline"})
    assert replay.wait(timeout=30) == "FAKE REPLY"
    assert fake.count == before + 1  # only llm_2 ran, on the pinned outline
    assert fake.requests[-1]["messages"][-1]["content"] == "Draft from pinned outline"
    pinned = _calls(replay.exec_id)["llm_1"]
    assert pinned.metadata["kitaru"]["override"] is True


def test_a_changed_prompt_runs_again_on_resume(fake: FakeProvider) -> None:
    @flow
    def asks(question: str) -> str:
        state["question"] = state.get("question", question)
        answer = kitaru.llm(state["question"], model="fast")
        return flaky(answer)

    handle = asks.run("first question")
    with pytest.raises(KitaruUserCodeError):
        handle.wait(timeout=30)
    state["question"], state["healed"] = "second question", True
    retry_and_wait(handle.exec_id)
    assert [r["messages"][-1]["content"] for r in fake.requests] == ["first question", "second question"]


def test_inside_a_checkpoint_it_is_a_child_event(fake: FakeProvider) -> None:
    fake.reply_text("short")
    fake.reply_text("shorter")
    handle = with_child.run("a long text")
    assert handle.wait(timeout=30) == "short|shorter"
    calls = _calls(handle.exec_id)
    assert list(calls) == ["summarize"]  # no durable call of its own
    parent = calls["summarize"]
    assert set(parent.metadata["llm_calls"]) == {"llm_1", "shorter"}
    saved = {a.name: a.kind for a in parent.artifacts}
    assert saved["llm_1_prompt"] == "prompt" and saved["shorter_response"] == "response"
    usage = KitaruClient().executions.get(handle.exec_id).llm_usage
    assert usage is not None and usage.calls == 2
    assert usage.cost_usd == pytest.approx(_price(fake.usage, calls=2))
    # The checkpoint stays the replay boundary: a replay from it asks again.
    with_child.replay(handle.exec_id, from_="summarize").wait(timeout=30)
    assert fake.count == 4


class Verdict(BaseModel):
    ok: bool
    reason: str


def test_a_schema_result_is_recorded_and_reused(fake: FakeProvider) -> None:
    @flow
    def judge(text: str) -> str:
        verdict = kitaru.llm(f"Judge {text}", model="fast", schema=Verdict, name="verdict")
        return flaky(f"{verdict.ok}:{verdict.reason}")

    fake.reply_text('{"ok": true, "reason": "fine"}')
    handle = judge.run("x")
    with pytest.raises(KitaruUserCodeError):
        handle.wait(timeout=30)
    state["healed"] = True
    retry_and_wait(handle.exec_id)
    assert fake.count == 1
    assert kitaru.load(handle.exec_id, "verdict") == Verdict(ok=True, reason="fine")


def test_usage_totals_in_the_execution_list(fake: FakeProvider) -> None:
    state["healed"] = True
    register_model("local", model="openai/my-finetune", base_url=fake.url + "/v1")

    @flow
    def mixed() -> str:
        kitaru.llm("priced", model="fast")
        return kitaru.llm("unpriced", model="local")

    handle = mixed.run()
    handle.wait(timeout=30)
    (listed,) = [e for e in KitaruClient().executions.list() if e.exec_id == handle.exec_id]
    usage = listed.llm_usage
    assert usage is not None
    assert (usage.calls, usage.unpriced_calls) == (2, 1)
    assert (usage.input_tokens, usage.output_tokens) == (2 * fake.usage[0], 2 * fake.usage[1])
    assert usage.cost_usd == pytest.approx(_price(fake.usage))  # the priced call only
    assert KitaruClient().executions.get(handle.exec_id).llm_usage == usage


def test_a_provider_error_fails_the_llm_call(fake: FakeProvider) -> None:
    fake.reply_error(400, "bad model option")
    handle = two_calls.run("x")
    with pytest.raises(kitaru.KitaruExecutionError, match="bad model option"):
        handle.wait(timeout=30)
    failed = _calls(handle.exec_id)["llm_1"]
    assert failed.status.value == "failed" and fake.count == 1


def test_outside_a_flow_it_is_refused() -> None:
    with pytest.raises(KitaruContextError, match="complete_text"):
        kitaru.llm("hi", model="fast")
