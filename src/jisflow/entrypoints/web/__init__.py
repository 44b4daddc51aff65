"""The control tower: web pages for planners, the line side and suppliers (NiceGUI), served
by the same application as the HTTP API, under ``/tower`` (``/`` leads there).

::

    api = create_tower_app(bootstrap(database_url=url), storage_secret=secret)
    uvicorn.run(api)

NiceGUI keeps its pages and session storage per process: the tower is mounted on one
application per process (a second mount raises). Every asset (Vue, Quasar, ECharts, fonts)
comes from the installed ``nicegui`` package; nothing is loaded from the internet.
"""

from __future__ import annotations

import secrets
from fastapi import FastAPI
from fastapi.responses import RedirectResponse

from jisflow.bootstrap import App
from jisflow.entrypoints.web.pages import BASE, Tower

__all__ = ["BASE", "create_tower_app", "mount_tower"]

_mounted: list[FastAPI] = []


def mount_tower(api: FastAPI, *, storage_secret: str | None = None) -> None:
    """Mount the control tower on an API made by ``create_app``; its pages use the API's
    wired jisflow and lock. ``storage_secret`` signs the session cookie (default: a new
    random one, so sessions end with the process)."""
    from nicegui import ui

    from jisflow.entrypoints.web import pages

    if _mounted:
        raise RuntimeError("the control tower is mounted once per process (NiceGUI keeps its pages per process)")
    Tower.context = api.state.jisflow
    pages.register()

    @api.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse(BASE + "/")

    ui.run_with(
        api, mount_path=BASE, title="jisflow control tower", storage_secret=storage_secret or secrets.token_urlsafe(32),
        show_welcome_message=False, reconnect_timeout=10.0,
    )
    _mounted.append(api)


def create_tower_app(app: App, *, storage_secret: str | None = None) -> FastAPI:
    """The HTTP API with the control tower mounted on it."""
    from jisflow.entrypoints.api import create_app

    api = create_app(app)
    mount_tower(api, storage_secret=storage_secret)
    return api
