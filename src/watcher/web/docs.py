"""`/api/docs`: the API's interactive reference (Swagger UI), working offline and under
watcher's Content-Security-Policy: its script and styles come from the swagger-ui-bundle
package and are served by watcher (`/api/docs/assets/`), never from a CDN; the page that
starts it has no inline script (`static/api-docs.js` does), so the only loosening of the
policy is scripts from watcher itself, on this page alone.

The files are Swagger UI 5's, as the fastapi-offline package ships them (its static folder;
none of its code runs)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from watcher.web.site import site_of

router = APIRouter(include_in_schema=False)

ASSETS = "/api/docs/assets"  # `assets_folder()`, mounted by web/app.py
POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
    " connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


@router.get("/api/docs", response_class=HTMLResponse)
async def api_docs(request: Request) -> HTMLResponse:
    site = site_of(request)
    page = site.page(request, "api_docs.html", {})  # its paths: ASSETS, written in full
    page.headers["Content-Security-Policy"] = POLICY
    return page


def assets_folder() -> str:
    """Where Swagger UI's files are, in the package that ships them (found, not imported)."""
    spec = importlib.util.find_spec("fastapi_offline")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("fastapi-offline is not installed: pip install watcher again")
    return str(Path(next(iter(spec.submodule_search_locations))) / "static")
