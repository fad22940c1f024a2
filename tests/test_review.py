"""The review queue (issue 18): a change of a reviewed country waits for an editor, who signs
in, reads it, approves it with a note (the readers get one email, the note atop it) or
discards it (nobody is told); every act is audited. And what must be refused: no session,
another site's form, a wrong or missing CSRF token, a tampered cookie, a guessed password."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import BASE, SAME_SITE, TOKEN, Clock, demo_data, web_client
from tests.mailing import cycle
from watcher.app import App, open_app
from watcher.demo.site import SiteServer
from watcher.loading import build_config
from watcher.notify.delivery import deliver
from watcher.notify.editors import remind_editors
from watcher.notify.queue import compose_pending
from watcher.store import read_transaction, write_transaction
from watcher.store.editors import invite
from watcher.store.messages import list_messages
from watcher.store.schema import audit, notifications
from watcher.web.site import COOKIE

EDITOR = "desk@monitor.example"
PASSWORD = "a long enough passphrase"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def review_config(site: SiteServer, tmp_path: Path, **review: Any) -> Any:
    data = demo_data(site, f"sqlite:///{tmp_path / 'w.db'}")
    data["mail"] = {"transport": "maildir", "maildir": str(tmp_path / "mail")}
    data["countries"][0]["review"] = True  # Vietnam's changes wait for an editor
    data["review"] = review
    data["subscribers"] = [
        {"email": "reader@example.org", "countries": ["*"]},
        {"email": "daily@example.org", "countries": ["VN"], "frequency": "daily"},
    ]
    return build_config(data, {}, tmp_path / "watcher.toml")


@pytest.fixture
async def reviewed(site: SiteServer, tmp_path: Path) -> AsyncIterator[tuple[App, Clock]]:
    clock = Clock(START)
    async with open_app(review_config(site, tmp_path), clock=clock) as app:
        await cycle(app, site, "r1")
        await cycle(app, site, "r2")  # Vietnam's two changes wait; Lao PDR's went out
        yield app, clock


@pytest.fixture
async def web(reviewed: tuple[App, Clock]) -> AsyncIterator[httpx.AsyncClient]:
    app, _ = reviewed
    async with web_client(app, "203.0.113.7") as http:
        yield http


async def remind(app: App) -> int:
    return await remind_editors(
        app.engine, app.composer, now=app.clock(), remind_after=app.settings.review.remind_after
    )


async def drain(app: App) -> None:
    await compose_pending(app, settle=timedelta(0))
    await deliver(app)


async def subjects(app: App, address: str) -> list[str]:
    async with read_transaction(app.engine) as connection:
        found = await list_messages(connection, limit=1000)
    return sorted(m.subject for m in found if m.recipient == address and m.status == "sent")


async def signed_in(http: httpx.AsyncClient, app: App) -> str:
    """Invite the editor, set the password from the link, sign in; the CSRF token."""
    async with write_transaction(app.engine) as connection:
        editor, secret = await invite(connection, EDITOR, app.clock())
    from watcher.web.editors import invitation_link

    link = invitation_link(BASE, editor.id, secret).removeprefix(BASE)
    assert "Set your password" in (await http.get(link)).text
    short = {"password": "short", "again": "short"}
    assert (await http.post(link, data=short, headers=SAME_SITE)).status_code == 400
    both = {"password": PASSWORD, "again": PASSWORD}
    assert (await http.post(link, data=both)).status_code == 403  # another site's form
    done = await http.post(link, data=both, headers=SAME_SITE)
    assert "Your password is set" in done.text
    assert (await http.get(link)).status_code == 404  # the link is spent
    form = {"email": EDITOR, "password": PASSWORD}
    answer = await http.post("/editor/sign-in", data=form, headers=SAME_SITE)
    assert answer.status_code == 303
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    queue = await http.get("/review")
    found = re.search(r'name="csrf" value="([^"]+)"', queue.text)
    assert found is not None
    return found.group(1)


async def test_an_editor_approves_one_change_with_a_note_and_discards_another(
    reviewed: tuple[App, Clock], web: httpx.AsyncClient
) -> None:
    app, clock = reviewed
    assert await subjects(app, "reader@example.org") == [
        "Lao PDR: entry updated: Lao PDR submits Article 7 transparency report (corrected)"
    ], "Vietnam's changes wait for an editor"
    csrf = await signed_in(web, app)
    queue = await web.get("/review")
    ids = [int(n) for n in re.findall(r'href="/changes/(\d+)"', queue.text)]
    assert len(ids) == 2  # the profile and the news item
    assert "2 readers to tell" in queue.text
    assert "reader@example.org" not in queue.text  # how many, never who
    [profile] = [
        int(n) for n in re.findall(r'/changes/(\d+)">Vietnam: Vietnam country', queue.text)
    ]
    [news] = [n for n in ids if n != profile]
    page = await web.get(f"/changes/{profile}")
    assert "Waiting for an editor" in page.text
    assert "Approve and send" in page.text
    assert "2 readers will be told" in page.text
    assert "reader@example.org" not in page.text  # unless the operator allows it
    assert (await web.get(f"/changes/{profile}?view=side")).status_code == 200

    note = "Vietnam voted for the resolution for the first time."
    approve = {"action": "approve", "note": note, "csrf": csrf}
    decided = await web.post(f"/review/{profile}", data=approve, headers=SAME_SITE)
    assert decided.status_code == 303
    after = await web.get(decided.headers["location"])  # what it did, and what waits next
    assert f"Change #{profile} approved: 2 readers will be told." in after.text
    assert f'Next waiting: <a href="/changes/{news}">change #{news}</a>' in after.text
    # A discard without its reason is said where the form is, and decides nothing.
    unsaid = {"action": "discard", "note": "  ", "csrf": csrf, "from": "queue"}
    refused = await web.post(f"/review/{news}", data=unsaid, headers=SAME_SITE)
    assert refused.headers["location"] == f"/review?missing={news}#change-{news}"
    queue = await web.get(refused.headers["location"])
    assert queue.text.count("Say why the change is discarded") == 1
    assert f'id="note-{news}" name="note" maxlength="2000" autofocus' in queue.text
    refused = await web.post(f"/review/{news}", data={**unsaid, "from": ""}, headers=SAME_SITE)
    assert refused.headers["location"] == f"/changes/{news}?missing=reason#change-{news}"
    assert "Say why the change is discarded" in (await web.get(refused.headers["location"])).text
    discard = {"action": "discard", "note": "A duplicate of the profile update.", "csrf": csrf}
    assert (await web.post(f"/review/{news}", data=discard, headers=SAME_SITE)).status_code == 303
    again = await web.post(f"/review/{news}", data=approve, headers=SAME_SITE)
    assert again.status_code == 409  # decided already

    clock.advance(minutes=1)
    await drain(app)
    told = await subjects(app, "reader@example.org")
    assert len(told) == 2
    assert any(s.startswith("Vietnam: country profile updated") for s in told)
    async with read_transaction(app.engine) as connection:
        mail = [m for m in await list_messages(connection) if m.recipient == "reader@example.org"]
        log = (await connection.execute(select(audit).order_by(audit.c.id))).all()
    vietnam = next(m for m in mail if m.subject.startswith("Vietnam"))
    body = vietnam.body.decode().replace("=\r\n", "")
    assert "From the editors:" in body
    assert "Vietnam voted for the resolution" in body
    assert "Country profile updated: Vietnam" not in body  # the discarded news item
    actions = [(row.editor, row.action, row.change_id) for row in log]
    assert (EDITOR, "approved", profile) in actions
    assert (EDITOR, "discarded", news) in actions
    assert ("operator", "invited", None) in actions

    # The change log, Atom and the API show the review state; a discarded change is gone
    # from the public pages.
    assert "Approved by the editors" in (await web.get(f"/changes/{profile}")).text
    assert "approved by the editors</span>" in (await web.get("/changes")).text
    web.cookies.clear()
    assert (await web.get(f"/changes/{news}")).status_code == 404
    atom = (await web.get("/changes.atom")).text
    assert f"/changes/{profile}" in atom
    assert f"/changes/{news}" not in atom
    api = (
        await web.get(f"/api/v1/changes/{news}", headers={"Authorization": f"Bearer {TOKEN}"})
    ).json()
    assert api["review"]["state"] == "discarded"
    assert api["review"]["note"] == "A duplicate of the profile update."


async def test_the_daily_digest_carries_what_was_approved_in_its_period(
    reviewed: tuple[App, Clock], web: httpx.AsyncClient
) -> None:
    app, clock = reviewed
    clock.now = datetime(2026, 3, 3, 6, 0, tzinfo=UTC)  # the next day, before the digest hour
    csrf = await signed_in(web, app)
    ids = [int(n) for n in re.findall(r'href="/changes/(\d+)"', (await web.get("/review")).text)]
    approve = {"action": "approve", "note": "", "csrf": csrf}
    for change_id in ids:
        answer = await web.post(f"/review/{change_id}", data=approve, headers=SAME_SITE)
        assert answer.status_code == 303
    clock.now = datetime(2026, 3, 3, 7, 5, tzinfo=UTC)
    await drain(app)
    assert await subjects(app, "daily@example.org") == ["Daily digest, 3 March 2026: Vietnam"]


async def test_without_a_session_or_its_token_nothing_is_decided(
    reviewed: tuple[App, Clock], web: httpx.AsyncClient
) -> None:
    app, _ = reviewed
    async with read_transaction(app.engine) as connection:
        held = (
            await connection.execute(select(notifications).where(notifications.c.status == "held"))
        ).all()
    change_id = held[0].change_id
    approve = {"action": "approve", "note": ""}
    assert (await web.get(f"/changes/{change_id}")).status_code == 404  # readers cannot peek
    assert (await web.get("/review")).status_code == 303  # to the sign-in page
    assert (
        await web.post(f"/review/{change_id}", data=approve, headers=SAME_SITE)
    ).status_code == 403
    csrf = await signed_in(web, app)
    for headers, token in (
        (SAME_SITE, "wrong"),
        (SAME_SITE, ""),
        ({"Origin": "https://evil.example"}, csrf),
    ):
        answer = await web.post(
            f"/review/{change_id}", data={**approve, "csrf": token}, headers=headers
        )
        assert answer.status_code == 403, (headers, token)
    web.cookies.set(COOKIE, "a" * 43)  # a guessed session
    assert (
        await web.post(f"/review/{change_id}", data={**approve, "csrf": csrf}, headers=SAME_SITE)
    ).status_code == 403
    async with read_transaction(app.engine) as connection:
        still = (
            await connection.execute(select(notifications).where(notifications.c.status == "held"))
        ).all()
    assert len(still) == len(held)


async def test_guessing_a_password_locks_the_account_and_the_client(
    reviewed: tuple[App, Clock], web: httpx.AsyncClient
) -> None:
    app, clock = reviewed
    await signed_in(web, app)
    web.cookies.clear()
    wrong = {"email": EDITOR, "password": "not the passphrase"}
    for _ in range(5):
        answer = await web.post("/editor/sign-in", data=wrong, headers=SAME_SITE)
        assert answer.status_code == 401
    right = {"email": EDITOR, "password": PASSWORD}
    locked = await web.post("/editor/sign-in", data=right, headers=SAME_SITE)
    assert locked.status_code == 401, "the account waits after five wrong passwords"
    clock.advance(minutes=16)
    opened = await web.post("/editor/sign-in", data=right, headers=SAME_SITE)
    assert opened.status_code == 303
    for _ in range(10):
        await web.post("/editor/sign-in", data=wrong, headers=SAME_SITE)
    limited = await web.post("/editor/sign-in", data=right, headers=SAME_SITE)
    assert limited.status_code == 429, "ten tries a quarter of an hour from one client"
    unknown = {"email": "nobody@example.org", "password": PASSWORD}
    assert (await web.post("/editor/sign-in", data=unknown)).status_code == 403  # no Origin


async def test_a_change_waiting_too_long_reminds_the_editors_once(
    reviewed: tuple[App, Clock], web: httpx.AsyncClient
) -> None:
    app, clock = reviewed
    await signed_in(web, app)
    assert await remind(app) == 0  # not waiting long enough yet
    clock.advance(days=1, minutes=1)
    assert await remind(app) == 2
    assert await remind(app) == 0  # once
    async with read_transaction(app.engine) as connection:
        reminders = [m for m in await list_messages(connection) if m.recipient == EDITOR]
    assert [m.subject for m in reminders if "waiting" in m.subject] == [
        "2 changes waiting for review"
    ]


def test_review_settings_written_wrong_are_one_clear_line() -> None:
    from tests.configs import base, errors_of

    data = base()
    data["review"] = {"remind_after": "soon"}
    data["countries"][0]["review"] = "yes please"
    problems = errors_of(data)
    assert any(p.startswith("watcher.toml: review.remind_after:") for p in problems), problems
    assert any(p.startswith("watcher.toml: countries[0].review:") for p in problems), problems
    assert (
        timedelta(days=1) == build_config(base(), {}, Path("w.toml")).settings.review.remind_after
    )


async def test_an_editor_the_operator_allows_sees_who_will_be_told(
    reviewed: tuple[App, Clock], web: httpx.AsyncClient
) -> None:
    app, _ = reviewed
    await signed_in(web, app)
    async with write_transaction(app.engine) as connection:
        await invite(connection, EDITOR, app.clock(), see_subscribers=True)
    queue = await web.get("/review")
    [first, *_] = re.findall(r'href="/changes/(\d+)"', queue.text)
    page = await web.get(f"/changes/{first}")
    assert "daily@example.org, reader@example.org" in page.text


async def test_retention_leaves_what_waits_for_an_editor(reviewed: tuple[App, Clock]) -> None:
    from watcher.store.retention import prune
    from watcher.store.review import waiting

    app, clock = reviewed
    async with read_transaction(app.engine) as connection:
        before = [record.id for record in await waiting(connection)]
    assert len(before) == 2
    clock.advance(days=400)
    await prune(app.engine, now=clock.now, message_bodies=None, changes_after=timedelta(days=1))
    async with read_transaction(app.engine) as connection:
        after = [record.id for record in await waiting(connection)]
    assert after == before


async def test_request_logs_never_hold_an_invitation(
    reviewed: tuple[App, Clock], web: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    from watcher.web.editors import invitation_link

    app, _ = reviewed
    async with write_transaction(app.engine) as connection:
        editor, secret = await invite(connection, EDITOR, app.clock())
    with caplog.at_level(logging.INFO, logger="watcher.web"):
        await web.get(invitation_link(BASE, editor.id, secret).removeprefix(BASE))
    assert "GET /editor/password/<token> 200" in caplog.text
    assert secret not in caplog.text


async def test_a_reminder_that_breaks_holds_up_no_mail(
    reviewed: tuple[App, Clock], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The drain's reminders are their own error boundary: composing and delivering the
    readers' mail go on whatever happens to them."""
    from watcher.service import scheduler as scheduler_module
    from watcher.service.scheduler import Scheduler

    app, _ = reviewed

    async def broken(*_: object, **__: object) -> int:
        raise RuntimeError("a template error in the reminder")

    monkeypatch.setattr(scheduler_module, "remind_editors", broken)
    from watcher.notify.editors import invitation
    from watcher.store.notifications import add_message

    async with write_transaction(app.engine) as connection:
        composed = invitation(app.composer, EDITOR, f"{BASE}/x", timedelta(hours=1), app.clock())
        await add_message(connection, composed, kind="alert", subscriber_id=None, now=app.clock())
    await Scheduler(app).drain()
    async with read_transaction(app.engine) as connection:
        mine = [m for m in await list_messages(connection) if m.recipient == EDITOR]
    assert [m.status for m in mine] == ["sent"]


