"""Digests: periods in the operator's time zone, one email per period, never twice."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from tests.conftest import Clock
from tests.mailing import cycle, mail_config
from tests.servers import ScriptedServer, static
from tests.smtp import MailServer
from watcher.app import open_app
from watcher.check import run_pass
from watcher.demo.site import SiteServer
from watcher.loading import build_config
from watcher.notify.delivery import deliver
from watcher.notify.digest import period_end, period_key
from watcher.notify.queue import compose_pending
from watcher.store import write_transaction
from watcher.store.schema import notifications
from watcher.store.subscribers import change_subscription, find_subscriber

PARIS = ZoneInfo("Europe/Paris")


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS).astimezone(UTC)


def digest_config(site: SiteServer, server: MailServer, tmp_path: Path, frequency: str) -> Any:
    person = {"email": "desk@readers.example", "countries": ["VN", "LA"], "frequency": frequency}
    return mail_config(
        site,
        server,
        tmp_path,
        [person],
        service={"timezone": "Europe/Paris"},
        digest_hour=7,
        digest_weekday="friday",
    )


async def test_a_day_of_changes_in_two_countries_is_one_email(
    site: SiteServer, mail_server: MailServer, tmp_path: Path
) -> None:
    clock = Clock(paris(2026, 3, 2, 9, 0))  # a Monday morning in Paris
    config = digest_config(site, mail_server, tmp_path, "daily")
    async with open_app(config, clock=clock) as app:
        await cycle(app, site, "r1")
        clock.advance(hours=3)
        await cycle(app, site, "r2")  # Vietnam and Lao PDR change at noon
        assert mail_server.received == []  # no digest before the period closes
        clock.now = paris(2026, 3, 3, 6, 59)
        assert (await cycle(app, site)).attempted == 0
        clock.now = paris(2026, 3, 3, 7, 1)
        report = await cycle(app, site)
        assert report.sent == 1
    [digest] = [item.message for item in mail_server.received]
    assert str(digest["Subject"]) == "Daily digest, 3 March 2026: Vietnam, Lao PDR"
    body = digest.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "#### Vietnam" in body
    assert "#### Lao PDR" in body
    assert "Mine Ban Policy" in body
    assert "as a daily digest" in body
    assert digest["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    clock.now = paris(2026, 3, 3, 7, 5)  # a restart in the same period sends nothing again
    async with open_app(config, clock=clock) as app:
        assert (await cycle(app, site)).attempted == 0
        clock.now = paris(2026, 3, 4, 7, 1)  # a day without changes sends nothing
        assert (await cycle(app, site, "r3")).attempted == 0
    assert len(mail_server.received) == 1


async def test_a_weekly_digest_waits_for_its_weekday(
    site: SiteServer, mail_server: MailServer, tmp_path: Path
) -> None:
    clock = Clock(paris(2026, 3, 2, 9, 0))  # Monday
    config = digest_config(site, mail_server, tmp_path, "weekly")
    async with open_app(config, clock=clock) as app:
        await cycle(app, site, "r1")
        clock.advance(hours=1)
        await cycle(app, site, "r2")
        for day in (3, 4, 5):  # Tuesday to Thursday: nothing yet
            clock.now = paris(2026, 3, day, 8, 0)
            assert (await cycle(app, site)).attempted == 0
        clock.now = paris(2026, 3, 6, 7, 30)  # Friday after 07:00
        assert (await cycle(app, site)).sent == 1
        clock.now = paris(2026, 3, 6, 18, 0)
        assert (await cycle(app, site)).attempted == 0
    assert str(mail_server.received[0].message["Subject"]).startswith("Weekly digest, 6 March 2026")


def test_period_ends_follow_the_local_clock_across_daylight_saving() -> None:
    zone = "Europe/Paris"
    # Summer time starts on 29 March 2026: 07:00 local is 05:00 UTC after, 06:00 UTC before.
    before = period_end(paris(2026, 3, 28, 12, 0), "daily", zone=zone, hour=7, weekday="monday")
    after = period_end(paris(2026, 3, 29, 12, 0), "daily", zone=zone, hour=7, weekday="monday")
    assert before == datetime(2026, 3, 28, 6, 0, tzinfo=UTC)
    assert after == datetime(2026, 3, 29, 5, 0, tzinfo=UTC)
    early = period_end(paris(2026, 3, 28, 6, 0), "daily", zone=zone, hour=7, weekday="monday")
    assert early == datetime(2026, 3, 27, 6, 0, tzinfo=UTC)
    weekly = period_end(paris(2026, 3, 4, 12, 0), "weekly", zone=zone, hour=7, weekday="monday")
    assert weekly == paris(2026, 3, 2, 7, 0)
    assert period_key("daily", after) == "daily:2026-03-29T05:00Z"


@pytest.mark.parametrize("hour", [0, 23])
def test_period_end_is_never_in_the_future(hour: int) -> None:
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    for frequency in ("daily", "weekly"):
        end = period_end(now, frequency, zone="Pacific/Auckland", hour=hour, weekday="sunday")
        assert end <= now
        assert (now - end).days < (7 if frequency == "weekly" else 1)


async def test_a_reader_who_changes_frequency_takes_their_pending_news_along(
    site: SiteServer, mail_server: MailServer, tmp_path: Path
) -> None:
    """Daily with the morning's news pending, then "as soon as something changes" on the
    manage page: the news goes out at the next drain, not with a digest nobody will
    compose; and back to daily, the next news waits for the digest."""
    clock = Clock(paris(2026, 3, 2, 9, 0))
    config = digest_config(site, mail_server, tmp_path, "daily")
    async with open_app(config, clock=clock) as app:
        await cycle(app, site, "r1")
        clock.advance(hours=1)
        await cycle(app, site, "r2")
        assert mail_server.received == []
        async with write_transaction(app.engine) as connection:
            reader = await find_subscriber(connection, "desk@readers.example")
            assert reader is not None
            await change_subscription(
                connection, reader, countries=["VN", "LA"], frequency="immediate", now=clock()
            )
        clock.advance(minutes=5)  # past the settle window
        assert (await cycle(app, site)).sent == 2  # one email per country, as ever
        subjects = [str(item.message["Subject"]) for item in mail_server.received]
        assert not subjects[0].startswith("Daily digest"), subjects

        async with write_transaction(app.engine) as connection:
            reader = await find_subscriber(connection, "desk@readers.example")
            assert reader is not None
            await change_subscription(
                connection, reader, countries=["VN", "LA"], frequency="daily", now=clock()
            )
        clock.advance(hours=1)
        await cycle(app, site, "r3")
        clock.advance(minutes=5)
        await cycle(app, site, "r1")  # back to the first revision: news, for the digest
        assert len(mail_server.received) == 2
        clock.now = paris(2026, 3, 3, 7, 1)
        assert (await cycle(app, site)).sent == 1
    assert str(mail_server.received[2].message["Subject"]).startswith("Daily digest")


async def test_news_whose_frequency_fell_out_of_step_still_reaches_its_reader(
    site: SiteServer, mail_server: MailServer, tmp_path: Path
) -> None:
    """Pending news tagged with a frequency its reader no longer has (a change made around
    the retagging, say, by hand in the database) is found and retagged by a drain."""
    clock = Clock(paris(2026, 3, 2, 9, 0))
    config = digest_config(site, mail_server, tmp_path, "immediate")
    async with open_app(config, clock=clock) as app:
        await cycle(app, site, "r1")
        clock.advance(hours=1)
        site.revision = "r2"
        await run_pass(app, every=True)  # the news is pending, not composed yet
        async with write_transaction(app.engine) as connection:
            await connection.execute(
                update(notifications)
                .where(notifications.c.status == "pending")
                .values(frequency="weekly")
            )
        clock.now = paris(2026, 3, 6, 7, 30)  # the weekly digest's day: its walk finds them
        assert (await cycle(app, site)).sent == 0  # retagged "immediate" ...
        clock.advance(minutes=5)
        assert (await cycle(app, site)).sent == 2  # ... and sent by the next drain


NET = Path(__file__).parent / "corpus" / "page-net-change"  # A, B (a test edit), C


def corpus_page(revision: str) -> bytes:
    return (NET / f"{revision}.html").read_bytes()


async def test_a_digest_tells_each_page_once_as_its_net_change(
    scripted: ScriptedServer, tmp_path: Path
) -> None:
    """Issue 28: A → B → C in one period reads A → C, with the dates, not one entry per
    change; and A → B → A tells nothing of that page."""
    from tests.test_follows import inbox, text_of

    scripted.routes["/vn"] = static(corpus_page("r1"))
    scripted.routes["/la"] = static(corpus_page("r1"))
    data = {
        "service": {"database": f"sqlite:///{tmp_path / 'w.db'}", "timezone": "Europe/Paris"},
        "mail": {"transport": "maildir", "maildir": str(tmp_path / "mail"), "digest_hour": 7},
        "countries": [
            {"code": "VN", "name": "Viet Nam", "sources": [
                {"id": "vn", "url": scripted.url("/vn"), "select": "#content"}]},
            {"code": "LA", "name": "Lao PDR", "sources": [
                {"id": "la", "url": scripted.url("/la"), "select": "#content"}]},
        ],
        "subscribers": [{"email": "daily@example.org", "countries": ["VN", "LA"],
                         "frequency": "daily"}],
    }  # fmt: skip
    clock = Clock(paris(2026, 3, 2, 8, 0))
    async with open_app(build_config(data, {}, tmp_path / "w.toml"), clock=clock) as app:
        await run_pass(app, every=True)  # A: what the reader knows
        for hour, vn, la in (
            (9, corpus_page("r2"), corpus_page("r3")),
            (13, corpus_page("r3"), corpus_page("r1")),  # Lao PDR back to what the reader knew
        ):
            clock.now = paris(2026, 3, 2, hour, 0)
            scripted.routes["/vn"] = static(vn)
            scripted.routes["/la"] = static(la)
            await run_pass(app, every=True)
        clock.now = paris(2026, 3, 3, 7, 1)
        await compose_pending(app)
        await deliver(app)
    [digest] = inbox(tmp_path / "mail")["daily@example.org"]
    body = text_of(digest)
    assert body.count("== Viet Nam: ") == 1  # the page once
    assert "In 2011, [-56-]{+58+} people were killed" in body  # A → C
    assert "57 people" not in body
    assert "Casualties: 56 → 57" not in body
    assert "TEST EDIT" not in body  # B came and went within the period
    assert "Changed 2 times between 2 March, 09:00 and 2 March, 13:00" in body
    assert "#### Lao PDR" not in body  # A → B → A: nothing to tell of it
    assert "== Lao PDR" not in body
    html = text_of(digest, "html")
    assert re.search(r"<del[^>]*>56</del><ins[^>]*>58</ins>", html)
    assert "Changed 2 times between 2 March, 09:00 and 2 March, 13:00" in html
