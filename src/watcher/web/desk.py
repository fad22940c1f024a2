"""The desk's pages for operators (issue 27): the list of sources with their state; add and
edit a desk source with a preview of what it keeps; pause, resume, remove; recheck a source,
a country or everything; a source's versions, one version's text, and any two compared.
The subscribers' pages are `web/desk_readers.py`'s.

Every page needs an operator's session (`watcher editors add EMAIL --role operator`); every
form, its CSRF token and this site's origin (`web/editors.py: require_editor`). The work is
`watcher/desk/sources.py`'s and `watcher/desk/history.py`'s, as for the API and the command line.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from watcher.config import ConfigError
from watcher.desk.sources import SETTINGS
from watcher.store import read_transaction
from watcher.store.desk import load_desk_source
from watcher.store.editors import Session
from watcher.store.sources import load_state, load_states
from watcher.web.editors import require_editor
from watcher.web.pages import change_view
from watcher.web.params import ChangeId
from watcher.web.site import Site, site_of

router = APIRouter(include_in_schema=False)
LISTS = ("exclude", "ignore")  # one per line in the form
TEXTS = tuple(key for key in SETTINGS if key not in (*LISTS, "headers"))  # one a field


async def require_operator(request: Request, *, form: Any = None) -> Session:
    session = await require_editor(request, form=form)
    if not session.editor.operator:
        raise HTTPException(
            403, "Only an operator looks after sources (watcher editors add EMAIL --role operator)."
        )
    return session


def _fields(form: Any) -> dict[str, Any]:
    """A source's settings as the form gives them; empty ones left out."""
    fields: dict[str, Any] = {}
    for key in TEXTS:
        value = str(form.get(key, "")).strip()
        if value:
            numbered = key in ("compared_versions", "max_documents") and value.isdigit()
            fields[key] = int(value) if numbered else value
    for key in LISTS:
        lines = [line.strip() for line in str(form.get(key, "")).splitlines() if line.strip()]
        if lines:
            fields[key] = lines
    headers = {}
    for line in str(form.get("headers", "")).splitlines():
        name, colon, value = line.partition(":")
        if colon and name.strip():
            headers[name.strip()] = value.strip()
    if headers:
        fields["headers"] = headers
    if fields.get("kind") == "auto":
        del fields["kind"]
    return fields


def _problems(exc: ConfigError) -> dict[str, str]:
    """Each problem by the field it names ("" for the form as a whole)."""
    found: dict[str, str] = {}
    for problem in exc.problems:
        key, colon, what = problem.partition(": ")
        if colon and key.replace("_", "").isalnum():
            found[key] = f"{found[key]}; {what}" if key in found else what
        else:
            found[""] = problem
    return found


def _form_context(site: Site, session: Session, **more: Any) -> dict[str, Any]:
    from watcher.extract.kinds import KINDS

    return {
        "session": session,
        "kinds": ["auto", *KINDS],
        "countries": site.app.settings.countries,
        "problems": {},
        "preview": None,
        "failure": None,
        **more,
    }


@router.get("/desk/sources", response_class=HTMLResponse)
async def sources_page(request: Request, done: str | None = None) -> HTMLResponse:
    site = site_of(request)
    session = await require_operator(request)
    async with read_transaction(site.app.engine) as connection:
        states = await load_states(connection, active_only=False)
    config = site.app.config
    shown = [state for state in states if config.source(state.id) is not None]
    context = {"session": session, "states": shown, "done": done}
    context["countries"] = site.app.settings.countries
    return site.page(request, "desk_sources.html", context)


@router.get("/desk/sources/new", response_class=HTMLResponse)
async def new_source_page(request: Request, country: str | None = None) -> HTMLResponse:
    site = site_of(request)
    session = await require_operator(request)
    values = {"country": (country or "").upper()}
    return site.page(request, "desk_source_form.html", _form_context(site, session, values=values))


