"""The dashboard in a real headless browser: Debian's Chromium driven by Playwright.

Each test gets its own server (uvicorn on 127.0.0.1, API keys on, a fresh SQLite store) and
this process connected to it, so flows run by the test go through the REST API the page reads.
Chromium resolves no name but loopback (``--host-resolver-rules``) and has its background
networking off; a request of the page to anything but the test's server fails the test.
Screenshots go to ``build/screenshots`` (``KITARU_SCREENSHOTS`` names another directory).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from tests._server import running_server

from kitaru.artifacts.local import LocalArtifactStore
from kitaru.config import reset_config
from kitaru.server import issue_api_key, store_api_keys
from kitaru.store.sql import SqlStore
from kitaru.testing import isolated_home, reset_default_stores

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("KITARU_SCREENSHOTS") or ROOT / "build" / "screenshots")

#: Chromium on a machine whose only network is loopback: no background traffic, no name lookups.
CHROMIUM_ARGS = [
    "--no-sandbox",  # tests may run as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-domain-reliability",
    "--disable-breakpad",
    "--metrics-recording-only",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
]


def chromium_path() -> str:
    found = os.environ.get("KITARU_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.fail(
            "Chromium is not installed: the dashboard tests drive Debian's chromium. "
            "Install it with: scripts/ensure-system-packages.sh "
            "(or set KITARU_CHROMIUM to a Chromium binary)",
            pytrace=False,
        )
    return found


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium per test module (no browser download: Debian's). Not longer-lived:
    while Playwright's sync API runs, its event loop counts as running in the main thread, which
    later tests there would see (``tests/`` has no packages, so a package fixture lives on)."""
    from playwright.sync_api import sync_playwright

    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class Dashboard:
    """A server of the test's own, this process connected to it."""

    url: str
    key: str
    store: SqlStore
    artifacts: LocalArtifactStore
    home: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def ui(self) -> str:
        return f"{self.url}/ui/"


@pytest.fixture
def dashboard(tmp_path: Path) -> Iterator[Dashboard]:
    """Serve a fresh store with API keys on; connect this process (and its children) to it."""
    store = SqlStore.open_sqlite(tmp_path / "server" / "kitaru.db")
    artifacts = LocalArtifactStore(tmp_path / "server" / "blobs")
    token, _ = issue_api_key(store, "dashboard-tests")
    saved = {name: os.environ.get(name) for name in ("KITARU_SERVER_URL", "KITARU_API_KEY")}
    try:
        with (
            isolated_home(tmp_path / "home") as home,
            running_server(store, artifacts, auth=store_api_keys(store)) as url,
        ):
            env = {"KITARU_SERVER_URL": url, "KITARU_API_KEY": token}
            os.environ.update(env)
            reset_default_stores()
            reset_config()
            yield Dashboard(url=url, key=token, store=store, artifacts=artifacts, home=home, env=env)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        reset_default_stores()
        reset_config()
        store.close()


@pytest.fixture
def anonymous_page(browser: Any, dashboard: Dashboard) -> Iterator[Any]:
    """A new browser context (no key kept) watched for outside requests and page errors."""
    context = browser.new_context(viewport={"width": 1366, "height": 860})
    page = context.new_page()
    page.set_default_timeout(15_000)
    outside: list[str] = []
    errors: list[str] = []
    allowed = urlsplit(dashboard.url).netloc

    def watch(request: Any) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in ("http", "https", "ws", "wss") and parts.netloc != allowed:
            outside.append(request.url)

    page.on("request", watch)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield page
    finally:
        context.close()
    assert not outside, f"the page asked for something outside the test's server: {outside}"
    assert not errors, f"the page raised: {errors}"


@pytest.fixture
def page(anonymous_page: Any, dashboard: Dashboard) -> Any:
    """A page with the API key entered (kept in local storage, as the sign-in form does)."""
    # The script runs in every frame; a sandboxed frame (a visualize() HTML value) has no storage.
    anonymous_page.add_init_script(
        f"try {{ localStorage.setItem('kitaru.apiKey', {dashboard.key!r}); }} catch (e) {{}}"
    )
    return anonymous_page


def screenshot(page: Any, name: str) -> Path:
    """Save a screenshot of the whole page as ``<name>.png`` in the screenshots directory."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
