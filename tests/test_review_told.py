"""Review done right (issue 27): what readers are told is the difference between what they
were last told and what is approved now. A discarded change's text never reaches a reader,
through the email, the change page or the Atom feed, and the editor reviews what will be
sent: approve A; discard B (a test edit); approve C (the test edit reverted, a figure
corrected): C says the figure changed, and nothing of B."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import Clock, web_client
from tests.servers import ScriptedServer, static
from watcher.app import App, open_app
from watcher.check import run_pass
from watcher.config import Config
from watcher.loading import build_config
from watcher.notify import review
from watcher.notify.queue import compose_pending
from watcher.store import read_transaction
from watcher.store.changes import ChangeRecord
from watcher.store.messages import list_messages
from watcher.store.review import waiting

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
EDITOR = "desk@monitor.example"
TEST_EDIT = "TEST EDIT please ignore this paragraph"


def profile(casualties: int, *extra: str) -> bytes:
    paragraphs = "".join(f"<p>{text}</p>" for text in extra)
    return (
        "<html><head><title>Viet Nam</title></head><body><div id='content'>"
        "<h2>Casualties</h2>"
        f"<p>In 2011, {casualties} people were killed or injured by mines.</p>{paragraphs}"
        "<h2>Mine Ban Policy</h2><p>Viet Nam has not joined the Mine Ban Treaty.</p>"
        "</div></body></html>"
    ).encode()


def reviewed_config(tmp_path: Path, source: dict[str, str]) -> Config:
    """Viet Nam reviewed, with one source and one reader, mail into a maildir."""
    data = {
        "service": {"database": f"sqlite:///{tmp_path / 'w.db'}"},
        "mail": {"transport": "maildir", "maildir": str(tmp_path / "mail")},
        "countries": [{"code": "VN", "name": "Viet Nam", "review": True, "sources": [source]}],
        "subscribers": [{"email": "reader@example.org", "countries": ["VN"]}],
    }
    return build_config(data, {}, tmp_path / "watcher.toml")


@pytest.fixture
async def desk(scripted: ScriptedServer, tmp_path: Path) -> AsyncIterator[tuple[App, Clock]]:
    scripted.routes["/vn"] = static(profile(56))
    source = {"id": "vn", "url": scripted.url("/vn"), "select": "#content"}
    clock = Clock(START)
    async with open_app(reviewed_config(tmp_path, source), clock=clock) as app:
        await run_pass(app, every=True)  # the baseline: what readers know
        yield app, clock


async def change_of(app: App, scripted: ScriptedServer, clock: Clock, body: bytes) -> int:
    scripted.routes["/vn"] = static(body)
    clock.advance(hours=7)
    result = await run_pass(app, every=True)
    [outcome] = result.outcomes
    assert outcome.status == "changed", outcome.detail
    assert outcome.change_id is not None
    return outcome.change_id


async def decide(app: App, change_id: int, *, approve: bool, editor: str, note: str | None) -> bool:
    deadline = app.settings.checks.extract_timeout.total_seconds()
    return await review.decide(
        app.engine,
        app.extraction,
        change_id,
        approve=approve,
        editor=editor,
        note=note,
        now=app.clock(),
        deadline=deadline,
        terms=app.config.key_terms,
    )


async def emails(app: App) -> list[str]:
    await compose_pending(app, settle=timedelta(0))
    async with read_transaction(app.engine) as connection:
        found = await list_messages(connection, limit=100)
    return [m.body.decode("utf-8", "replace").replace("=\r\n", "") for m in found]


async def test_a_discarded_edit_never_reaches_a_reader(
    desk: tuple[App, Clock], scripted: ScriptedServer
) -> None:
    app, clock = desk
    a = await change_of(app, scripted, clock, profile(57))
    assert await decide(app, a, approve=True, editor=EDITOR, note=None)
    told = await emails(app)
    assert len(told) == 1
    assert "57" in told[0]

    b = await change_of(app, scripted, clock, profile(57, TEST_EDIT))
    assert await decide(app, b, approve=False, editor=EDITOR, note="a test edit")
    c = await change_of(app, scripted, clock, profile(58))

    # What the editor reviews is what will be sent: C from what readers were last told (A).
    async with read_transaction(app.engine) as connection:
        [queued] = await waiting(connection)
    assert queued.id == c
    assert "TEST EDIT" not in repr(queued.change.to_json())
    assert "58" in repr(queued.change.to_json())

    assert await decide(app, c, approve=True, editor=EDITOR, note=None)
    mail = await emails(app)
    assert len(mail) == 2
    assert "58" in mail[1]
    assert "TEST EDIT" not in mail[1]  # not even struck through
    async with web_client(app) as http:
        page = await http.get(f"/changes/{c}")
        atom = await http.get("/changes.atom")
        log = await http.get("/changes")
    assert page.status_code == 200
    assert "58" in page.text
    for text in (page.text, atom.text, log.text):
        assert "TEST EDIT" not in text


async def test_a_change_that_only_undoes_a_discarded_one_tells_nobody(
    desk: tuple[App, Clock], scripted: ScriptedServer
) -> None:
    app, clock = desk
    b = await change_of(app, scripted, clock, profile(56, TEST_EDIT))
    c = await change_of(app, scripted, clock, profile(56))  # the test edit taken back
    assert await decide(app, b, approve=False, editor=EDITOR, note="a test edit")
    async with read_transaction(app.engine) as connection:
        assert await waiting(connection) == []  # nothing left to review, nor to tell
    assert not await decide(app, c, approve=True, editor=EDITOR, note=None)
    assert await emails(app) == []


async def test_approving_a_later_change_covers_the_earlier_ones_still_waiting(
    desk: tuple[App, Clock], scripted: ScriptedServer
) -> None:
    app, clock = desk
    b = await change_of(app, scripted, clock, profile(57))
    c = await change_of(app, scripted, clock, profile(58))
    assert await decide(app, c, approve=True, editor=EDITOR, note=None)
    async with read_transaction(app.engine) as connection:
        assert await waiting(connection) == []  # b is superseded: c told it all
    mail = await emails(app)
    assert len(mail) == 1  # one email, from what readers knew (56) to 58
    assert "56" in mail[0]
    assert "58" in mail[0]
    assert not await decide(app, b, approve=True, editor=EDITOR, note=None)


def feed(*titles: str) -> bytes:
    items = "".join(
        f"<item><title>{title}</title><link>https://monitor.example/{n}</link>"
        f"<guid>https://monitor.example/{n}</guid><description>{title}</description></item>"
        for n, title in enumerate(titles)
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Viet Nam news</title>'
        f"<link>https://monitor.example/</link><description>news</description>{items}"
        "</channel></rss>"
    ).encode()


async def test_a_discarded_feed_item_is_never_news_again(
    scripted: ScriptedServer, tmp_path: Path
) -> None:
    """A feed's changes are news items: the discarded one stays dropped while the feed keeps
    it, and the next item comes alone (a page's discarded text, by contrast, is compared
    past)."""
    scripted.routes["/news"] = static(feed("Old news"), "application/rss+xml")
    source = {"id": "vn-news", "url": scripted.url("/news"), "kind": "feed"}
    clock = Clock(START)
    async with open_app(reviewed_config(tmp_path, source), clock=clock) as app:
        await run_pass(app, every=True)

        async def next_news(body: bytes) -> ChangeRecord:
            scripted.routes["/news"] = static(body, "application/rss+xml")
            clock.advance(hours=7)
            await run_pass(app, every=True)
            async with read_transaction(app.engine) as connection:
                [queued] = await waiting(connection)
            return queued

        rumour = await next_news(feed("Old news", "A rumour"))
        assert await decide(app, rumour.id, approve=False, editor=EDITOR, note="no")
        ratified = await next_news(feed("Old news", "A rumour", "Ratified"))
        assert "Ratified" in repr(ratified.change.to_json())
        assert "A rumour" not in repr(ratified.change.to_json())
        assert await decide(app, ratified.id, approve=True, editor=EDITOR, note=None)
        mail = await emails(app)
    assert len(mail) == 1
    assert "Ratified" in mail[0]
    assert "A rumour" not in mail[0]
