"""Subscribing with double opt-in, confirming, unsubscribing (RFC 8058 one-click), managing.

No answer here tells whether an address is subscribed: `POST /subscribe` gives the same page
for every valid request, and the links that act on a subscription carry its secret token.
A GET on a token link only shows a button; link scanners in mail systems follow links, and
must not subscribe or unsubscribe anyone by doing so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from watcher.config.model import FREQUENCIES, check_email
from watcher.diff.interest import MAX_KEYWORDS, clean_keyword
from watcher.notify.accounts import manage_link_message, welcome_message
from watcher.notify.confirmations import send_confirmation
from watcher.notify.links import make_token
from watcher.store import read_transaction, write_transaction
from watcher.store.follows import sections_seen
from watcher.store.messages import sent_since
from watcher.store.notifications import add_message
from watcher.store.requests import Request as SubscriptionRequest
from watcher.store.requests import confirm_request, find_request
from watcher.store.subscribers import (
    ACTIVE,
    CONFIRM_RESEND_AFTER,
    Subscriber,
    change_subscription,
    find_subscriber,
    subscriber_by_token,
    unsubscribe_subscriber,
)
from watcher.web.security import same_origin
from watcher.web.site import Site, by_link, everywhere, site_of

router = APIRouter(include_in_schema=False)
_DOMAIN = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)+$", re.IGNORECASE)


def require_same_origin(request: Request, site: Site) -> None:
    if not same_origin(request, site.app.settings.service.public_url):
        raise HTTPException(403, "This form must be sent from this site's own page.")


def web_email(address: str) -> str | None:
    """A deliverable-looking address, or None: ASCII, a dotted domain, no display name."""
    try:
        address = check_email(address)
    except ValueError:
        return None
    domain = address.rsplit("@", 1)[1]
    if not address.isascii() or not _DOMAIN.match(domain) or len(address) > 254:
        return None
    return address


def masked(address: str) -> str:
    local, _, domain = address.partition("@")
    return f"{local[:1]}{'*' * max(len(local) - 1, 2)}@{domain}"


@router.post("/subscribe", response_class=HTMLResponse)
async def subscribe(request: Request) -> HTMLResponse:
    site = site_of(request)
    require_same_origin(request, site)
    form = await request.form()
    email = web_email(str(form.get("email", "")))
    chosen = await choices_of(site, form)
    frequency = str(form.get("frequency", "immediate"))
    problems = []
    if email is None:
        problems.append("Please enter a valid email address.")
    if not chosen.any:
        problems.append("Please choose at least one country, section or keyword.")
    if frequency not in FREQUENCIES:
        problems.append("Please choose how often to hear from us.")
    if problems:
        async with read_transaction(site.app.engine) as connection:
            seen = await sections_seen(connection)
        context = {
            "problems": problems,
            "email": form.get("email", ""),
            "chosen": chosen.countries,
            "everywhere": everywhere(seen),
            "chosen_sections": chosen.sections,
            "keywords": ", ".join(chosen.keywords),
        }
        return site.page(request, "index_form.html", context, status=400)
    client = request.client.host if request.client else "unknown"
    if not site.per_client.allow(client):
        raise HTTPException(429, "Too many requests from here; please try again later.")
    if not form.get("website"):  # a field people never see: only robots fill it in
        assert email is not None
        await _request(site, email, chosen, frequency)
    return site.page(request, "subscribe_sent.html", {})


@dataclass(frozen=True)
class Choices:
    """What a form asks to follow: countries whole, sections, keywords."""

    countries: list[str]
    sections: list[tuple[str, str]]
    keywords: list[str]
    quiet: list[str] = field(default_factory=list)  # countries whose news is turned off

    @property
    def any(self) -> bool:
        return bool(self.countries or self.sections or self.keywords)


async def choices_of(site: Site, form: Any) -> Choices:
    """The choices a form sends, each checked: known countries, sections some page of that
    country (or, for "*", of any country) has, at most `MAX_KEYWORDS` keywords."""
    known = {country.code for country in site.app.settings.countries}
    countries = sorted({str(code).upper() for code in form.getlist("countries")} & known)
    async with read_transaction(site.app.engine) as connection:
        seen = await sections_seen(connection)
    anywhere = set(everywhere(seen))
    sections = []
    for value in form.getlist("sections"):
        code, _, name = str(value).partition(":")
        if (code == "*" and name in anywhere) or name in seen.get(code, ()):
            sections.append((code, name))
    words = re.split(r"[,\n;]", str(form.get("keywords", "")))
    keywords = [word for raw in words if (word := clean_keyword(raw))][:MAX_KEYWORDS]
    # A country's news stays included with its sections unless its box is unticked: the
    # form says which boxes it showed (`news_shown`), and which are ticked (`news`).
    shown = {str(code).upper() for code in form.getlist("news_shown")}
    ticked = {str(code).upper() for code in form.getlist("news")}
    with_sections = {code for code, _ in sections if code != "*"}
    quiet = sorted((shown - ticked) & with_sections)
    return Choices(countries, sorted(set(sections)), keywords, quiet)


async def _request(site: Site, email: str, chosen: Choices, frequency: str) -> None:
    app = site.app
    sent = await send_confirmation(
        app.engine,
        app.composer,
        email=email,
        countries=chosen.countries,
        frequency=frequency,
        sections=chosen.sections,
        keywords=chosen.keywords,
        now=app.clock(),
        quiet=chosen.quiet,
    )
    if sent:
        site.kick()


async def _subscription_request(site: Site, token: str) -> SubscriptionRequest:
    now = site.app.clock()
    return await by_link(
        site, token, lambda connection, key, secret: find_request(connection, key, secret, now)
    )


@router.get("/confirm/{token}", response_class=HTMLResponse)
async def confirm_page(request: Request, token: str) -> HTMLResponse:
    site = site_of(request)
    found = await _subscription_request(site, token)
    return site.page(
        request,
        "confirm.html",
        {
            "email": masked(found.subscriber.email),
            "countries": site.app.composer.describe(
                found.countries, found.sections, found.keywords, found.quiet
            ),
            "frequency": found.frequency,
            "done": False,
        },
    )


@router.post("/confirm/{token}", response_class=HTMLResponse)
async def confirm(request: Request, token: str) -> HTMLResponse:
    site = site_of(request)
    require_same_origin(request, site)
    found = await _subscription_request(site, token)
    now = site.app.clock()
    async with write_transaction(site.app.engine) as connection:
        subscriber = await confirm_request(connection, found, now)
        welcome = welcome_message(site.app.composer, subscriber, now)  # the link to keep
        await add_message(connection, welcome, kind="welcome", subscriber_id=subscriber.id, now=now)
    site.kick()
    manage = site.app.composer.links.manage(make_token(subscriber.id, subscriber.token))
    return site.page(
        request,
        "confirm.html",
        {
            "email": masked(subscriber.email),
            "countries": site.app.composer.following(subscriber),
            "frequency": subscriber.frequency,
            "done": True,
            "manage_url": manage,
        },
    )


@router.get("/manage-link", response_class=HTMLResponse)
async def manage_link_page(request: Request) -> HTMLResponse:
    """A reader who lost their manage link asks for it by email."""
    return site_of(request).page(request, "manage_link.html", {"sent": False})


@router.post("/manage-link", response_class=HTMLResponse)
async def manage_link(request: Request) -> HTMLResponse:
    """The same answer whether the address is known or not: a following reader's manage
    link goes to that address alone (at most one every ten minutes), nobody learns who
    follows what."""
    site = site_of(request)
    require_same_origin(request, site)
    form = await request.form()
    email = web_email(str(form.get("email", "")))
    if email is None:
        context = {"sent": False, "problem": "Please enter a valid email address."}
        return site.page(request, "manage_link.html", context, status=400)
    client = request.client.host if request.client else "unknown"
    if not site.per_client.allow(client):
        raise HTTPException(429, "Too many requests from here; please try again later.")
    app = site.app
    now = app.clock()
    async with write_transaction(app.engine) as connection:
        reader = await find_subscriber(connection, email)
        if (
            reader is not None
            and reader.status == ACTIVE
            and not reader.channel
            and not await sent_since(connection, reader.id, "manage", now - CONFIRM_RESEND_AFTER)
        ):
            message = manage_link_message(app.composer, reader, now)
            await add_message(connection, message, kind="manage", subscriber_id=reader.id, now=now)
            site.kick()
    return site.page(request, "manage_link.html", {"sent": True, "email": masked(email)})


async def reader_of(site: Site, token: str) -> Subscriber:
    """The subscriber a token link is for; 404 for a link that is not valid."""
    return await by_link(site, token, subscriber_by_token)


@router.get("/unsubscribe/{token}", response_class=HTMLResponse)
async def unsubscribe_page(request: Request, token: str) -> HTMLResponse:
    site = site_of(request)
    subscriber = await reader_of(site, token)
    return site.page(
        request,
        "unsubscribe.html",
        {"email": masked(subscriber.email), "done": subscriber.status == "unsubscribed"},
    )


@router.post("/unsubscribe/{token}", response_class=HTMLResponse)
async def unsubscribe(request: Request, token: str) -> HTMLResponse:
    """RFC 8058 one-click, or the button: no cookie, no origin check, 200, no redirect."""
    site = site_of(request)
    subscriber = await reader_of(site, token)
    await request.body()  # `List-Unsubscribe=One-Click`, urlencoded or multipart, or the form
    async with write_transaction(site.app.engine) as connection:
        await unsubscribe_subscriber(connection, subscriber, site.app.clock())
    return site.page(request, "unsubscribe.html", {"email": masked(subscriber.email), "done": True})


@router.get("/manage/{token}", response_class=HTMLResponse)
async def manage_page(request: Request, token: str) -> HTMLResponse:
    site = site_of(request)
    subscriber = await reader_of(site, token)
    context = await _manage_context(site, subscriber, token, saved=False)
    return site.page(request, "manage.html", context)


@router.post("/manage/{token}", response_class=HTMLResponse)
async def manage(request: Request, token: str) -> HTMLResponse:
    site = site_of(request)
    require_same_origin(request, site)
    subscriber = await reader_of(site, token)
    form = await request.form()
    chosen = await choices_of(site, form)
    every = "*" in {str(code) for code in form.getlist("countries")}
    frequency = str(form.get("frequency", subscriber.frequency))
    if frequency not in FREQUENCIES:
        raise HTTPException(400, "Please choose how often to hear from us.")
    async with write_transaction(site.app.engine) as connection:
        await change_subscription(
            connection,
            subscriber,
            countries=["*"] if every else chosen.countries,
            frequency=frequency,
            now=site.app.clock(),
            sections=chosen.sections,
            keywords=chosen.keywords,
            quiet=chosen.quiet,
            notable=form.get("notable") == "yes",
        )
    updated = await reader_of(site, token)
    context = await _manage_context(site, updated, token, saved=True)
    return site.page(request, "manage.html", context)


async def _manage_context(
    site: Site, subscriber: Subscriber, token: str, *, saved: bool
) -> dict[str, Any]:
    async with read_transaction(site.app.engine) as connection:
        seen = await sections_seen(connection)
    active = subscriber.status == "active"
    return {
        "email": masked(subscriber.email),
        "subscriber": subscriber,
        "token": token,
        "saved": saved,
        "active": active,
        "every": "*" in subscriber.countries,
        "seen": seen,
        "everywhere": everywhere(seen),
        "chosen_sections": set(subscriber.sections) if active else set(),
        "quiet": set(subscriber.quiet) if active else set(),
        "keywords": ", ".join(subscriber.keywords) if active else "",
        "following": site.app.composer.following(subscriber) if active else "nothing",
    }
