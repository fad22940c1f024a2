"""Several workers composing the outbox at once, on the real PostgreSQL: each subscriber gets
exactly one digest per period, carrying all of their news and never empty, and an immediate
email never goes out before its country has settled, even when news arrives in the middle
of composing. In-process workers on a clock the test moves, then three `watcher run`
processes."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from tests.conftest import Clock, write_config
from tests.plans import rows_read
from tests.servers import ScriptedServer, static
from tests.service import Running, start
from tests.smtp import PASSWORD, MailServer, free_port
from watcher.app import App, open_app
from watcher.check import run_pass
from watcher.loading import build_config
from watcher.notify import queue as composing
from watcher.notify.delivery import deliver
from watcher.notify.digest import period_end, period_key
from watcher.notify.queue import compose_pending
from watcher.store import read_transaction, write_transaction
from watcher.store.schema import changes, messages, notifications, subscribers

pytestmark = pytest.mark.postgres

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
READERS = 200
WORKERS = 3


def config(
    scripted: ScriptedServer, database: str, tmp_path: Path, frequency: str, readers: int = READERS
) -> Any:
    data = {
        "service": {"database": database},
        "mail": {"transport": "maildir", "maildir": str(tmp_path / "mail"), "settle": "2m"},
        "countries": [
            {
                "code": "VN",
                "name": "Vietnam",
                "sources": [{"id": "vn", "url": scripted.url("/vn.html")}],
            }
        ],
        "subscribers": [
            {"email": f"reader{n}@readers.example", "countries": ["VN"], "frequency": frequency}
            for n in range(readers)
        ],
    }
    return build_config(data, {}, tmp_path / "watcher.toml")


def publish(scripted: ScriptedServer, version: int) -> None:
    body = f"<html><body><h2>Policy</h2><p>Vietnam, version {version}.</p></body></html>"
    scripted.routes["/vn.html"] = static(body.encode())


async def workers(stack: AsyncExitStack, settings: Any, clock: Clock) -> list[App]:
    """WORKERS apps on one database, each with its own engine (its own connections)."""
    opened = [open_app(settings, clock=clock) for _ in range(WORKERS)]
    return [await stack.enter_async_context(app) for app in opened]


async def rows(app: App, query: Any) -> list[Any]:
    async with read_transaction(app.engine) as connection:
        return list((await connection.execute(query)).all())


@pytest.mark.parametrize("frequency", ["immediate", "daily"])
async def test_composing_reads_each_subscriber_once_not_once_per_batch(
    frequency: str, scripted: ScriptedServer, postgres_url: str, tmp_path: Path
) -> None:
    """A drain composes batch after batch of subscribers; each batch starts after the last
    one, instead of reading past everyone served already, and asks which countries are
    still settling off an index, instead of reading every pending notification."""
    readers = 4_000  # enough for PostgreSQL to plan with its indexes
    clock = Clock(START)
    publish(scripted, 0)
    settings = config(scripted, postgres_url, tmp_path, frequency, readers=readers)
    async with open_app(settings, clock=clock) as app:
        await run_pass(app, every=True)
        publish(scripted, 1)
        await run_pass(app, every=True)
        clock.advance(days=1, hours=1)  # the day's digest period has closed
        before = await rows_read(app, "subscribers", "notifications")
        queued = await compose_pending(app)  # with its settle window, as the service does
        read = await rows_read(app, "subscribers", "notifications") - before
    assert queued == readers
    # Once per batch was ~80 x 4,000 rows, and as many again for the notifications still
    # settling (588,000 measured). PostgreSQL may still scan a small table rather than use
    # an index (its cost model's choice): under 20 rows a reader in all.
    assert read < 20 * readers, f"{read} rows read to compose for {readers}"


async def test_delivering_reads_each_message_a_few_times_not_once_per_batch(
    scripted: ScriptedServer, postgres_url: str, tmp_path: Path
) -> None:
    """Each batch a delivery claims is checked for subscribers who left meanwhile; checking
    every queued message and every subscriber at each batch made a fan-out quadratic."""
    readers = 1_500
    publish(scripted, 0)
    settings = config(scripted, postgres_url, tmp_path, "immediate", readers=readers)
    async with open_app(settings) as app:
        await run_pass(app, every=True)
        publish(scripted, 1)
        await run_pass(app, every=True)
        assert await compose_pending(app, settle=timedelta(0)) == readers
        before = await rows_read(app, "messages", "subscribers")
        report = await deliver(app)
        read = await rows_read(app, "messages", "subscribers") - before
    assert report.sent == readers
    assert read < 10 * readers, f"{read} rows read to deliver {readers} messages"


async def test_three_workers_compose_one_complete_digest_each(
    scripted: ScriptedServer, postgres_url: str, tmp_path: Path
) -> None:
    clock = Clock(START)
    publish(scripted, 0)
    async with AsyncExitStack() as stack:
        apps = await workers(stack, config(scripted, postgres_url, tmp_path, "daily"), clock)
        await run_pass(apps[0], every=True)
        for day in range(1, 4):  # a change a day, three periods: three chances for a race
            clock.now = START + timedelta(days=day - 1, hours=2)
            publish(scripted, day)
            await run_pass(apps[0], every=True)
            clock.now = START + timedelta(days=day)  # the day's period has closed
            await asyncio.gather(*(compose_pending(app) for app in apps))
            await asyncio.gather(*(compose_pending(app) for app in apps))
            waiting = await rows(
                apps[0], select(func.count()).where(notifications.c.status == "pending")
            )
            assert waiting == [(0,)], f"day {day}: news pushed to the next period"
        per_reader = await rows(
            apps[0],
            select(messages.c.subscriber_id, func.count())
            .where(messages.c.kind == "digest")
            .group_by(messages.c.subscriber_id),
        )
        carried = await rows(
            apps[0],
            select(notifications.c.message_id, func.count())
            .where(notifications.c.status == "composed")
            .group_by(notifications.c.message_id),
        )
    assert len(per_reader) == READERS
    assert {count for _, count in per_reader} == {3}  # one digest a day each
    assert len(carried) == 3 * READERS  # every digest carries news...
    assert {count for _, count in carried} == {1}  # ...the day's change


async def test_news_arriving_while_composing_waits_for_its_settle(
    scripted: ScriptedServer, postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A country's immediate email waits until it has been quiet for `mail.settle`; the
    decision must be taken in the statement that picks the news, or news committed in
    between goes out at once."""
    clock = Clock(START)
    publish(scripted, 0)
    async with AsyncExitStack() as stack:
        [app, checker, _] = await workers(
            stack, config(scripted, postgres_url, tmp_path, "immediate"), clock
        )
        await run_pass(checker, every=True)
        clock.now = START + timedelta(hours=1)
        publish(scripted, 1)
        await run_pass(checker, every=True)  # news, which settles two minutes later
        clock.now = START + timedelta(hours=1, minutes=10)
        publish(scripted, 2)
        original = composing.subscribers_with_pending
        news = asyncio.Event()

        async def pass_in_between(*args: Any, **kwargs: Any) -> Any:
            found = await original(*args, **kwargs)
            if not news.is_set():
                news.set()
                await run_pass(checker, every=True)  # more news of Vietnam, committed now
            return found

        monkeypatch.setattr(composing, "subscribers_with_pending", pass_in_between)
        queued = await compose_pending(app)
        assert news.is_set()
        assert queued == 0  # Vietnam had news a moment ago: it has not settled
        clock.advance(minutes=3)
        assert await compose_pending(app) == READERS  # one email each, with both changes
        carried = await rows(
            app,
            select(notifications.c.message_id, func.count())
            .where(notifications.c.status == "composed")
            .group_by(notifications.c.message_id),
        )
    assert {count for _, count in carried} == {2}


