"""The web dashboard: static pages under ``/ui`` that speak to the REST API and nothing else.

The assets (HTML, CSS, JavaScript modules; no build step) ship in the package
(``kitaru/server/dashboard``). They need no API key to load: the page asks for one
and sends it as a bearer token with every API request, so nothing works without it
when auth is on.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from starlette.staticfiles import StaticFiles

__all__ = ["DASHBOARD_PATH", "mount_dashboard"]

#: Where the dashboard is served.
DASHBOARD_PATH = "/ui"
#: The assets, shipped as package data.
ASSETS = Path(__file__).with_name("dashboard")


def mount_dashboard(app: FastAPI) -> None:
    """Serve the dashboard's assets under :data:`DASHBOARD_PATH`; ``/`` leads there."""

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse(f"{DASHBOARD_PATH}/", status_code=307)

    app.mount(DASHBOARD_PATH, StaticFiles(directory=ASSETS, html=True), name="dashboard")
