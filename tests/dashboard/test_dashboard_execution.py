"""The execution page: its header, the timeline of durable calls, each call's details with
rendered values (JSON, text, markdown, an image, tables, a serializer's visualization, a pickle
described), the traceback of a failed attempt, and the log following a running execution."""

from __future__ import annotations

import re
import struct
import threading
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect
from tests._fake_llm import FakeProvider, openai_server
from tests._helpers import wait_until
from tests.dashboard.conftest import Dashboard, screenshot

import kitaru
from kitaru import KitaruClient, checkpoint, flow
from kitaru.config.model_aliases import register_model
from kitaru.serde import register_serializer, unregister_serializer


def _png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A PNG image of one colour (made here: no image library needed)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


PNG = _png(24, 16, (200, 40, 40))
BIG_TEXT = "0123456789abcdef" * 20_000  # 320,000 bytes: more than the page fetches to show a value


class Gauge:
    """A value only its registered serializer can write; its visualize() draws it as HTML."""

    def __init__(self, level: float) -> None:
        self.level = level


class Opaque:
    """A value with no serializer of its own: it is pickled."""

    def __init__(self, n: int) -> None:
        self.n = n


def _draw(gauge: Gauge) -> str:
    # The script must never run: the frame is sandboxed.
    return (
        f"<div id='gauge'><b>Gauge</b> at {gauge.level}%</div>"
        "<script>parent.document.title = 'script ran'; document.body.append('script ran')</script>"
    )


state: dict[str, Any] = {}


@checkpoint(cache=True)
def lookup(topic: str) -> str:
    return f"facts about {topic}"


@checkpoint(retries=1, retry_delay=0.01)
def flaky(n: int) -> int:
    if not state.get("failed"):
        state["failed"] = True
        raise RuntimeError("the first attempt fails")
    return 2 * n


@checkpoint
def report(n: int, facts: str) -> dict[str, Any]:
    print(f"writing the report of {n}")
    kitaru.log(quality=0.93, reviewer={"name": "ada"})
    kitaru.save("summary", {"n": n, "facts": facts, "nested": {"deep": [1, 2, 3]}})
    kitaru.save("notes", "plain notes\nsecond line")
    kitaru.save("findings.md", "# Findings\n\n- a **bold** point\n- <script>alert(1)</script> stays text\n")
    kitaru.save("chart", PNG, type="blob")
    kitaru.save("cities", [{"city": "Lyon", "population": 522250}, {"city": "Graz", "population": 291134}])
    kitaru.save("columns", {"x": [1, 2, 3], "y": [10, 20, 30]})
    kitaru.save("gauge", Gauge(72.5))
    kitaru.save("opaque", Opaque(3))
    kitaru.save("big", BIG_TEXT)
    summary = kitaru.llm("Summarize the findings", model="fast", name="summarize")
    return {"n": n, "summary": summary}


@flow
def warm_cache() -> str:
    return lookup("kitaru")


