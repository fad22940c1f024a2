"""Channels (`notify/channels/`): a webhook subscriber declared in the configuration, its URL
and secret from the environment, fed through the outbox like email, against a receiver on
127.0.0.1 that checks each signature and drops repeats by their idempotency key."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select

from tests.configs import base, errors_of
from tests.conftest import Clock, demo_data
from tests.mailing import cycle
from tests.servers import ScriptedServer, reply
from watcher.app import open_app
from watcher.config import ConfigError
from watcher.config.model import check_email
from watcher.demo.site import SiteServer
from watcher.loading import build_config
from watcher.render.json import subscriber_json
from watcher.store import create_engine, migrate, read_transaction, write_transaction
from watcher.store.schema import messages, subscribers
from watcher.store.subscribers import list_subscribers

SECRET = "webhook-secret-0123456789abcdef"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Receiver:
    """A webhook endpoint: answers with `status` (and `headers`) while they are set, checks
    every signature, and keeps each delivery once by its Idempotency-Key."""

    def __init__(self, scripted: ScriptedServer) -> None:
        self.scripted = scripted
        self.status = 200
        self.headers: dict[str, str] = {}
        self.kept: dict[str, dict[str, Any]] = {}
        self.repeats = 0
        scripted.routes["/hook"] = self.answer

    @property
    def url(self) -> str:
        return self.scripted.url("/hook")

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        body: bytes = handler.body  # type: ignore[attr-defined]
        stamp, mac = dict(
            part.split("=", 1) for part in handler.headers["Watcher-Signature"].split(",")
        ).values()
        expected = hmac.new(SECRET.encode(), f"{stamp}.".encode() + body, hashlib.sha256)
        assert hmac.compare_digest(mac, expected.hexdigest()), "a bad signature"
        assert abs(time.time() - int(stamp)) < 300, "an old signature"
        if self.status >= 300:
            reply(handler, self.status, b"no", "text/plain", self.headers)
            return
        key = handler.headers["Idempotency-Key"]
        if key in self.kept:
            self.repeats += 1
        else:
            self.kept[key] = json.loads(body)
        reply(handler, 200, b"{}", "application/json")

    @property
    def posts(self) -> int:
        return sum(1 for seen in self.scripted.seen if seen.method == "POST")


@pytest.fixture
def receiver(scripted: ScriptedServer) -> Receiver:
    return Receiver(scripted)


def channel_config(
    site: SiteServer,
    receiver: Receiver,
    tmp_path: Path,
    frequency: str = "immediate",
    url: str | None = None,
) -> Any:
    data = demo_data(site, f"sqlite:///{tmp_path / 'w.db'}")
    data["subscribers"] = [{"channel": "ops", "countries": ["VN"], "frequency": frequency}]
    data.setdefault("mail", {}).update(
        hard_bounce_limit=2, transport="maildir", maildir=str(tmp_path / "mail")
    )
    environ = {"WATCHER_CHANNEL_OPS": url or receiver.url, "WATCHER_CHANNEL_OPS_SECRET": SECRET}
    return build_config(data, environ, tmp_path / "watcher.toml")


async def outbox(app: Any) -> list[Any]:
    async with read_transaction(app.engine) as connection:
        return list((await connection.execute(select(messages))).all())


async def test_a_change_reaches_the_webhook_signed_once(
    site: SiteServer,
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    config = channel_config(site, receiver, tmp_path)
    async with open_app(config) as app:
        await cycle(app, site, "r1")
        report = await cycle(app, site, "r2")
        assert report.sent == 1
        (row,) = await outbox(app)
    (payload,) = receiver.kept.values()
    assert payload["version"] == 1
    assert payload["event"] == "change"
    assert payload["country"] == {"code": "VN", "name": "Vietnam"}
    sources = {change["source_id"] for change in payload["changes"]}
    assert sources == {"vn-profile", "vn-news"}
    profile = next(c for c in payload["changes"] if c["source_id"] == "vn-profile")
    assert profile["change"]["kind"] == "page"
    assert profile["web_url"].endswith(f"/changes/{profile['id']}")
    assert row.recipient == "channel:ops"  # the name, never the URL
    assert receiver.url not in json.dumps([str(value) for value in row])


async def test_a_channels_subscriber_has_its_name_in_a_column_of_its_own(
    site: SiteServer, receiver: Receiver, tmp_path: Path
) -> None:
    config = channel_config(site, receiver, tmp_path)
    async with open_app(config) as app, read_transaction(app.engine) as connection:
        row = (await connection.execute(select(subscribers))).one()
        (reader,) = await list_subscribers(connection)
    assert (row.email, row.channel, row.email_key) == ("", "ops", "channel:ops")
    assert (reader.email, reader.channel, reader.address) == ("", "ops", "channel:ops")
    assert subscriber_json(reader)["email"] == "channel:ops"  # as `--json` always said
    assert subscriber_json(reader)["channel"] == "ops"


async def test_an_older_database_moves_channel_names_out_of_the_address(
    each_database: str,
) -> None:
    """Upgrading (migration 0017): `channel:NAME` in `email` becomes `channel` = NAME."""
    from alembic import command

    from watcher.store.migrate import alembic_config

    def to_0016(connection: Any) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, "0016")

    now = datetime(2026, 11, 1, tzinfo=UTC)
    engine = create_engine(each_database)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(to_0016)
        async with write_transaction(engine) as connection:
            for address in ("channel:ops", "reader@example.org"):
                await connection.execute(
                    insert(subscribers).values(
                        email=address,
                        email_key=address.lower(),
                        status="active",
                        origin="config",
                        token=address,
                        hard_bounces=0,
                        created_at=now,
                        updated_at=now,
                    )
                )
        await migrate(engine)
        async with engine.connect() as connection:
            query = select(subscribers.c.email, subscribers.c.channel, subscribers.c.email_key)
            rows = sorted((await connection.execute(query)).all())
    finally:
        await engine.dispose()
    assert [tuple(row) for row in rows] == [
        ("", "ops", "channel:ops"),
        ("reader@example.org", None, "reader@example.org"),
    ]


async def test_trouble_is_retried_with_backoff_and_a_repeat_is_dropped_by_its_key(
    site: SiteServer,
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    clock = Clock(START)
    config = channel_config(site, receiver, tmp_path)
    async with open_app(config, clock=clock) as app:
        await cycle(app, site, "r1")
        receiver.status = 500
        report = await cycle(app, site, "r2")
        assert (report.sent, report.retrying) == (0, 1)
        receiver.status, receiver.headers = 429, {"Retry-After": "3600"}
        clock.advance(minutes=5)
        assert (await cycle(app, site)).retrying == 1
        (row,) = await outbox(app)
        assert row.last_error == "channel ops: HTTP 429 Too Many Requests"
        assert row.next_attempt_at >= clock() + timedelta(minutes=59)  # as the receiver asked
        receiver.status, receiver.headers = 200, {}
        clock.advance(minutes=30)
        assert (await cycle(app, site)).attempted == 0  # not before the hour
        clock.advance(minutes=31)
        assert (await cycle(app, site)).sent == 1
        (row,) = await outbox(app)
        assert (row.status, row.attempts) == ("sent", 3)
    assert receiver.posts == 3
    assert len(receiver.kept) == 1
    # A worker that died after the receiver answered sends the same message again: the
    # same key, which the receiver drops.
    from watcher.config.loader import Channel
    from watcher.notify.channels.webhook import WebhookSender
    from watcher.store.messages import Message

    message = Message(
        row.id,
        row.kind,
        row.subscriber_id,
        row.recipient,
        row.subject,
        row.message_id,
        row.body,
        row.status,
        0,
        row.next_attempt_at,
        None,
        row.created_at,
        None,
    )
    sender = WebhookSender(5.0)
    await sender.send(message, Channel("ops", "webhook", receiver.url, SECRET))
    await sender.close()
    assert receiver.repeats == 1
    assert len(receiver.kept) == 1


@pytest.mark.parametrize(("status", "suspended"), [(410, True), (400, False)])
async def test_a_refusal_fails_the_message_and_a_gone_endpoint_bounces(
    status: int,
    suspended: bool,
    site: SiteServer,
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    config = channel_config(site, receiver, tmp_path)
    receiver.status = status
    async with open_app(config) as app:
        await cycle(app, site, "r1")
        report = await cycle(app, site, "r2")
        assert report.failed == 1
        await cycle(app, site, "r3")
        await cycle(app, site, "r1")  # a second change, a second refusal
        async with read_transaction(app.engine) as connection:
            (reader,) = (await connection.execute(select(subscribers))).all()
        rows = await outbox(app)
    assert all(row.status == "failed" for row in rows)
    assert rows[0].last_error.startswith(f"channel ops: HTTP {status}")
    assert (reader.status == "suspended") is suspended


async def test_a_receiver_that_is_down_delays_the_message_never_drops_it(
    site: SiteServer,
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    clock = Clock(START)
    down = channel_config(site, receiver, tmp_path, url="http://127.0.0.1:9/hook")  # refused
    async with open_app(down, clock=clock) as app:
        await cycle(app, site, "r1")
        report = await cycle(app, site, "r2")
        assert report.retrying == 1
        (row,) = await outbox(app)
        assert row.last_error == "channel ops: cannot be reached (ConnectError)"
    clock.advance(minutes=10)
    async with open_app(channel_config(site, receiver, tmp_path), clock=clock) as app:
        assert (await cycle(app, site)).sent == 1
    assert len(receiver.kept) == 1


async def test_a_message_to_a_channel_that_left_the_configuration_ends(
    site: SiteServer,
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    """The operator removes a channel (and its subscriber) while a message to it waits for
    a retry: the next delivery ends that message, with no channel configured at all; it
    does not wait in the outbox for ever."""
    clock = Clock(START)
    down = channel_config(site, receiver, tmp_path, url="http://127.0.0.1:9/hook")  # refused
    async with open_app(down, clock=clock) as app:
        await cycle(app, site, "r1")
        assert (await cycle(app, site, "r2")).retrying == 1
    clock.advance(minutes=10)
    data = demo_data(site, f"sqlite:///{tmp_path / 'w.db'}")
    data["mail"] = {"transport": "maildir", "maildir": str(tmp_path / "mail")}
    gone = build_config(data, {}, tmp_path / "watcher.toml")
    async with open_app(gone, clock=clock) as app:
        await cycle(app, site)
        (row,) = await outbox(app)
    assert row.status == "cancelled", (row.status, row.last_error)
    assert not receiver.kept


async def test_a_daily_channel_gets_one_digest(
    site: SiteServer,
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    clock = Clock(START)
    config = channel_config(site, receiver, tmp_path, frequency="daily")
    async with open_app(config, clock=clock) as app:
        await cycle(app, site, "r1")
        clock.advance(hours=1)
        await cycle(app, site, "r2")
        assert receiver.posts == 0
        clock.advance(days=1)
        assert (await cycle(app, site)).sent == 1
    (payload,) = receiver.kept.values()
    assert payload["event"] == "digest"
    assert payload["frequency"] == "daily"
    assert len(payload["changes"]) == 2


@pytest.mark.parametrize(
    ("subscriber", "environ", "words"),
    [
        ({"channel": "ops"}, {}, "subscribers[0].channel: set WATCHER_CHANNEL_OPS to the URL"),
        (
            {"channel": "ops"},
            {"WATCHER_CHANNEL_OPS": "https://hooks.example/x"},
            "set WATCHER_CHANNEL_OPS_SECRET",
        ),
        (
            {"channel": "ops"},
            {"WATCHER_CHANNEL_OPS": "ftp://x", "WATCHER_CHANNEL_OPS_SECRET": SECRET},
            "WATCHER_CHANNEL_OPS: not a URL apprise knows",
        ),
        ({"channel": "ops", "email": "a@example.org"}, {}, "give either 'email' or 'channel'"),
        ({"channel": "Ops Room"}, {}, "a channel name is lower-case letters"),
    ],
)
def test_a_channel_written_wrong_is_one_clear_line(
    subscriber: dict[str, str], environ: dict[str, str], words: str
) -> None:
    data = base()
    data["subscribers"] = [{**subscriber, "countries": ["VN"]}]
    problems = errors_of(data, environ)
    assert any(words in problem for problem in problems), problems


def test_no_email_address_can_pass_for_a_channel() -> None:
    """`channel:NAME` addresses are channels: an address typed into the subscribe form can
    never be one (a colon is allowed in an email address only when quoted)."""
    with pytest.raises(ValueError, match="not an email address"):
        check_email("channel:ops@example.org")
    assert check_email("reader.one+vn@example.org") == "reader.one+vn@example.org"


# apprise: its generic json:// scheme pointed at the receiver stands for any chat service.


class ChatReceiver:
    """What apprise's json:// posts: {"title", "message", "type", ...}."""

    def __init__(self, scripted: ScriptedServer) -> None:
        self.scripted = scripted
        self.status = 200
        self.posts: list[dict[str, Any]] = []
        scripted.routes["/chat"] = self.answer

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        if self.status >= 300:
            reply(handler, self.status, b"no", "text/plain")
            return
        self.posts.append(json.loads(handler.body))  # type: ignore[attr-defined]
        reply(handler, 200, b"{}", "application/json")

    @property
    def url(self) -> str:
        return self.scripted.url("/chat").replace("http://", "json://")


