"""The desk's subscriber pages for operators (issue 27): search, one reader's choices and
mail, resend a confirmation, unsubscribe, erase (asked first), and the list as CSV (export,
and import: a confirmation email to each address unless the operator states consent). The
work is `watcher/desk/readers.py`'s, as for the API and the command line; every page needs an
operator's session, every form its CSRF token (`web/desk.py: require_operator`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from watcher.desk.errors import DeskError
from watcher.store import read_transaction
from watcher.store.requests import waiting_request
from watcher.web.desk import require_operator
from watcher.web.params import ChangeId
from watcher.web.site import Site, site_of

router = APIRouter(include_in_schema=False)


@router.get("/desk/subscribers", response_class=HTMLResponse)
async def readers_page(
    request: Request, q: str | None = None, done: str | None = None
) -> HTMLResponse:
    from watcher.desk.readers import all_readers

    site = site_of(request)
    session = await require_operator(request)
    search = (q or "").strip()[:254] or None
    found = await all_readers(site.app, search)
    context = {
        "session": session,
        "readers": found,
        "q": search or "",
        "done": done,
        "following": site.app.composer.following,
    }
    return site.page(request, "desk_readers.html", context)


@router.get("/desk/subscribers.csv")
async def readers_csv(request: Request) -> Response:
    from watcher.desk.readers import all_readers, export_csv

    site = site_of(request)
    await require_operator(request)
    text = export_csv(await all_readers(site.app))
    headers = {"Content-Disposition": 'attachment; filename="subscribers.csv"'}
    return Response(text, media_type="text/csv; charset=utf-8", headers=headers)


@router.post("/desk/subscribers/import", response_class=HTMLResponse)
async def import_readers(request: Request) -> HTMLResponse:
    """A CSV file uploaded: each address asked to confirm, unless the operator states the
    readers agreed."""
    from starlette.datastructures import UploadFile

    from watcher.desk.readers import all_readers, import_csv

    site = site_of(request)
    form = await request.form(max_part_size=5_000_000)
    session = await require_operator(request, form=form)
    upload = form.get("file")
    problem = None
    if not isinstance(upload, UploadFile) or not upload.filename:
        problem = "Choose a CSV file to import."
    else:
        raw = await upload.read(5_000_001)
        if len(raw) > 5_000_000:
            problem = "At most 5 MB of CSV at once."
        else:
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                problem = "The file is not UTF-8 text (save the CSV as UTF-8)."
    context: dict[str, Any] = {
        "session": session,
        "q": "",
        "done": None,
        "following": site.app.composer.following,
    }
    if problem is not None:
        context.update(readers=await all_readers(site.app), problem=problem)
        return site.page(request, "desk_readers.html", context, status=422)
    consent = form.get("consent") == "yes"
    imported = await import_csv(site.app, text, consent=consent, by=session.editor.email)
    if imported.asked:
        site.kick()
    context.update(readers=await all_readers(site.app), imported=imported)
    return site.page(request, "desk_readers.html", context)


@router.get("/desk/subscribers/{reader_id}", response_class=HTMLResponse)
async def reader_page(
    request: Request, reader_id: ChangeId, done: str | None = None
) -> HTMLResponse:
    from watcher.desk.readers import mail_of

    site = site_of(request)
    session = await require_operator(request)
    reader = await _reader(site, reader_id)
    async with read_transaction(site.app.engine) as connection:
        request_ = await waiting_request(connection, reader.email) if reader.email else None
    composer = site.app.composer
    context = {
        "session": session,
        "reader": reader,
        "following": composer.following(reader),
        "asked": request_
        and composer.describe(
            request_.countries, request_.sections, request_.keywords, request_.quiet
        ),
        "asked_frequency": request_.frequency if request_ else None,
        "mail": await mail_of(site.app, reader),
        "done": done,
        "file_name": site.app.config.file_name,
    }
    return site.page(request, "desk_reader.html", context)


async def _reader(site: Site, reader_id: int) -> Any:
    from watcher.store.subscribers import subscribers_by_ids

    async with read_transaction(site.app.engine) as connection:
        found = (await subscribers_by_ids(connection, [reader_id])).get(reader_id)
    if found is None:
        raise HTTPException(404, "There is no such subscriber.")
    return found


@router.post("/desk/subscribers/{reader_id}", response_model=None)
async def reader_action(request: Request, reader_id: ChangeId) -> Response:
    """Resend a confirmation, unsubscribe, or erase (after the page asked)."""
    from watcher.desk.readers import erase, unsubscribe
    from watcher.notify.confirmations import resend_confirmation

    site = site_of(request)
    form = await request.form()
    await require_operator(request, form=form)
    reader = await _reader(site, reader_id)
    action = str(form.get("action", ""))
    app = site.app
    try:
        if action == "resend":
            sent = await resend_confirmation(app.engine, app.composer, reader.email, app.clock())
            if sent:
                site.kick()
            outcome = {None: "nothing-waits", True: "resent", False: "resent-recently"}[sent]
        elif action == "unsubscribe":
            await unsubscribe(app, reader.address)
            outcome = "unsubscribed"
        elif action == "erase":
            if form.get("sure") != "yes":
                return RedirectResponse(
                    f"/desk/subscribers/{reader_id}?done=erase-unsure", status_code=303
                )
            await erase(app, reader.address)
            return RedirectResponse("/desk/subscribers?done=erased", status_code=303)
        else:
            raise HTTPException(400, "Unknown action.")
    except DeskError as exc:
        raise HTTPException(409, str(exc)) from None
    return RedirectResponse(f"/desk/subscribers/{reader_id}?done={outcome}", status_code=303)
