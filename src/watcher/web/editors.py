"""Editors on the web: sign in, set a password from an invitation, and the review queue.

A session is a cookie (`watcher_editor`: HttpOnly, SameSite=Strict, Secure behind https)
holding a random secret; the database keeps only its hash (`store/editors.py`), so signing
out, removing an editor or a new deployment ends it for good. Every form of a session
carries its CSRF token and must come from this site's own pages; signing in is limited per
client (`Site.sign_ins`: 10 a quarter of an hour) on top of the lock per account. An editor sees
changes and how many readers each one concerns, never who they are.
"""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from watcher.notify.links import make_token
from watcher.notify.review import decide, decision_of
from watcher.store import read_transaction, write_transaction
from watcher.store.editors import (
    Session,
    close_session,
    invited,
    open_session,
    password_problem,
    set_password,
    sign_in,
)
from watcher.store.review import held_readers, waiting
from watcher.web.security import same_origin
from watcher.web.site import COOKIE, Site, by_link, editor_session, site_of

router = APIRouter(include_in_schema=False)


async def require_editor(request: Request, *, form: Any = None) -> Session:
    """The session, or 403; with `form`, also its CSRF token and this site's origin."""
    session = await editor_session(request)
    if session is None:
        raise HTTPException(403, "Please sign in as an editor first.")
    if form is not None:
        site = site_of(request)
        token = str(form.get("csrf", ""))
        if not same_origin(request, site.app.settings.service.public_url) or not _equal(
            token, session.csrf
        ):
            raise HTTPException(403, "This form must be sent from this site's own page.")
    return session


def _equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def _secure(site: Site) -> bool:
    return site.app.settings.service.public_url.startswith("https://")


@router.get("/editor/sign-in", response_class=HTMLResponse)
async def sign_in_page(request: Request) -> HTMLResponse:
    return site_of(request).page(request, "sign_in.html", {"problem": None, "email": ""})


@router.post("/editor/sign-in", response_model=None)
async def sign_in_form(request: Request) -> Response:
    site = site_of(request)
    if not same_origin(request, site.app.settings.service.public_url):
        raise HTTPException(403, "This form must be sent from this site's own page.")
    client = request.client.host if request.client else "unknown"
    if not site.sign_ins.allow(client):
        raise HTTPException(429, "Too many sign-ins from here; please try again later.")
    form = await request.form()
    email, password = str(form.get("email", ""))[:254], str(form.get("password", ""))[:1000]
    now = site.app.clock()
    async with write_transaction(site.app.engine) as connection:
        editor = await sign_in(
            connection, email, password, now, attempts=site.app.settings.review.login_attempts
        )
        secret = await open_session(connection, editor, now) if editor else None
    if secret is None:
        context = {"problem": "That address and password do not match.", "email": email}
        return site.page(request, "sign_in.html", context, status=401)
    answer = RedirectResponse("/review", status_code=303)
    answer.set_cookie(
        COOKIE, secret, httponly=True, samesite="strict", secure=_secure(site), path="/"
    )
    return answer


@router.post("/editor/sign-out")
async def sign_out(request: Request) -> RedirectResponse:
    form = await request.form()
    await require_editor(request, form=form)
    site = site_of(request)
    async with write_transaction(site.app.engine) as connection:
        await close_session(connection, request.cookies[COOKIE])
    answer = RedirectResponse("/", status_code=303)
    answer.delete_cookie(COOKIE, path="/")
    return answer


@router.get("/editor/password/{token}", response_class=HTMLResponse)
async def password_page(request: Request, token: str) -> HTMLResponse:
    site = site_of(request)
    editor = await _invited(site, token)
    return site.page(request, "password.html", {"email": editor.email, "problem": None})


@router.post("/editor/password/{token}", response_class=HTMLResponse)
async def password_form(request: Request, token: str) -> HTMLResponse:
    site = site_of(request)
    if not same_origin(request, site.app.settings.service.public_url):
        raise HTTPException(403, "This form must be sent from this site's own page.")
    editor = await _invited(site, token)
    form = await request.form()
    password = str(form.get("password", ""))
    problem = password_problem(password, editor.email)
    if password != str(form.get("again", "")):
        problem = "The two passwords differ."
    if problem:
        context = {"email": editor.email, "problem": problem}
        return site.page(request, "password.html", context, status=400)
    async with write_transaction(site.app.engine) as connection:
        await set_password(connection, editor, password, site.app.clock())
    return site.page(request, "password.html", {"email": editor.email, "done": True})


async def _invited(site: Site, token: str) -> Any:
    now = site.app.clock()
    return await by_link(
        site, token, lambda connection, key, secret: invited(connection, key, secret, now)
    )


def invitation_link(site_url: str, editor_id: int, secret: str) -> str:
    return f"{site_url}/editor/password/{make_token(editor_id, secret)}"


@router.get("/review", response_model=None)
async def queue(request: Request, country: str | None = None, done: int | None = None) -> Response:
    """The changes waiting, what matters most first; after a decision (`done`), what it did."""
    session = await editor_session(request)
    if session is None:
        return RedirectResponse("/editor/sign-in", status_code=303)
    site = site_of(request)
    code = country.upper() if country else None
    async with read_transaction(site.app.engine) as connection:
        records = await waiting(connection, country=code)
        readers = await held_readers(connection, [record.id for record in records])
    decision = await decision_of(site.app.engine, done) if done else None
    context = {
        "records": records,
        "readers": readers,
        "country": code,
        "session": session,
        "countries": site.app.settings.countries,
        "decision": decision,
    }
    return site.page(request, "review.html", context)


@router.post("/review/{change_id}")
async def review(request: Request, change_id: int) -> RedirectResponse:
    form = await request.form()
    session = await require_editor(request, form=form)
    action = str(form.get("action", ""))
    if action not in ("approve", "discard"):
        raise HTTPException(400, "Approve or discard.")
    note = str(form.get("note", ""))
    back = "queue" if form.get("from") == "queue" else "change"
    if action == "discard" and not note.strip():  # said where the form is, not on a page of its own
        where = (
            f"/review?missing={change_id}"
            if back == "queue"
            else f"/changes/{change_id}?missing=reason"
        )
        return RedirectResponse(f"{where}#change-{change_id}", status_code=303)
    site = site_of(request)
    app = site.app
    done = await decide(
        app.engine,
        app.extraction,
        change_id,
        approve=action == "approve",
        editor=session.editor.email,
        note=note,
        now=app.clock(),
        deadline=app.settings.checks.extract_timeout.total_seconds(),
        terms=app.config.key_terms,
    )
    if not done:
        raise HTTPException(409, "This change is not waiting for review any more.")
    if action == "approve":
        site.kick()  # its news may go out now
    return RedirectResponse(f"/review?done={change_id}", status_code=303)
