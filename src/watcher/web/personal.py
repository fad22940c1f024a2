"""A reader's own data, from their manage page: download all of it, or erase themselves.

Both act through the subscription's secret token, as the manage page does, and only on a
POST from this site's own page: a GET shows the button (mail systems' link scanners follow
links), and another site cannot make a reader's browser erase them.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from watcher.render.times import iso_for_json
from watcher.store import read_transaction, write_transaction
from watcher.store.personal import erase_reader, reader_data
from watcher.web.site import site_of
from watcher.web.subscriptions import masked, reader_of, require_same_origin

router = APIRouter(include_in_schema=False)


@router.post("/manage/{token}/data")
async def download(request: Request, token: str) -> Response:
    site = site_of(request)
    require_same_origin(request, site)
    reader = await reader_of(site, token)
    async with read_transaction(site.app.engine) as connection:
        data = await reader_data(connection, reader)
    return Response(
        json.dumps(data, ensure_ascii=False, indent=2, default=iso_for_json) + "\n",
        media_type="application/json",
        headers={
            "Content-Disposition": 'attachment; filename="watcher-my-data.json"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/manage/{token}/erase", response_class=HTMLResponse)
async def erase_page(request: Request, token: str) -> HTMLResponse:
    site = site_of(request)
    reader = await reader_of(site, token)
    context = {
        "email": masked(reader.email),
        "token": token,
        "done": False,
        "operator": reader.origin == "config",
    }
    return site.page(request, "erase.html", context)


@router.post("/manage/{token}/erase", response_class=HTMLResponse)
async def erase(request: Request, token: str) -> HTMLResponse:
    site = site_of(request)
    require_same_origin(request, site)
    reader = await reader_of(site, token)
    if reader.origin == "config":  # the configuration would only add them back
        context = {"email": masked(reader.email), "token": token, "done": False, "operator": True}
        return site.page(request, "erase.html", context, status=409)
    async with write_transaction(site.app.engine) as connection:
        await erase_reader(connection, reader, site.app.clock())
    return site.page(request, "erase.html", {"email": masked(reader.email), "done": True})
