"""Claims on messages are the same short, renewed, fenced leases as claims on sources: a
delivery keeps its batch's claims alive while it sends, a worker that died on another host
lets its messages go within about a minute, and a delivery whose lease lapsed mid-send
writes nothing over the worker that took the message over, except the fact that it went
out."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from tests.mailing import queue_notes
from tests.smtp import PASSWORD, MailServer
from watcher.app import App, open_app
from watcher.loading import build_config
from watcher.notify import delivery as mailer
from watcher.notify.delivery import deliver
from watcher.store import read_transaction, write_transaction
from watcher.store.schema import messages

ELSEWHERE = "elsewhere:1:abc"  # a worker on another host


def settings(database: str, server: MailServer, tmp_path: Path, **mail: Any) -> Any:
    data = {
        "service": {"database": database},
        "mail": {**server.settings(), **mail},
        "countries": [
            {
                "code": "VN",
                "name": "Vietnam",
                "sources": [{"id": "p", "url": "https://example.org/p.html"}],
            }
        ],
    }
    return build_config(data, {"WATCHER_MAIL__PASSWORD": PASSWORD}, tmp_path / "watcher.toml")


async def the_messages(app: App) -> list[Any]:
    async with read_transaction(app.engine) as connection:
        return list((await connection.execute(select(messages).order_by(messages.c.id))).all())


async def take_over(app: App) -> None:
    """Another worker's claim on every message: what it holds after our lease lapsed."""
    until = datetime.now(UTC) + timedelta(minutes=10)
    async with write_transaction(app.engine) as connection:
        await connection.execute(update(messages).values(claimed_by=ELSEWHERE, claimed_until=until))


async def test_the_claims_on_a_batch_are_renewed_while_it_is_sent(
    each_database: str, mail_server: MailServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lease is short; a batch that takes longer than one to send keeps its claims."""
    monkeypatch.setattr(mailer, "delivery_lease", lambda app: timedelta(seconds=1.5))
    mail_server.sink.delay = 1.0  # three messages in one batch: three seconds
    async with open_app(settings(each_database, mail_server, tmp_path)) as app:
        await queue_notes(app, 3)
        sending = asyncio.create_task(deliver(app))
        await asyncio.sleep(2.5)  # past the first lease: only a renewal keeps the claim
        rows = await the_messages(app)
        waiting = [row for row in rows if row.status == "queued"]
        assert waiting, "the batch was sent before the lease ran out: the test proves nothing"
        assert all(row.claimed_by == app.worker for row in waiting)
        assert all(row.claimed_until > app.clock() for row in waiting)
        report = await sending
    assert (report.sent, report.retrying) == (3, 0)
    assert len(mail_server.received) == 3


async def test_a_delivery_that_lost_its_claim_leaves_the_new_holders_record(
    each_database: str, mail_server: MailServer, tmp_path: Path
) -> None:
    """The server refused for now (451) while the claim was taken over: the retry is not
    recorded (the new holder decides), and its claim stays."""
    mail_server.sink.delay = 1.0
    mail_server.sink.data_replies = ["451 4.3.0 Try again later"]
    async with open_app(settings(each_database, mail_server, tmp_path)) as app:
        await queue_notes(app, 1)
        sending = asyncio.create_task(deliver(app))
        await asyncio.sleep(0.5)
        await take_over(app)
        report = await sending
        [row] = await the_messages(app)
    assert report.retrying == 0
    assert (row.status, row.claimed_by, row.attempts, row.last_error) == (
        "queued",
        ELSEWHERE,
        0,
        None,
    )


async def test_a_message_that_went_out_is_recorded_whoever_holds_it(
    each_database: str, mail_server: MailServer, tmp_path: Path
) -> None:
    """The server accepted the message after the claim was taken over: that it went out is
    recorded, so the new holder's next delivery does not send it once more."""
    mail_server.sink.delay = 1.0
    async with open_app(settings(each_database, mail_server, tmp_path)) as app:
        await queue_notes(app, 1)
        sending = asyncio.create_task(deliver(app))
        await asyncio.sleep(0.5)
        await take_over(app)
        report = await sending
        [row] = await the_messages(app)
    assert report.sent == 1
    assert (row.status, row.attempts) == ("sent", 1)
    assert len(mail_server.received) == 1


async def test_a_message_lease_is_about_a_minute_not_a_batch_of_timeouts(
    each_database: str, mail_server: MailServer, tmp_path: Path
) -> None:
    """What a worker that died on another host leaves behind comes back within a minute."""
    config = settings(each_database, mail_server, tmp_path, batch_size=100, timeout="20s")
    mail_server.sink.delay = 0.5
    async with open_app(config) as app:
        await queue_notes(app, 2)
        sending = asyncio.create_task(deliver(app))
        rows = await the_messages(app)
        while not any(row.claimed_by for row in rows) and not sending.done():
            await asyncio.sleep(0.05)  # the claim, however slow the machine is to make it
            rows = await the_messages(app)
        await sending
    [until] = {row.claimed_until for row in rows if row.claimed_by}
    if until.tzinfo is None:
        until = until.replace(tzinfo=UTC)
    assert until - app.clock() <= timedelta(seconds=61)