def chat_config(site: SiteServer, chat: ChatReceiver, tmp_path: Path) -> Any:
    data = demo_data(site, f"sqlite:///{tmp_path / 'w.db'}")
    data["subscribers"] = [{"channel": "team-chat", "countries": ["VN"]}]
    data.setdefault("mail", {}).update(transport="maildir", maildir=str(tmp_path / "mail"))
    data["service"]["public_url"] = "https://monitor.example"
    return build_config(data, {"WATCHER_CHANNEL_TEAM_CHAT": chat.url}, tmp_path / "watcher.toml")


async def test_a_chat_gets_a_short_markdown_summary_with_a_link(
    site: SiteServer, scripted: ScriptedServer, tmp_path: Path
) -> None:
    chat = ChatReceiver(scripted)
    clock = Clock(START)
    async with open_app(chat_config(site, chat, tmp_path), clock=clock) as app:
        assert app.config.channels["team-chat"].kind == "apprise"
        await cycle(app, site, "r1")
        chat.status = 500
        assert (await cycle(app, site, "r2")).retrying == 1  # apprise said no: tried again
        (row,) = await outbox(app)
        assert row.last_error == "channel team-chat: apprise could not deliver it"
        chat.status = 200
        clock.advance(minutes=10)
        assert (await cycle(app, site)).sent == 1
    (post,) = chat.posts
    assert post["title"] == "Vietnam: what changed"
    text = post["message"]
    assert "**Vietnam country profile**" in text
    assert "Cluster Munition Ban Policy: new section, 2 paragraphs and 1 footnote" in text
    assert "Pro\\-mine ban UNGA voting record: 65/48 → 66/29, 2010 → 2011" in text
    assert "Last Updated: 02 November 2011 → 29 October 2012" in text
    assert "New: " in text  # the news feed's entry
    assert "[The whole change](https://monitor.example/changes/" in text


