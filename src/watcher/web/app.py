"""The web app served by `watcher run`: pages for readers, the change log, the API, health.

`create_web` builds a FastAPI app around a running `App`; the routes live in `pages`,
`subscriptions`, `api` and `health`. Everything a route needs is on `request.app.state.site`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import FileSystemLoader
from starlette.exceptions import HTTPException as StarletteHTTPException

from watcher import __version__
from watcher.app import App
from watcher.render.templates import environment
from watcher.render.times import iso, local_time
from watcher.web.security import redact, secure_headers
from watcher.web.site import Site

log = logging.getLogger("watcher.web")
HERE = Path(__file__).parent


def create_web(
    app: App,
    *,
    api_token: str | None = None,
    kick: Callable[[], None] | None = None,
    alive: Callable[[], bool] | None = None,
    wake: Callable[[], None] | None = None,
) -> FastAPI:
    from watcher.store.editors import prepare_sign_in
    from watcher.web import (
        api,
        api_desk,
        api_sources,
        desk,
        desk_readers,
        docs,
        editors,
        health,
        pages,
        personal,
        subscriptions,
    )

    prepare_sign_in()
    web = FastAPI(
        title="watcher",
        version=__version__,
        description="Changes to watched country profiles and feeds, as JSON. Every endpoint "
        "needs `Authorization: Bearer <WATCHER_API_TOKEN>`.",
        docs_url=None,  # web/docs.py serves it, offline and under the policy
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
    )
    templates = Jinja2Templates(env=environment(FileSystemLoader(HERE / "templates")))
    templates.env.filters["local"] = _local_time(app)
    templates.env.filters["atomtime"] = lambda moment: iso(moment or app.clock())
    templates.env.globals["list_name"] = lambda: app.composer.list_name
    templates.env.globals["notable"] = lambda: app.settings.significance.notable
    templates.env.filters["score"] = lambda value: f"{value:.2f}"  # a significance, 0 to 1
    web.state.site = Site(app=app, templates=templates, api_token=api_token)
    if kick:
        web.state.site.kick = kick
    if alive:
        web.state.site.alive = alive
    if wake:
        web.state.site.wake = wake
    web.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    web.mount(docs.ASSETS, StaticFiles(directory=docs.assets_folder()), name="api-docs")
    for module in (
        pages,
        subscriptions,
        personal,
        editors,
        desk,
        desk_readers,
        api,
        api_desk,
        api_sources,
        docs,
        health,
    ):
        web.include_router(module.router)
    web.middleware("http")(secure_headers)
    web.middleware("http")(_log_requests)
    web.exception_handler(StarletteHTTPException)(_http_error)
    web.exception_handler(RequestValidationError)(_invalid_request)
    web.exception_handler(Exception)(_server_error)
    return web


def _local_time(app: App) -> Callable[[Any], str]:
    return lambda moment: local_time(moment, app.settings.service.timezone)


async def _log_requests(request: Request, call_next: Any) -> Response:
    started = time.perf_counter()
    response: Response = await call_next(request)
    path = redact(request.url.path)
    log.info(
        "%s %s %s",
        request.method,
        path,
        response.status_code,
        extra={
            "method": request.method,
            "path": path,
            "status": response.status_code,
            "duration": round(time.perf_counter() - started, 4),
        },
    )
    return response


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if request.url.path.startswith("/api/"):
        headers = getattr(exc, "headers", None)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)
    site: Site = request.app.state.site
    title = {404: "Not found", 405: "Not allowed", 403: "Refused", 429: "Too many requests"}
    return site.page(
        request,
        "message.html",
        {"title": title.get(exc.status_code, "Something is wrong"), "message": exc.detail},
        status=exc.status_code,
    )


async def _invalid_request(request: Request, exc: Exception) -> Response:
    """422 with where and what, never the input itself: what was sent may be anything, even
    a number JSON cannot write back (`1e999999` reads as infinity)."""
    assert isinstance(exc, RequestValidationError)
    problems = [
        {"loc": list(error.get("loc", ())), "msg": str(error.get("msg", "")), "type": error["type"]}
        for error in exc.errors()
    ]
    if request.url.path.startswith("/api/"):
        return JSONResponse({"detail": problems}, status_code=422)
    site: Site = request.app.state.site
    message = "; ".join(problem["msg"] for problem in problems) or "the request is not valid"
    return site.page(
        request, "message.html", {"title": "Something is wrong", "message": message}, status=422
    )


async def _server_error(request: Request, exc: Exception) -> Response:
    log.exception("error on %s %s", request.method, redact(request.url.path))
    if request.url.path.startswith("/api/"):
        return JSONResponse({"detail": "internal error"}, status_code=500)
    return HTMLResponse("<h1>Something went wrong</h1><p>Please try again later.</p>", 500)