async def test_the_queue_puts_what_matters_most_first(
    reviewed: tuple[App, Clock], web: httpx.AsyncClient
) -> None:
    """Issue 28: the review queue sorts by significance, the oldest first among equals, on
    the page and in `watcher review list`; each item says its score and why."""
    from watcher.diff import diff_pages
    from watcher.diff.significance import significance
    from watcher.extract import Line, PageDocument
    from watcher.store.changes import NewChange, add_changes
    from watcher.store.review import waiting
    from watcher.store.schema import snapshots

    app, clock = reviewed

    def page(*texts: str) -> PageDocument:
        return PageDocument(tuple(Line(("Policy",), "text", text) for text in texts))

    kept = "Stockpile destruction was completed in 1999, ahead of its deadline."
    typo = diff_pages(
        page("Vietnam has not acceeded to the treaty.", kept),
        page("Vietnam has not acceded to the treaty.", kept),
    )
    acceded = diff_pages(
        page("Vietnam has not acceded to the treaty.", kept),
        page("Vietnam acceded to the treaty on 1 March 2026.", kept),
    )
    assert typo is not None
    assert acceded is not None
    async with write_transaction(app.engine) as connection:
        snapshot = (await connection.execute(select(snapshots.c.id).limit(1))).scalar_one()
        minor, major = await add_changes(
            connection,
            [
                NewChange("vn-profile", "VN", typo, snapshot, held=True),
                NewChange(
                    "vn-profile",
                    "VN",
                    acceded,
                    snapshot,
                    held=True,
                    scored=significance(acceded, ("accede",)),
                ),
            ],
            clock.now,
        )
    async with read_transaction(app.engine) as connection:
        queued = await waiting(connection)
    scores = [record.significance for record in queued]
    assert scores == sorted(scores, reverse=True)
    order = [record.id for record in queued]
    assert order.index(major) < order.index(minor)
    assert order[-1] == minor  # a spelling fix waits behind everything else

    await signed_in(web, app)
    queue = (await web.get("/review")).text
    shown = [int(n) for n in re.findall(r'class="entry review-item" id="change-(\d+)"', queue)]
    assert shown == order
    assert "only spelling or punctuation fixed" in queue
    assert "key terms: accede" in queue