@router.post("/desk/sources/new", response_model=None)
async def new_source(request: Request) -> Response:
    """Preview (nothing written), or add: the same form, shown again with what the preview
    found or with each problem beside its field."""
    from watcher.desk.errors import SourceExists
    from watcher.desk.sources import add_source

    site = site_of(request)
    form = await request.form()
    session = await require_operator(request, form=form)
    fields = _fields(form)
    country = str(form.get("country", "")).strip()
    country_name = str(form.get("country_name", "")).strip() or None
    source_id = str(form.get("id", "")).strip() or None
    values = {k: str(form.get(k, "")) for k in (*TEXTS, *LISTS, "headers", "id", "country")}
    values["country_name"] = country_name or ""
    context = _form_context(site, session, values=values)
    if form.get("action") == "preview":
        return await _previewed(request, site, context, fields, country, country_name)
    try:
        source = await add_source(
            site.app,
            fields,
            country=country,
            country_name=country_name,
            source_id=source_id,
            by=session.editor.email,
        )
    except ConfigError as exc:
        context["problems"] = _problems(exc)
        return site.page(request, "desk_source_form.html", context, status=422)
    except SourceExists as exc:
        context["problems"] = {"id": str(exc).removeprefix("id: ")}
        return site.page(request, "desk_source_form.html", context, status=409)
    site.wake()
    return RedirectResponse(f"/desk/sources/{source.id}?done=added", status_code=303)


async def _previewed(
    request: Request,
    site: Site,
    context: dict[str, Any],
    fields: dict[str, Any],
    country: str,
    country_name: str | None,
) -> HTMLResponse:
    from watcher.check.preview import preview
    from watcher.errors import CheckError
    from watcher.loading import source_from

    try:
        source = source_from(fields, site.app.config, country or "XX", country_name)
    except ConfigError as exc:
        context["problems"] = _problems(exc)
        return site.page(request, "desk_source_form.html", context, status=422)
    try:
        context["preview"] = await preview(site.app, source)
    except CheckError as failure:
        context["failure"] = failure.reason
    return site.page(request, "desk_source_form.html", context)


@router.get("/desk/sources/{source_id}", response_class=HTMLResponse)
async def source_page(request: Request, source_id: str, done: str | None = None) -> HTMLResponse:
    from watcher.desk.history import history, line_count

    site = site_of(request)
    session = await require_operator(request)
    config = site.app.config
    async with read_transaction(site.app.engine) as connection:
        state = await load_state(connection, source_id)
        entry = await load_desk_source(connection, source_id)
    if state is None:
        raise HTTPException(404, "There is no such source.")
    versions = await history(site.app, source_id)
    known = config.source(source_id)
    origin = config.origin(source_id) if known else ("desk" if entry else "config")
    values: dict[str, Any] = {}
    if entry is not None:
        values = {key: entry.settings.get(key, "") for key in TEXTS}
        for key in LISTS:
            values[key] = "\n".join(entry.settings.get(key, []))
        values["headers"] = "\n".join(
            f"{k}: {v}" for k, v in entry.settings.get("headers", {}).items()
        )
        values["country"] = entry.country
        values["country_name"] = entry.country_name or ""
    context = _form_context(
        site,
        session,
        state=state,
        source=known,
        origin=origin,
        removed=known is None,
        paused=source_id in config.paused,
        file_name=config.file_name,
        versions=[(version, line_count(version)) for version in versions],
        values=values,
        done=done,
        country_name=config.country_name(state.country),
    )
    return site.page(request, "desk_source.html", context)


@router.post("/desk/sources/{source_id}", response_model=None)
async def source_action(request: Request, source_id: str) -> Response:
    """The source page's forms: save an edit (or preview it), pause, resume, remove,
    recheck now."""
    from watcher.desk.errors import DeskError
    from watcher.desk.sources import edit_source, recheck, remove_source

    site = site_of(request)
    form = await request.form()
    session = await require_operator(request, form=form)
    action = str(form.get("action", ""))
    who = session.editor.email
    try:
        if action == "recheck":
            await recheck(site.app, source_id=source_id, by=who)
            site.wake()
            return RedirectResponse(f"/desk/sources/{source_id}?done=recheck", status_code=303)
        if action in ("pause", "resume"):
            await edit_source(site.app, source_id, {"paused": action == "pause"}, by=who)
            site.wake()
            return RedirectResponse(f"/desk/sources/{source_id}?done={action}", status_code=303)
        if action == "remove":
            await remove_source(site.app, source_id, by=who)
            return RedirectResponse(f"/desk/sources?done=removed:{source_id}", status_code=303)
        if action in ("save", "preview"):
            return await _edited(request, site, session, source_id, form, action)
    except DeskError as exc:
        raise HTTPException(409, str(exc)) from None
    raise HTTPException(400, "Unknown action.")


