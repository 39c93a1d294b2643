"""The executions list in the browser: filters kept in the link, waiting executions first,
live updates without reloading, pages that neither repeat nor skip, and 10,000 executions.

Most executions here are written straight into the server's store (as a runner would record
them), so that a list of thousands takes seconds to seed; the live test runs a real flow.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import httpx
from playwright.sync_api import expect
from tests.dashboard.conftest import SCREENSHOTS, Dashboard, screenshot

import kitaru
from kitaru import KitaruClient, checkpoint, flow
from kitaru._types import ExecutionStatus, new_id, utcnow
from kitaru.records import ExecutionRecord
from kitaru.store.conformance.records import run_call
from kitaru.store.conformance.usage_suite import usage

ES = ExecutionStatus


def began(dashboard: Dashboard) -> dt.datetime:
    """When the test began: one instant for all its executions (each test has its own home)."""
    return STARTED.setdefault(str(dashboard.home), utcnow())


STARTED: dict[str, dt.datetime] = {}


def add(
    dashboard: Dashboard,
    flow_name: str,
    status: ExecutionStatus,
    *,
    ago: float,
    took: float | None = None,
    calls: int = 0,
    tokens: tuple[int, int] | None = None,
    cost: float | None = None,
) -> str:
    """Record an execution created ``ago`` seconds before the test began, as a runner would."""
    created = began(dashboard) - dt.timedelta(seconds=ago)
    started = created + dt.timedelta(milliseconds=40)
    ended = None if took is None else started + dt.timedelta(seconds=took)
    exec_id = new_id()
    record = ExecutionRecord(
        exec_id=exec_id,
        flow_name=flow_name,
        status=status,
        created_at=created,
        updated_at=ended or started,
        started_at=started,
        ended_at=ended,
    )
    dashboard.store.create_execution(record)
    for seq in range(1, calls + 1):
        call, _ = run_call(dashboard.store, exec_id, f"step_{seq}", seq)
        if seq == 1 and tokens is not None:
            dashboard.store.record_llm_usage(
                usage(exec_id, call.call_id, input_tokens=tokens[0], output_tokens=tokens[1], cost_usd=cost)
            )
    return exec_id


def row_ids(page: Any, table: str) -> list[str]:
    rows = page.get_by_role("table", name=table, exact=True).locator("tbody tr")
    return [str(row.get_attribute("data-exec-id")) for row in rows.all()]


def test_waiting_executions_come_first_and_filters_live_in_the_link(page: Any, dashboard: Dashboard) -> None:
    waiting = add(
        dashboard, "review_contract", ES.WAITING, ago=3600, calls=3, tokens=(5120, 730), cost=0.0214
    )
    made = {
        "failed": add(
            dashboard, "triage_ticket", ES.FAILED, ago=3000, took=4.2, calls=2, tokens=(900, 40), cost=0.0011
        ),
        "t1": add(
            dashboard,
            "triage_ticket",
            ES.COMPLETED,
            ago=2400,
            took=2.9,
            calls=3,
            tokens=(1200, 310),
            cost=0.0019,
        ),
        "t2": add(
            dashboard,
            "triage_ticket",
            ES.COMPLETED,
            ago=1800,
            took=3.4,
            calls=3,
            tokens=(1100, 280),
            cost=0.0017,
        ),
        "s1": add(
            dashboard,
            "summarize_thread",
            ES.COMPLETED,
            ago=1200,
            took=12.5,
            calls=5,
            tokens=(8000, 1200),
            cost=0.0412,
        ),
        "cancelled": add(dashboard, "summarize_thread", ES.CANCELLED, ago=900, took=1.1, calls=1),
        "t3": add(dashboard, "triage_ticket", ES.COMPLETED, ago=600, took=2.2, calls=3),
        "running": add(
            dashboard, "summarize_thread", ES.RUNNING, ago=90, calls=2, tokens=(3000, 0), cost=0.0075
        ),
        "pending": add(dashboard, "triage_ticket", ES.PENDING, ago=5),
    }
    page.goto(dashboard.ui)
    table = page.get_by_role("table", name="Executions", exact=True)
    expect(table.locator("tbody tr")).to_have_count(9)
    # The waiting execution is the first row of the page, in its own group above the list
    # (where, being the oldest, it is last).
    group = page.get_by_role("region", name=re.compile("Waiting for you"))
    expect(group).to_contain_text("Waiting for you (1)")
    assert page.locator("tr[data-exec-id]").first.get_attribute("data-exec-id") == waiting
    assert row_ids(page, "Executions")[-1] == waiting
    # The columns: short id (the full one in its title), flow, status, calls, tokens, cost.
    row = table.locator(f"tr[data-exec-id='{waiting}']")
    link = row.get_by_role("link", name=waiting[-12:])
    assert link.get_attribute("title") == waiting
    cells = [c.strip() for c in row.locator("td").all_inner_texts()]
    assert cells[1:3] == ["review_contract", "waiting"]
    assert cells[5:] == ["3", "5,850", "$0.02"]
    running_cells = table.locator(f"tr[data-exec-id='{made['running']}'] td").all_inner_texts()
    assert re.fullmatch(r"[1-9] min \d+ s", running_cells[4].strip()), running_cells  # live, since its start
    expect(page.get_by_role("button", name="all 9")).to_have_attribute("aria-pressed", "true")
    screenshot(page, "executions")

    # A status chip filters; the filter is in the link.
    page.get_by_role("group", name="Status").get_by_role("button", name="failed 1").click()
    expect(page).to_have_url(re.compile(r"#/executions\?status=failed$"))
    expect(table.locator("tbody tr")).to_have_count(1)
    assert row_ids(page, "Executions") == [made["failed"]]
    expect(group).to_be_hidden()  # a status is chosen: no separate group
    # The flow select (with counts under the chosen status) narrows further.
    flow_select = page.get_by_label("Flow")
    expect(flow_select.locator("option")).to_have_text(
        ["All flows (1)", "review_contract (0)", "summarize_thread (0)", "triage_ticket (1)"]
    )
    page.get_by_role("button", name="all 9").click()
    flow_select.select_option("summarize_thread")
    expect(page).to_have_url(re.compile(r"#/executions\?flow=summarize_thread$"))
    expect(table.locator("tbody tr")).to_have_count(3)
    assert set(row_ids(page, "Executions")) == {made["s1"], made["cancelled"], made["running"]}
    expect(page.get_by_role("button", name="all 3")).to_be_visible()
    expect(page.get_by_role("button", name="running 1")).to_be_visible()
    expect(page.get_by_role("button", name="failed 0")).to_be_hidden()

    # Back: the filters before, as the link said.
    page.go_back()
    expect(page).to_have_url(re.compile(r"#/executions$"))
    page.go_back()
    expect(page).to_have_url(re.compile(r"#/executions\?status=failed$"))
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(page.get_by_role("button", name="failed 1")).to_have_attribute("aria-pressed", "true")

    # A link with filters opens on them.
    page.goto(f"{dashboard.ui}#/executions?status=completed&flow=triage_ticket")
    expect(table.locator("tbody tr")).to_have_count(3)
    assert row_ids(page, "Executions") == [made["t3"], made["t2"], made["t1"]]
    expect(flow_select).to_have_value("triage_ticket")
    expect(page.get_by_role("button", name="completed 3")).to_have_attribute("aria-pressed", "true")
    # A status the server does not know: its message, and a way out.
    page.goto(f"{dashboard.ui}#/executions?status=bogus")
    expect(page.get_by_role("alert")).to_contain_text("Unknown execution status 'bogus'")
    page.get_by_role("alert").get_by_role("button", name="Show all executions").click()
    expect(table.locator("tbody tr")).to_have_count(9)


#: Counts the page's requests for the list (made synchronously when its timer fires).
COUNT_LIST_REQUESTS = """
window.listAsked = 0;
const fetchNow = window.fetch;
window.fetch = (url, ...rest) => {
  if (/executions\\/(summaries|counts)/.test(String(url))) window.listAsked += 1;
  return fetchNow(url, ...rest);
};
"""


@checkpoint
def draft(topic: str) -> str:
    return f"a draft about {topic}"


@flow
def approval(topic: str) -> str:
    text = draft(topic)
    approved = kitaru.wait(name="approve", schema=bool, question=f"Publish {text!r}?")
    return "published" if approved else "dropped"


def test_a_new_execution_appears_and_changes_status_without_reloading(
    page: Any, dashboard: Dashboard
) -> None:
    for i in range(3):
        add(dashboard, "older_flow", ES.COMPLETED, ago=100 + i, took=1.0)
    page.clock.install()  # time flows as usual, until the test runs the timers ahead
    page.add_init_script(COUNT_LIST_REQUESTS)
    page.goto(dashboard.ui)
    table = page.get_by_role("table", name="Executions", exact=True)
    expect(table.locator("tbody tr")).to_have_count(3)
    page.evaluate("window.loadedOnce = true")
    flow_select = page.get_by_label("Flow")
    flow_select.focus()

    handle = approval.run("tides")
    row = table.locator(f"tr[data-exec-id='{handle.exec_id}']")
    expect(row).to_contain_text("waiting", timeout=20_000)
    expect(page.get_by_role("region", name=re.compile("Waiting for you"))).to_contain_text(
        handle.exec_id[-12:]
    )
    expect(flow_select.locator("option", has_text="approval (1)")).to_have_count(1)
    assert row_ids(page, "Executions")[0] == handle.exec_id  # the newest on top

    KitaruClient().executions.input(handle.exec_id, value=True)
    assert handle.wait(timeout=30) == "published"
    expect(row).to_contain_text("completed", timeout=20_000)
    expect(row.locator("td").nth(5)).to_have_text("2")  # the checkpoint and the wait
    expect(page.get_by_role("region", name=re.compile("Waiting for you"))).to_be_hidden()
    # The same page all along (no reload), and the focus where the user left it.
    assert page.evaluate("window.loadedOnce") is True
    assert page.evaluate("document.activeElement.id") == "filter-flow"
    # Leaving the page stops its updates: run the page's timers far ahead, nothing is asked.
    page.get_by_role("link", name="Memory").click()
    expect(page).to_have_url(re.compile("#/memory"))
    page.evaluate("window.listAsked = 0")
    page.clock.run_for(30_000)
    assert page.evaluate("window.listAsked") == 0
    page.get_by_role("link", name="Executions").click()  # and back: it asks again
    expect(table.locator(f"tr[data-exec-id='{handle.exec_id}']")).to_contain_text("completed")
    assert page.evaluate("window.listAsked") > 0


def test_pages_of_a_long_list_neither_repeat_nor_skip(page: Any, dashboard: Dashboard) -> None:
    expected = []
    for i in range(130):
        # Pairs created at the same instant: their ids decide their order.
        expected.append(
            add(dashboard, "batch" if i % 4 else "other", ES.COMPLETED, ago=1000 - i // 2, took=0.5)
        )
    created = {exec_id: i // 2 for i, exec_id in enumerate(expected)}
    expected.sort(key=lambda exec_id: (created[exec_id], exec_id), reverse=True)

    page.goto(dashboard.ui)
    table = page.get_by_role("table", name="Executions", exact=True)
    expect(table.locator("tbody tr")).to_have_count(50)
    newer = page.get_by_role("button", name="← Newer")
    older = page.get_by_role("button", name="Older →")
    expect(newer).to_be_disabled()
    expect(page.get_by_role("navigation", name="Pages")).to_contain_text("130 executions match")
    pages = [row_ids(page, "Executions")]
    older.click()
    expect(table.locator(f"tr[data-exec-id='{expected[50]}']")).to_be_visible()
    expect(page).to_have_url(re.compile(r"before="))
    pages.append(row_ids(page, "Executions"))
    older.click()
    expect(table.locator("tbody tr")).to_have_count(30)
    expect(older).to_be_disabled()
    pages.append(row_ids(page, "Executions"))
    assert [len(p) for p in pages] == [50, 50, 30]
    assert [i for p in pages for i in p] == expected  # every one once, in order

    newer.click()
    expect(table.locator(f"tr[data-exec-id='{expected[99]}']")).to_be_visible()
    assert row_ids(page, "Executions") == pages[1]
    newer.click()
    expect(newer).to_be_disabled()
    assert row_ids(page, "Executions") == pages[0]
    page.go_back()  # the page before, from history
    expect(table.locator(f"tr[data-exec-id='{expected[99]}']")).to_be_visible()
    assert row_ids(page, "Executions") == pages[1]

    # With a filter, pages walk the filtered list only.
    page.goto(f"{dashboard.ui}#/executions?flow=batch")
    expect(page.get_by_role("navigation", name="Pages")).to_contain_text("97 executions match")
    expect(table.locator("tbody tr")).to_have_count(50)
    first = row_ids(page, "Executions")
    older.click()
    expect(table.locator("tbody tr")).to_have_count(47)
    second = row_ids(page, "Executions")
    assert len(set(first + second)) == 97 and not set(first) & set(second)


def test_ten_thousand_executions_first_paint_and_rows(browser: Any, dashboard: Dashboard) -> None:
    flows = ["ingest_docs", "triage_ticket", "summarize_thread", "review_contract"]
    statuses = [ES.COMPLETED] * 8 + [ES.FAILED, ES.CANCELLED]
    for i in range(10_000):
        status = ES.WAITING if i % 997 == 0 else statuses[i % len(statuses)]
        add(dashboard, flows[i % len(flows)], status, ago=20_000 - i, took=1.5)
    # The server's own first request pays for lazy set-up (threads, MIME tables): not the page's.
    assert httpx.get(dashboard.ui).status_code == 200
    context = browser.new_context(viewport={"width": 1366, "height": 860})  # nothing cached
    try:
        page = context.new_page()
        page.add_init_script(f"localStorage.setItem('kitaru.apiKey', {dashboard.key!r});")
        page.goto(dashboard.ui)
        table = page.get_by_role("table", name="Executions", exact=True)
        expect(table.locator("tbody tr")).to_have_count(50)
        expect(page.get_by_role("navigation", name="Pages")).to_contain_text("10,000 executions match")
        timings = page.evaluate(
            """() => new Promise((done) => requestAnimationFrame(() => {
                const paint = Object.fromEntries(
                    performance.getEntriesByType("paint").map((e) => [e.name, e.startTime]));
                const rows = performance.getEntriesByName("kitaru:executions-rows")[0];
                const nav = performance.getEntriesByType("navigation")[0];
                done({
                    first_paint_ms: paint["first-paint"] ?? null,
                    first_contentful_paint_ms: paint["first-contentful-paint"] ?? null,
                    rows_rendered_ms: rows ? rows.startTime : null,
                    dom_content_loaded_ms: nav ? nav.domContentLoadedEventEnd : null,
                    now_ms: performance.now(),
                });
            }))"""
        )
        timings["executions"] = 10_000
        timings["rows_shown"] = 50
        print(f"\nexecutions page with 10,000 executions: {json.dumps(timings)}")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        (SCREENSHOTS / "first-paint.json").write_text(json.dumps(timings, indent=2) + "\n")
        assert timings["rows_rendered_ms"] is not None and timings["first_contentful_paint_ms"] is not None
        # A deep page is one more read of the index: the 3rd page, then straight back.
        older = page.get_by_role("button", name="Older →")
        older.click()
        expect(page).to_have_url(re.compile("before="))
        older.click()
        expect(page.get_by_role("navigation", name="Pages")).to_contain_text("10,000 executions match")
        expect(table.locator("tbody tr")).to_have_count(50)
    finally:
        context.close()