def test_three_running_workers_send_one_complete_digest_per_period(
    scripted: ScriptedServer,
    mail_server: MailServer,
    postgres_url: str,
    tmp_path: Path,
    running: list[Running],
) -> None:
    """Three `watcher run` processes drain one outbox: each daily and weekly reader gets
    exactly one digest for the period that closed last, carrying all of their news from
    before its close, and nothing from the period still open."""
    people = [
        {"email": f"{frequency}{n}@readers.example", "countries": ["VN"], "frequency": frequency}
        for frequency in ("daily", "weekly")
        for n in range(READERS // 4)
    ]
    data: dict[str, Any] = {
        "service": {"database": postgres_url},
        "checks": {"interval": "6h", "jitter": "0s"},
        "mail": mail_server.settings(),
        "countries": [
            {
                "code": "VN",
                "name": "Vietnam",
                "sources": [{"id": "vn", "url": scripted.url("/vn.html")}],
            }
        ],
        "subscribers": people,
    }
    settings = build_config(data, {"WATCHER_MAIL__PASSWORD": PASSWORD}, tmp_path / "w.toml")
    mail = settings.settings.mail
    now = datetime.now(UTC)

    def closed(frequency: str) -> datetime:
        return period_end(
            now, frequency, zone="UTC", hour=mail.digest_hour, weekday=mail.digest_weekday
        )

    daily, weekly = closed("daily"), closed("weekly")
    news = [  # (when, version): two changes before the periods closed, one after
        (weekly - timedelta(days=1), 1),
        (daily - timedelta(hours=1), 2),
        (daily + (now - daily) / 2, 3),
    ]

    async def seed() -> None:
        clock = Clock(weekly - timedelta(days=2))
        publish(scripted, 0)
        async with open_app(settings, clock=clock) as app:
            await run_pass(app, every=True)  # the baseline
            for when, version in news:
                clock.now = when
                publish(scripted, version)
                await run_pass(app, every=True)

    asyncio.run(seed())
    workers = []
    for n in range(WORKERS):
        here = {**data, "service": {**data["service"], "listen": f"127.0.0.1:{free_port()}"}}
        (tmp_path / f"w{n}").mkdir()
        workers.append(start(write_config(tmp_path / f"w{n}", here)))
    running.extend(workers)

    async def digests() -> list[Any]:
        async with open_app(settings) as app:
            return await rows(
                app,
                select(messages.c.recipient, messages.c.period, messages.c.status).where(
                    messages.c.kind == "digest"
                ),
            )

    workers[0].wait_for(
        lambda: sum(row.status == "sent" for row in asyncio.run(digests())) >= len(people),
        timeout=60,
        what="every reader's digest to be sent",
    )
    time.sleep(12)  # two more drains by each worker: no second digest appears
    assert all(worker.stop()[0] == 0 for worker in workers)

    sent = asyncio.run(digests())
    assert len(sent) == len(people)
    assert {(row.recipient, row.status) for row in sent} == {
        (person["email"], "sent") for person in people
    }
    assert {row.period for row in sent} == {
        period_key("daily", daily),
        period_key("weekly", weekly),
    }
    by_reader = Counter(recipient for item in mail_server.received for recipient in item.recipients)
    assert set(by_reader.values()) == {1}

    async def carried() -> dict[str, list[int]]:
        """For each reader, the versions their digest carried."""
        async with open_app(settings) as app:
            found = await rows(
                app,
                select(subscribers.c.email, notifications.c.status, changes.c.detected_at)
                .join(subscribers, subscribers.c.id == notifications.c.subscriber_id)
                .join(changes, changes.c.id == notifications.c.change_id),
            )
        versions = {when: version for when, version in news}
        by_email: dict[str, list[int]] = {}
        for row in found:
            if row.status == "composed":
                by_email.setdefault(row.email, []).append(versions[row.detected_at])
        return by_email

    expected_weekly = sorted(v for when, v in news if when < weekly)
    composed = asyncio.run(carried())
    assert len(composed) == len(people)
    for email, versions in composed.items():
        assert sorted(versions) == ([1, 2] if email.startswith("daily") else expected_weekly)


async def test_news_for_a_reader_who_left_after_it_was_composed_is_cancelled(
    scripted: ScriptedServer, postgres_url: str, tmp_path: Path
) -> None:
    """Composed, queued, then its reader unsubscribed: the message is cancelled as its
    batch is claimed, never sent; the others go out."""
    publish(scripted, 0)
    settings = config(scripted, postgres_url, tmp_path, "immediate", readers=3)
    async with open_app(settings) as app:
        await run_pass(app, every=True)
        publish(scripted, 1)
        await run_pass(app, every=True)
        assert await compose_pending(app, settle=timedelta(0)) == 3
        async with write_transaction(app.engine) as connection:
            await connection.execute(
                update(subscribers)
                .where(subscribers.c.email == "reader1@readers.example")
                .values(status="unsubscribed")
            )
        report = await deliver(app)
        outcome = await rows(
            app, select(messages.c.recipient, messages.c.status, messages.c.last_error)
        )
    assert report.sent == 2
    by_recipient = {row.recipient: (row.status, row.last_error) for row in outcome}
    assert by_recipient["reader1@readers.example"] == (
        "cancelled",
        "the subscriber is no longer active",
    )
    assert {status for status, _ in by_recipient.values()} == {"sent", "cancelled"}


async def test_drains_read_nothing_of_the_news_digest_readers_wait_for(
    scripted: ScriptedServer, postgres_url: str, tmp_path: Path
) -> None:
    """4,000 daily readers with the day's news pending: the service drains every few
    seconds, and each drain once the day's first has read none of it: not the immediate
    part (other readers' news), not the digest of a period already composed, not a sweep
    for readers who left. Each drain walked all of it, twice or three times over, before."""
    readers = 4_000
    clock = Clock(START)
    publish(scripted, 0)
    settings = config(scripted, postgres_url, tmp_path, "daily", readers=readers)
    async with open_app(settings, clock=clock) as app:
        await run_pass(app, every=True)
        publish(scripted, 1)
        await run_pass(app, every=True)
        clock.advance(minutes=10)
        assert await compose_pending(app) == 0  # the day's period is open: nothing to send
        before = await rows_read(app, "subscribers", "notifications")
        for _ in range(3):
            clock.advance(seconds=5)
            assert await compose_pending(app) == 0
        read = await rows_read(app, "subscribers", "notifications") - before
        assert read < 100, f"{read} rows read by three drains with nothing to send"
        clock.advance(days=1)  # the period closes: every reader gets the day's news
        assert await compose_pending(app) == readers