async def _edited(
    request: Request, site: Site, session: Session, source_id: str, form: Any, action: str
) -> Response:
    from watcher.desk.sources import edit_source

    fields = _fields(form)
    changes: dict[str, Any] = {key: fields.get(key) for key in SETTINGS}
    changes["country"] = str(form.get("country", "")).strip() or None
    changes["country_name"] = str(form.get("country_name", "")).strip() or None
    if action == "preview":
        values = {k: str(form.get(k, "")) for k in (*TEXTS, *LISTS, "headers", "country")}
        values["country_name"] = changes["country_name"] or ""
        context = _form_context(site, session, values=values, editing=source_id)
        country = changes["country"] or ""
        return await _previewed(request, site, context, fields, country, changes["country_name"])
    try:
        await edit_source(site.app, source_id, changes, by=session.editor.email)
    except ConfigError as exc:
        values = {k: str(form.get(k, "")) for k in (*TEXTS, *LISTS, "headers", "country")}
        values["country_name"] = changes["country_name"] or ""
        context = _form_context(
            site, session, values=values, editing=source_id, problems=_problems(exc)
        )
        return site.page(request, "desk_source_form.html", context, status=422)
    site.wake()
    return RedirectResponse(f"/desk/sources/{source_id}?done=saved", status_code=303)


@router.post("/desk/recheck", response_model=None)
async def recheck_many(request: Request) -> Response:
    """Recheck now: a country's sources, or every one."""
    from watcher.desk.sources import recheck

    site = site_of(request)
    form = await request.form()
    session = await require_operator(request, form=form)
    code = str(form.get("country", "")).strip().upper() or None
    if code and site.app.settings.unknown_countries([code]):
        raise HTTPException(404, f"There is no country {code}.")
    due = await recheck(site.app, country=code, by=session.editor.email)
    site.wake()
    return RedirectResponse(f"/desk/sources?done=recheck:{due}", status_code=303)


@router.get("/desk/sources/{source_id}/versions/{version_id}", response_class=HTMLResponse)
async def version_page(request: Request, source_id: str, version_id: ChangeId) -> HTMLResponse:
    from watcher.desk.history import NoSuchVersion, history, version_of
    from watcher.extract.preview import sections_of

    site = site_of(request)
    session = await require_operator(request)
    try:
        version = version_of(await history(site.app, source_id), version_id)
    except NoSuchVersion as exc:
        raise HTTPException(404, str(exc)) from None
    context = {
        "session": session,
        "source_id": source_id,
        "version": version,
        "sections": sections_of(version.document),
    }
    return site.page(request, "desk_version.html", context)


@router.get("/desk/sources/{source_id}/compare", response_class=HTMLResponse)
async def compare_page(request: Request, source_id: str, view: str = "inline") -> HTMLResponse:
    from watcher.desk.history import NoSuchVersion, compare_versions
    from watcher.errors import CheckError

    site = site_of(request)
    session = await require_operator(request)
    try:
        old = int(request.query_params.get("from", ""))
        new = int(request.query_params.get("to", ""))
    except ValueError:
        raise HTTPException(404, "Choose two versions to compare.") from None
    try:
        found = await compare_versions(site.app, source_id, old, new)
    except NoSuchVersion as exc:
        raise HTTPException(404, str(exc)) from None
    except CheckError as exc:
        raise HTTPException(422, f"These versions could not be compared: {exc.reason}") from None
    shown = "side" if view == "side" else "inline"
    context: dict[str, Any] = {
        "session": session,
        "source_id": source_id,
        "found": found,
        "view": shown,
        "view_query": f"from={found.old.id}&to={found.new.id}&",
    }
    if found.change is not None:
        context["change"] = found.change
        context.update(change_view(found.change, shown))
    return site.page(request, "desk_compare.html", context)
