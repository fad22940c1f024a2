"""What every page and route shares: the `Site` (the running program's parts, the templates,
the API token, the limits), how a route finds it, an emailed link's lookup, and the signed-in
editor's session. Routers import this; `app.py` builds the `Site` and mounts the routers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.ext.asyncio import AsyncConnection

from watcher.app import App
from watcher.notify.links import parse_token
from watcher.store import read_transaction
from watcher.store.editors import Session, session_of
from watcher.web.security import RateLimit

INVALID_LINK = "This link is not valid, or it has expired."
COOKIE = "watcher_editor"  # an editor's session (web/editors.py)
T = TypeVar("T")


@dataclass
class Site:
    app: App
    templates: Jinja2Templates
    api_token: str | None = None
    # Set by the service: what to do when a request has queued mail (deliver it soon).
    kick: Callable[[], None] = lambda: None
    # Set by the service: sources were made due (a recheck, a desk source): look now.
    wake: Callable[[], None] = lambda: None
    alive: Callable[[], bool] = lambda: True
    per_client: RateLimit = field(default_factory=lambda: RateLimit(limit=10, window=600))
    sign_ins: RateLimit = field(default_factory=lambda: RateLimit(limit=10, window=900))

    def page(
        self, request: Request, name: str, context: dict[str, Any], status: int = 200
    ) -> HTMLResponse:
        base = {"settings": self.app.settings, "config": self.app.config}
        return self.templates.TemplateResponse(
            request, name, {**base, **context}, status_code=status
        )


def site_of(request: Request) -> Site:
    site: Site = request.app.state.site
    return site


async def by_link(
    site: Site, token: str, find: Callable[[AsyncConnection, int, str], Awaitable[T | None]]
) -> T:
    """What an emailed link's token names (`find` looks it up by id and secret), or 404
    saying the link is not valid: a malformed token and an unknown or expired one alike."""
    parsed = parse_token(token)
    if parsed is not None:
        async with read_transaction(site.app.engine) as connection:
            found = await find(connection, *parsed)
        if found is not None:
            return found
    raise HTTPException(404, INVALID_LINK)


def everywhere(seen: dict[str, list[str]]) -> list[str]:
    """The sections some country has, each once, in the order first seen."""
    return list(dict.fromkeys(name for names in seen.values() for name in names))


async def editor_session(request: Request) -> Session | None:
    """The signed-in editor's session, if the request carries a live one."""
    secret = request.cookies.get(COOKIE)
    if not secret or len(secret) > 100:
        return None
    site = site_of(request)
    async with read_transaction(site.app.engine) as connection:
        return await session_of(connection, secret, site.app.clock())
