"""Pages for readers: the countries, each source, the change log, one change, and Atom
feeds of changes."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response

from watcher.diff import Change, PageChange
from watcher.extract.noise import Noise
from watcher.render.view import page_view, side_by_side
from watcher.store import read_transaction
from watcher.store.changes import ChangeRecord, get_change, list_changes
from watcher.store.follows import sections_seen
from watcher.store.sources import load_state, load_states
from watcher.text import for_xml
from watcher.web.params import Before, ChangeId
from watcher.web.site import Site, editor_session, everywhere, site_of

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
WEB_DIFF_LIMIT = 3000  # changed lines shown on one page; the API has the rest
ATOM_DIFF_LIMIT = 100  # changed lines in a feed entry; its link has the rest


def country_or_404(site: Site, code: str) -> Any:
    for country in site.app.settings.countries:
        if country.code == code.upper():
            return country
    raise HTTPException(404, "There is no such country here.")


@router.get("/", response_class=HTMLResponse)
async def index(request: Request) -> HTMLResponse:
    site = site_of(request)
    async with read_transaction(site.app.engine) as connection:
        states = await load_states(connection)
        recent = await list_changes(connection, limit=200, published=True)
        seen = await sections_seen(connection)
    latest: dict[str, list[ChangeRecord]] = defaultdict(list)
    for record in recent:
        if len(latest[record.country]) < 3:
            latest[record.country].append(record)
    by_country = defaultdict(list)
    for state in states:
        by_country[state.country].append(state)
    return site.page(
        request,
        "index.html",
        {
            "countries": site.app.settings.countries,
            "states": by_country,
            "latest": latest,
            "everywhere": everywhere(seen),
        },
    )


@router.get("/countries/{code}", response_class=HTMLResponse)
async def country(request: Request, code: str) -> HTMLResponse:
    site = site_of(request)
    found = country_or_404(site, code)
    async with read_transaction(site.app.engine) as connection:
        states = await load_states(connection, country=found.code)
        changes = await list_changes(connection, country=found.code, limit=20, published=True)
        seen = await sections_seen(connection)
    context = {
        "country": found,
        "states": states,
        "changes": changes,
        "everywhere": everywhere(seen),
    }
    return site.page(request, "country.html", context)


@router.get("/sources/{source_id}", response_class=HTMLResponse)
async def source(request: Request, source_id: str) -> HTMLResponse:
    """One source: its state, its latest changes, and the lines it learned as noise."""
    site = site_of(request)
    async with read_transaction(site.app.engine) as connection:
        state = await load_state(connection, source_id)
        if state is None or not state.active:
            raise HTTPException(404, "There is no such source.")
        changes = await list_changes(connection, source_id=source_id, limit=20, published=True)
    noise = [
        (line.example, datetime.fromisoformat(line.learned_at))
        for line in Noise.from_json(state.volatile).lines
    ]
    context = {
        "state": state,
        "country_name": site.app.config.country_name(state.country),
        "changes": changes,
        "noise": noise,
    }
    return site.page(request, "source.html", context)


@router.get("/changes", response_class=HTMLResponse)
async def changes(
    request: Request,
    country: str | None = None,
    source: str | None = None,
    before: Before = None,
    min_significance: Annotated[float | None, Query(ge=0.0, le=1.0)] = None,
) -> HTMLResponse:
    site = site_of(request)
    code = country.upper() if country else None
    async with read_transaction(site.app.engine) as connection:
        records = await list_changes(
            connection,
            country=code,
            source_id=source,
            before_id=before,
            limit=PAGE_SIZE + 1,
            published=True,
            min_significance=min_significance,
        )
    older = records[PAGE_SIZE - 1].id if len(records) > PAGE_SIZE else None
    shown = {"country": code, "source": source, "min_significance": min_significance}

    def query(**changed: object) -> str:
        """The page's query with some of it changed (a tab, the next page)."""
        wanted = {**shown, **changed}
        return urlencode({key: value for key, value in wanted.items() if value is not None})

    return site.page(
        request,
        "changes.html",
        {
            "records": records[:PAGE_SIZE],
            "country": code,
            "source": source,
            "older": older,
            "countries": site.app.settings.countries,
            "min_significance": min_significance,
            "query": query,
        },
    )


@router.get("/changes/{change_id}", response_class=HTMLResponse)
async def change(request: Request, change_id: ChangeId, view: str = "inline") -> HTMLResponse:
    from watcher.store.review import held_addresses, held_readers

    site = site_of(request)
    session = await editor_session(request)
    async with read_transaction(site.app.engine) as connection:
        record = await get_change(connection, change_id)
        readers = (await held_readers(connection, [change_id]))[change_id] if session else 0
        see = session is not None and session.editor.see_subscribers
        addresses = await held_addresses(connection, change_id) if see else []
    if record is None or (record.review in ("waiting", "discarded") and session is None):
        raise HTTPException(404, "There is no such change.")  # an editor's to see first
    context: dict[str, Any] = {
        "record": record,
        "view": "side" if view == "side" else "inline",
        "view_query": "",
        "session": session,
        "readers": readers,
        "addresses": addresses,
    }
    context.update(change_view(record.change, context["view"]))
    return site.page(request, "change.html", context)


def _atom_view(change: Change, public: str, change_id: int) -> dict[str, Any]:
    """What a feed entry's content shows of a change (`_atom_content.html`)."""
    context: dict[str, Any] = {"change": change, "url": f"{public}/changes/{change_id}"}
    if isinstance(change, PageChange):
        shown = page_view(change, limit=ATOM_DIFF_LIMIT, shorten=True)
        context.update(rows=shown.rows, hidden=shown.hidden)
    return context


def change_view(change: Change, view: str) -> dict[str, Any]:
    """What `_change_body.html` shows of a page's change: its rows inline, or its pairs side
    by side, and how many lines are left out."""
    if not isinstance(change, PageChange):
        return {}
    if view == "side":
        pairs, hidden = side_by_side(change, limit=WEB_DIFF_LIMIT)
        return {"pairs": pairs, "hidden": hidden}
    shown = page_view(change, limit=WEB_DIFF_LIMIT)
    return {"rows": shown.rows, "hidden": shown.hidden}


@router.get("/changes.atom")
async def changes_feed(request: Request) -> Response:
    return await _feed(request, None)


@router.get("/countries/{code}/changes.atom")
async def country_feed(request: Request, code: str) -> Response:
    return await _feed(request, country_or_404(site_of(request), code).code)


async def _feed(request: Request, country: str | None) -> Response:
    site = site_of(request)
    async with read_transaction(site.app.engine) as connection:
        records = await list_changes(connection, country=country, limit=50, published=True)
    public = site.app.settings.service.public_url
    path = f"/countries/{country}/changes.atom" if country else "/changes.atom"
    fragment = site.templates.get_template("_atom_content.html")
    entries = [
        # render() gives a str, not Markup: the feed escapes the HTML once more, as XML text.
        (record, fragment.render(_atom_view(record.change, public, record.id)))
        for record in records
    ]
    body = site.templates.get_template("changes.atom").render(
        records=records,
        entries=entries,
        public_url=public,
        self_url=public + path,
        title=f"{site.app.config.country_name(country)}: changes" if country else "All changes",
        config=site.app.config,
    )
    # What XML cannot carry at all would make the feed invalid for every reader.
    return Response(for_xml(body), media_type="application/atom+xml; charset=utf-8")