def test_the_chat_rendering_marks_words_and_escapes_what_pages_say() -> None:
    from watcher.diff import diff_pages
    from watcher.extract import Line, PageDocument
    from watcher.notify.channels.chat import escape, render
    from watcher.store.changes import ChangeRecord

    old = PageDocument(
        (Line(("Policy",), "h2", "Policy"), Line(("Policy",), "text", "Viet Nam has not acceded."))
    )
    new = PageDocument(
        (
            Line(("Policy",), "h2", "Policy"),
            Line(("Policy",), "text", "Viet Nam has acceded."),
            Line(("Policy",), "text", "[click](https://evil.example) *now*"),
        )
    )
    change = diff_pages(old, new)
    assert change is not None
    record = ChangeRecord(7, "vn", "VN", START, "page", change.summary(), change, "Profile", "u")
    data = base()
    text = render([record], build_config(data, {}, Path("watcher.toml")))
    assert "~ Viet Nam has ~~not~~ acceded\\." in text
    assert "\\[click\\]\\(https://evil\\.example\\) \\*now\\*" in text
    assert "](https://evil" not in text
    assert escape("# Title") == "\\# Title"


def test_a_secrets_file_beside_the_configuration_holds_channel_urls(tmp_path: Path) -> None:
    """`[service] secrets` names a file of WATCHER_...=value lines (mode 600): commands run
    later (`watcher log`) need no environment; the environment still wins."""
    data = base()
    data["service"]["secrets"] = "secrets.env"
    data["subscribers"] = [{"channel": "ops", "countries": ["VN"]}]
    secrets = tmp_path / "secrets.env"
    secrets.write_text(
        f"# the team's webhook\nWATCHER_CHANNEL_OPS=https://hooks.example/a\n"
        f"WATCHER_CHANNEL_OPS_SECRET={SECRET}\n"
    )
    secrets.chmod(0o600)
    config = build_config(data, {}, tmp_path / "watcher.toml")
    assert config.channels["ops"].url == "https://hooks.example/a"
    assert "hooks.example" not in repr(config.channels["ops"])
    environ = {"WATCHER_CHANNEL_OPS": "https://hooks.example/b"}
    assert build_config(data, environ, tmp_path / "watcher.toml").channels["ops"].url.endswith("/b")
    secrets.chmod(0o644)
    with pytest.raises(ConfigError, match="can be read or written by others; chmod 600 it"):
        build_config(data, {}, tmp_path / "watcher.toml")


async def test_a_sender_that_breaks_delays_its_message_and_nothing_else(
    site: SiteServer, scripted: ScriptedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug in a channel's sender (a library's surprise) is that message's temporary
    failure, logged: the delivery run goes on, nothing is lost."""
    from watcher.notify.channels.chat import AppriseSender

    async def broken(*_: object) -> None:
        raise RuntimeError("a library's surprise")

    chat = ChatReceiver(scripted)
    monkeypatch.setattr(AppriseSender, "send", broken)
    async with open_app(chat_config(site, chat, tmp_path)) as app:
        await cycle(app, site, "r1")
        report = await cycle(app, site, "r2")
        assert report.retrying == 1
        (row,) = await outbox(app)
    assert row.status == "queued"
    assert row.last_error == "channel team-chat: internal error: RuntimeError"