@flow
def research(n: int) -> dict[str, Any]:
    facts = lookup("kitaru")
    doubled = flaky(n)
    kitaru.llm(f"Introduce {doubled}", model="fast", name="intro")
    return report(doubled, facts)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeProvider]:
    for name in ("KITARU_LLM_MOCK_RESPONSE", "KITARU_DEFAULT_MODEL", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    with openai_server() as provider:
        register_model("fast", model="openai/gpt-4o-mini", base_url=provider.url + "/v1")
        yield provider


@pytest.fixture
def gauge_serializer() -> Iterator[None]:
    register_serializer(
        Gauge, dumps=lambda g: str(g.level).encode(), loads=lambda d: Gauge(float(d)), visualize=_draw
    )
    try:
        yield
    finally:
        unregister_serializer(Gauge)


@pytest.fixture
def page(anonymous_page: Any, dashboard: Dashboard) -> Any:
    """A page with the API key kept, put there once: a script run in every frame would fail in
    the sandboxed frame of a visualization (it may not touch local storage), as it should."""
    anonymous_page.goto(dashboard.ui)
    anonymous_page.get_by_label("API key").wait_for()  # the sign-in page is up: nothing else comes
    anonymous_page.evaluate("key => localStorage.setItem('kitaru.apiKey', key)", dashboard.key)
    return anonymous_page


def _call(page: Any, invocation_id: str) -> Any:
    return page.get_by_role("list", name="Durable calls").locator(f"li[data-invocation-id='{invocation_id}']")


def _badge(item: Any) -> Any:
    return item.locator(":scope > details > summary .badge")


def _open(item: Any) -> Any:
    """Open a call with the keyboard (its summary focused, Enter) and return its details."""
    summary = item.locator(":scope > details > summary")
    summary.focus()
    summary.press("Enter")
    body = item.locator(":scope > details > .call-body")
    expect(body.locator("[aria-busy]")).to_have_count(0)
    return body


def test_timeline_and_every_kind_of_value(
    page: Any, dashboard: Dashboard, fake: FakeProvider, gauge_serializer: None
) -> None:
    state.clear()
    fake.reply_text("an introduction")
    fake.reply_text("a **short** summary")
    warm_cache.run().wait(timeout=30)
    handle = research.run(5)
    assert handle.wait(timeout=30)["summary"] == "a **short** summary"
    exec_id = handle.exec_id

    page.goto(f"{dashboard.ui}#/executions/{exec_id}")
    header = page.locator("header.exec-header")
    expect(header).to_contain_text(exec_id)
    expect(header).to_contain_text("research")
    expect(header.locator(".badge")).to_have_text(["completed", "completed"])
    inputs = page.get_by_role("region", name="Inputs and result")
    expect(inputs.locator("[data-artifact-name='n'] .value")).to_have_text("5")
    expect(inputs.locator("[data-artifact-name='result'] .json-tree")).to_contain_text("a **short** summary")
    expect(inputs.locator("details.spec > summary")).to_have_text("Frozen execution spec")
    assert inputs.locator("details.spec").get_attribute("open") is None

    # The timeline: the calls in order, with kinds, attempts, markers; the model call made
    # inside a checkpoint nested under it.
    timeline = page.get_by_role("list", name="Durable calls")
    top = timeline.locator(":scope > li")
    expect(top).to_have_count(4)
    assert [top.nth(i).get_attribute("data-invocation-id") for i in range(4)] == [
        "lookup",
        "flaky",
        "intro",
        "report",
    ]
    assert [top.nth(i).get_attribute("data-kind") for i in range(4)] == [
        "checkpoint",
        "checkpoint",
        "llm",
        "checkpoint",
    ]
    expect(_call(page, "lookup").locator("[data-marker='cached']")).to_have_text("cached")
    expect(_badge(_call(page, "lookup"))).to_have_text("cached")
    expect(_call(page, "flaky").locator(".attempts")).to_have_text("2 attempts")
    expect(_call(page, "report").locator(".attempts")).to_have_text("1 attempt")
    assert _call(page, "report").locator("[data-marker]").count() == 0
    child = _call(page, "report").locator("ol.children > li[data-kind='llm']")
    expect(child).to_contain_text("summarize")
    expect(child).to_contain_text("gpt-4o-mini")

    # The failed attempt's traceback, opened with the keyboard.
    flaky_body = _open(_call(page, "flaky"))
    attempts = flaky_body.get_by_role("table", name="Attempts of flaky")
    expect(attempts.locator("tr[data-attempt='1']")).to_contain_text("RuntimeError: the first attempt fails")
    expect(attempts.locator("tr[data-attempt='2'] .badge")).to_have_text("completed")
    attempts.locator("tr[data-attempt='1'] details > summary").click()
    expect(attempts.locator("tr[data-attempt='1'] pre")).to_contain_text("Traceback (most recent call last)")
    expect(attempts.locator("tr[data-attempt='1'] pre")).to_contain_text(
        'raise RuntimeError("the first attempt fails")'
    )
    expect(flaky_body.locator("[data-artifact-name='flaky'] .value")).to_have_text("10")
    expect(flaky_body).not_to_contain_text("null")  # parts a call does not have are left out
    screenshot(page, "execution")

    # The report: metadata, logs and every saved value, rendered.
    body = _open(_call(page, "report"))
    metadata = body.get_by_role("region", name="Metadata")
    expect(metadata).to_contain_text("quality: 0.93")
    expect(metadata).to_contain_text('name: "ada"')
    expect(body.get_by_role("log", name="Logs of report")).to_contain_text("writing the report of 10")
    art = lambda name: body.locator(f"[data-artifact-name='{name}']")  # noqa: E731
    expect(art("summary").locator(".json-tree")).to_contain_text('facts: "facts about kitaru"')
    expect(art("summary").locator(".json-tree")).to_contain_text("deep:")
    expect(art("notes").locator("pre.text-value")).to_have_text("plain notes\nsecond line")
    markdown = art("findings.md").locator(".markdown")
    expect(markdown.get_by_role("heading", name="Findings")).to_be_visible()
    expect(markdown.locator("li strong")).to_have_text("bold")
    expect(markdown).to_contain_text("<script>alert(1)</script> stays text")  # shown as text, never run
    assert markdown.locator("script").count() == 0
    image = art("chart").get_by_role("img", name="Image chart")
    expect(image).to_be_visible()
    assert image.evaluate("img => img.complete && img.naturalWidth") == 24
    cities = art("cities").get_by_role("table", name="Table cities")
    expect(cities.locator("th")).to_have_text(["city", "population"])
    expect(cities.locator("tbody tr").nth(1)).to_contain_text("Graz")
    expect(art("columns").get_by_role("table", name="Table columns").locator("tbody tr")).to_have_count(3)
    art("cities").get_by_role("button", name="Show cities as json").click()
    expect(art("cities").locator(".json-tree")).to_contain_text('city: "Lyon"')
    frame = art("gauge").locator("iframe")
    assert frame.get_attribute("sandbox") == ""
    expect(page.frame_locator("iframe[title='Visualization of gauge']").locator("#gauge")).to_have_text(
        "Gauge at 72.5%"
    )
    expect(page.frame_locator("iframe[title='Visualization of gauge']").locator("body")).not_to_contain_text(
        "script ran"
    )
    opaque = art("opaque")
    expect(opaque).to_contain_text("pickled Python object")
    expect(opaque).to_contain_text(f"{__name__}:Opaque")
    expect(opaque).to_contain_text(f'kitaru.load("{exec_id}", "opaque")')
    big = art("big")
    expect(big.locator(".cut")).to_contain_text("Cut: showing the first 256.0 KiB of 312.5 KiB")
    expect(big.get_by_role("button", name="Download the whole value")).to_be_visible()
    with page.expect_download() as download:
        big.get_by_role("button", name="Download the whole value").click()
    assert download.value.suggested_filename == "big.json"
    child.locator(":scope > details > summary").click()
    expect(child.locator("[data-artifact-name='summarize_response']")).to_contain_text("short")
    expect(child.locator("[data-artifact-name='summarize_prompt']")).to_contain_text("Summarize the findings")
    assert page.title() != "script ran"
    art("gauge").scroll_into_view_if_needed()
    screenshot(page, "execution-values")


@checkpoint
def prepare() -> str:
    print("preparing")
    return "ready"


@checkpoint
def hold(ready: str) -> str:
    print("holding until released")
    kitaru.log(stage="holding")
    released = state["release"]
    while not released.wait(0.05):
        pass
    print("released, finishing")
    return ready + " and done"


@flow
def held() -> str:
    return hold(prepare())


def test_a_running_execution_shows_new_calls_and_log_lines_live(
    page: Any, dashboard: Dashboard, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KITARU_HEARTBEAT_SECONDS", "0.2")  # the runner stores its log lines this often
    state["release"] = threading.Event()
    handle = held.run()
    try:
        page.goto(f"{dashboard.ui}#/executions/{handle.exec_id}")
        hold_item = _call(page, "hold")
        expect(_badge(hold_item)).to_have_text("running")
        expect(page.locator(".live")).to_be_visible()
        log = page.get_by_role("log", name="Execution log")
        expect(log).to_contain_text("holding until released")
        body = _open(hold_item)
        pane = body.get_by_role("log", name="Logs of hold")
        expect(pane).to_contain_text("holding until released")
        # What the user unfolds inside the call stays unfolded when the call's details refresh.
        attempt = body.get_by_role("table", name="Attempts of hold").locator("tr[data-attempt='1']")
        attempt.get_by_text("Metadata of this attempt").click()
        expect(attempt.locator("details[open] .json-tree")).to_contain_text('stage: "holding"')
        state["release"].set()
        expect(log).to_contain_text("released, finishing")
        expect(pane).to_contain_text("released, finishing")
        expect(_badge(hold_item)).to_have_text("completed")  # the call stays open
        expect(page.locator("header.exec-header .badge").first).to_have_text("completed")
        expect(page.locator(".live")).to_have_count(0)
        assert hold_item.locator(":scope > details").get_attribute("open") is not None
        expect(attempt.locator(".badge")).to_have_text("completed")
        expect(attempt.locator("details[open] .json-tree")).to_contain_text('stage: "holding"')
        expect(body.locator("[data-artifact-name='hold'] .value")).to_contain_text("ready and done")
        assert log.locator(".log-line").count() == len(KitaruClient().executions.logs(handle.exec_id)), (
            "each line once"
        )
        assert re.search("preparing", log.inner_text())
    finally:
        state["release"].set()
        handle.wait(timeout=30)


@checkpoint
def fragile(text: str) -> str:
    if state.get("broken"):
        raise ValueError(f"cannot shout {text!r} yet")
    return text.upper()


@flow
def shout(text: str) -> str:
    return fragile(text)


def test_a_failed_execution_shows_its_failure_and_refreshes_when_told_of_a_change(
    page: Any, dashboard: Dashboard
) -> None:
    state["broken"] = True
    handle = shout.run("hello")
    with pytest.raises(kitaru.KitaruExecutionError):
        handle.wait(timeout=30)
    page.goto(f"{dashboard.ui}#/executions/{handle.exec_id}")
    failure = page.get_by_role("region", name="Failure of the execution")
    expect(failure).to_contain_text("ValueError: cannot shout 'hello' yet")
    expect(failure.locator("details[open] pre")).to_contain_text("Traceback (most recent call last)")
    expect(page.locator("header.exec-header h1 .badge")).to_have_text("failed")
    expect(page.locator(".live")).to_have_count(0)  # an ended execution is not polled

    # Changed elsewhere (as the page's actions do), then announced: the page reads it again.
    state["broken"] = False
    client = KitaruClient()
    client.executions.retry(handle.exec_id)
    wait_until(lambda: client.executions.get(handle.exec_id).status == "completed", timeout=30)
    expect(page.locator("header.exec-header h1 .badge")).to_have_text("failed")
    page.evaluate("window.dispatchEvent(new CustomEvent('kitaru:changed'))")
    expect(page.locator("header.exec-header h1 .badge")).to_have_text("completed")
    expect(page.get_by_role("region", name="Failure of the execution")).to_have_count(0)
    result = page.get_by_role("region", name="Inputs and result").locator("[data-artifact-name='result']")
    expect(result.locator("pre.text-value")).to_have_text("HELLO")
    expect(_call(page, "fragile").locator(":scope > details > summary .attempts")).to_have_text("2 attempts")
