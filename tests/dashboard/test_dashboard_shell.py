"""The dashboard's shell: served by the server, asks for the API key, lists, opens an execution."""

from __future__ import annotations

import re
from typing import Any

import httpx
from tests.dashboard.conftest import Dashboard, screenshot

from kitaru import checkpoint, flow


@checkpoint
def double(x: int) -> int:
    return 2 * x


@flow
def doubling(x: int) -> int:
    return double(double(x))


def test_the_assets_load_without_a_key_and_the_api_still_needs_one(dashboard: Dashboard) -> None:
    with httpx.Client(base_url=dashboard.url) as http:
        assert http.get("/").status_code == 307
        page = http.get("/ui/")
        assert page.status_code == 200 and '<script type="module" src="app.js">' in page.text
        assert http.get("/ui/app.js").headers["content-type"].startswith("text/javascript")
        assert http.get("/api/v1/executions").status_code == 401
        # A path under the dashboard never reaches the API, however it is spelled.
        for sneaky in ("/ui/../api/v1/executions", "/ui/%2e%2e/api/v1/executions"):
            answer = http.get(sneaky)
            assert answer.status_code in (401, 404), (sneaky, answer.status_code)
            assert "exec_id" not in answer.text


def test_sign_in_refuses_a_bad_key_then_lists_and_opens_an_execution(
    anonymous_page: Any, dashboard: Dashboard
) -> None:
    exec_id = doubling.run(x=3).exec_id
    assert doubling.run(x=4).wait() == 16  # a second execution in the list
    page = anonymous_page
    page.goto(dashboard.ui)
    page.get_by_label("API key").fill("not-a-key")
    page.get_by_role("button", name="Open the dashboard").click()
    alert = page.get_by_role("alert")
    assert "refused this key" in alert.inner_text()
    screenshot(page, "sign-in")

    page.get_by_label("API key").fill(dashboard.key)
    page.get_by_role("button", name="Open the dashboard").click()
    table = page.get_by_role("table", name="Executions")
    row = table.locator(f"tr[data-exec-id='{exec_id}']")
    row.wait_for()
    assert "doubling" in row.inner_text()
    row.get_by_role("link").click()
    page.wait_for_url(re.compile(re.escape(exec_id)))
    timeline = page.get_by_role("list", name="Durable calls")
    timeline.locator("li").nth(1).wait_for()
    assert timeline.locator("li").count() == 2
    assert exec_id in page.content()
