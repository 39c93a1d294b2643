"""The dashboard's memory browser and cost page, in Chromium, over what real flows wrote."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect
from tests._fake_llm import FakeProvider, openai_server
from tests.dashboard.conftest import Dashboard, screenshot

import kitaru
from kitaru import KitaruClient, flow, memory
from kitaru.config.model_aliases import register_model
from kitaru.records import LlmUsageRecord


@flow
def note_taker(topic: str) -> str:
    memory.set("notes/first", {"topic": topic, "tags": ["durable", "agents"], "round": 1})
    memory.set("notes/first", {"topic": topic, "round": 2})
    memory.set("notes/second", "a plain note")
    memory.set("config", {"depth": 3})
    return topic


@flow
def planner() -> None:
    memory.set("plan", ["outline", "draft"])


def test_memory_scopes_keys_versions_history_and_delete(page: Any, dashboard: Dashboard) -> None:
    handle = note_taker.run("memory")
    assert handle.wait(timeout=30) == "memory"
    first = handle.exec_id
    assert note_taker.run("memory").wait(timeout=30) == "memory"  # notes/first: versions 3, 4
    planner.run().wait(timeout=30)
    KitaruClient().memories.set("style", {"tone": "dry"}, scope="team", scope_type="namespace")
    history = dashboard.store.memory_history("flow", "note_taker", "notes/first")
    assert [e.version for e in history] == [4, 3, 2, 1]
    assert history[-1].exec_id == first

    page.goto(dashboard.ui + "#/memory")
    scopes = page.get_by_role("table", name="Memory scopes")
    expect(scopes.locator("tbody tr")).to_have_count(3)
    expect(scopes.locator("tr[data-scope='namespace:team']")).to_contain_text("1")
    scopes.get_by_role("link", name="note_taker").click()

    keys = page.get_by_role("table", name="Memory keys")
    expect(keys.locator("tbody tr")).to_have_count(3)
    page.get_by_label("Filter keys by prefix").fill("notes/")
    expect(keys.locator("tbody tr")).to_have_count(2)
    status = page.get_by_role("main").get_by_role("status").first
    expect(status).to_contain_text("2 live keys starting with “notes/”")
    assert "prefix=notes%2F" in page.url
    expect(keys.locator("tr[data-key='notes/first'] td").nth(1)).to_have_text("4")
    keys.get_by_role("link", name="notes/first").click()

    versions = page.get_by_role("table", name="Versions")
    expect(versions.locator("tbody tr")).to_have_count(4)
    oldest = versions.locator("tr[data-version='1']")
    writer = oldest.get_by_role("link", name=first[-12:])
    expect(writer).to_have_attribute("href", f"#/executions/{first}")
    value = page.locator(".memory-value")
    expect(value).to_have_attribute("data-version", "4")
    expect(value.locator(".json-tree")).to_contain_text("round: 2")
    oldest.get_by_role("link", name="v1").click()
    expect(page.locator(".memory-value")).to_have_attribute("data-version", "1")
    tree = page.locator(".memory-value .json-tree")
    expect(tree).to_contain_text('"durable"')
    expect(tree).to_contain_text('topic: "memory"')

    # The view is in the link: opening it again shows the same scope, filter, key and version.
    link = page.url
    page.goto(dashboard.ui + "#/executions")
    expect(page.get_by_role("table", name="Executions")).to_be_visible()  # left only once shown
    page.goto(link)
    expect(page.locator(".memory-value")).to_have_attribute("data-version", "1")
    expect(page.get_by_label("Filter keys by prefix")).to_have_value("notes/")
    page.get_by_role("link", name="v4").click()
    expect(page.locator(".memory-value")).to_have_attribute("data-version", "4")
    screenshot(page, "memory")

    # Delete, with a confirmation that can be declined.
    page.get_by_role("button", name="Delete key…").click()
    dialog = page.get_by_role("dialog", name="Delete this key?")
    expect(dialog).to_contain_text("notes/first")
    dialog.get_by_role("button", name="Keep it").click()
    expect(dialog).to_have_count(0)
    assert len(dashboard.store.memory_history("flow", "note_taker", "notes/first")) == 4
    page.get_by_role("button", name="Delete key…").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete", exact=True).click()
    expect(page.locator(".memory-result")).to_contain_text("version 5 is a tombstone")
    keys = page.get_by_role("table", name="Memory keys")
    expect(keys.locator("tbody tr")).to_have_count(1)
    expect(keys.locator("tr[data-key='notes/first']")).to_have_count(0)
    expect(versions.locator("tbody tr")).to_have_count(5)
    expect(versions.locator("tr[data-version='5']")).to_contain_text("deleted")
    expect(page.get_by_role("button", name="Delete key…")).to_be_disabled()
    assert [e.key for e in dashboard.store.list_memory("flow", "note_taker")] == ["config", "notes/second"]
    newest = dashboard.store.memory_history("flow", "note_taker", "notes/first")[0]
    assert (newest.version, newest.deleted) == (5, True)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, dashboard: Dashboard) -> Iterator[FakeProvider]:
    for name in ("KITARU_LLM_MOCK_RESPONSE", "KITARU_DEFAULT_MODEL", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    with openai_server() as provider:
        register_model("fast", model="openai/gpt-4o-mini", base_url=provider.url + "/v1")
        register_model("local", model="openai/my-finetune", base_url=provider.url + "/v1")  # no known price
        yield provider


@flow
def writer(topic: str) -> str:
    outline = kitaru.llm(f"Outline {topic}", model="fast")
    return kitaru.llm(f"Draft from {outline}", model="fast")


@flow
def critic(text: str) -> str:
    kitaru.llm(f"Judge {text}", model="fast")
    return kitaru.llm(f"Judge again {text}", model="local")


def _sums(rows: list[LlmUsageRecord]) -> tuple[int, int, int, float | None, int]:
    priced = [r.cost_usd for r in rows if r.cost_usd is not None]
    return (
        len(rows),
        sum(r.input_tokens or 0 for r in rows),
        sum(r.output_tokens or 0 for r in rows),
        sum(priced) if priced else None,
        len(rows) - len(priced),
    )


def _shown(row: Any) -> tuple[int, int, int, float | None, str]:
    cells = row.locator("td.num")
    numbers = [int(cells.nth(i).inner_text().replace(",", "")) for i in range(3)]
    cost = cells.nth(3).get_attribute("data-cost")
    return (*numbers, float(cost) if cost else None, cells.nth(3).inner_text())  # type: ignore[return-value]


def test_cost_per_flow_model_execution_and_over_time(
    page: Any, dashboard: Dashboard, fake: FakeProvider
) -> None:
    handles = [writer.run("a"), writer.run("b"), critic.run("c")]
    for handle in handles:
        handle.wait(timeout=30)
    rows = {h.exec_id: dashboard.store.list_llm_usage(h.exec_id) for h in handles}
    assert [len(found) for found in rows.values()] == [2, 2, 2]
    per_flow = {
        "writer": _sums(rows[handles[0].exec_id] + rows[handles[1].exec_id]),
        "critic": _sums(rows[handles[2].exec_id]),
    }
    everything = [r for found in rows.values() for r in found]
    per_model = {m: _sums([r for r in everything if r.model == m]) for m in {r.model for r in everything}}
    assert set(per_model) == {"openai/gpt-4o-mini", "openai/my-finetune"}
    assert per_model["openai/my-finetune"][3] is None  # unpriced, not 0

    page.goto(dashboard.ui + "#/cost?range=24h")
    flows = page.get_by_role("table", name="Cost per flow")
    expect(flows.locator("tbody tr")).to_have_count(2)
    for name, (calls, tokens_in, tokens_out, cost, unpriced) in per_flow.items():
        shown = _shown(flows.locator(f"tr[data-key='{name}']"))
        assert shown[:3] == (calls, tokens_in, tokens_out)
        assert shown[3] == pytest.approx(cost)
        assert ("unpriced" in shown[4]) == bool(unpriced), shown
    assert "+ 1 unpriced" in _shown(flows.locator("tr[data-key='critic']"))[4]
    models = page.get_by_role("table", name="Cost per model")
    for name, (calls, tokens_in, tokens_out, cost, _unpriced) in per_model.items():
        shown = _shown(models.locator(f"tr[data-key='{name}']"))
        assert shown[:3] == (calls, tokens_in, tokens_out)
        assert shown[3] == pytest.approx(cost) if cost is not None else shown[3] is None
    assert _shown(models.locator("tr[data-key='openai/my-finetune']"))[4] == "unpriced (1 call)"
    executions = page.get_by_role("table", name="Cost per execution")
    expect(executions.locator("tbody tr")).to_have_count(3)
    for handle in handles:
        shown = _shown(executions.locator(f"tr[data-exec-id='{handle.exec_id}']"))
        assert shown[:3] == _sums(rows[handle.exec_id])[:3]
    total_calls, _, _, total_cost, total_unpriced = _sums(everything)
    expect(page.locator("[data-stat='calls'] .stat-value")).to_have_text(str(total_calls))
    expect(page.locator("[data-stat='unpriced'] .stat-value")).to_have_text(str(total_unpriced))

    # The chart and the table of its numbers: one bar per hour of the last day (25 hours begun).
    hours = {int(r.created_at.timestamp()) // 3600 for r in everything}  # usually one
    chart = page.get_by_role("img", name=re.compile(r"^Cost per hour, last 24 hours"))
    expect(chart.locator("rect.bar")).to_have_count(25)
    expect(chart.locator("rect.bar:not(.empty)")).to_have_count(len(hours))
    over_time = page.get_by_role("table", name="Cost over time").locator("tbody tr")
    expect(over_time).to_have_count(len(hours))
    buckets = [_shown(over_time.nth(i)) for i in range(len(hours))]
    assert sum(b[0] for b in buckets) == total_calls
    assert sum(b[3] or 0 for b in buckets) == pytest.approx(total_cost)
    screenshot(page, "cost")

    page.get_by_label("Chart").select_option("tokens")
    expect(page.get_by_role("img", name=re.compile(r"^Tokens per hour"))).to_be_visible()
    assert "metric=tokens" in page.url and "range=24h" in page.url
    page.get_by_label("Time range").select_option("1h")
    expect(page.get_by_role("img", name=re.compile(r"^Tokens per 5 minutes, last hour"))).to_be_visible()

    # The route refuses what no store can answer, and says what to use instead.
    with httpx.Client(base_url=dashboard.url, headers={"Authorization": f"Bearer {dashboard.key}"}) as http:
        answer = http.get("/api/v1/llm-usage/summary", params={"bucket_seconds": 1})
        assert answer.status_code == 422 and "3600 for hours" in answer.json()["error"]["message"]
