"""Helpers for the mail tests: a configuration that mails through the test SMTP server, and
one pass-compose-deliver cycle as `watcher check` runs it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.conftest import demo_data
from tests.smtp import PASSWORD, MailServer
from watcher.app import App
from watcher.check import run_pass
from watcher.config import Config
from watcher.demo.site import SiteServer
from watcher.loading import build_config
from watcher.notify.delivery import DeliveryReport, deliver
from watcher.notify.queue import compose_pending
from watcher.store import read_transaction, write_transaction
from watcher.store.messages import Message, list_messages
from watcher.store.notifications import add_message

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def mail_config(
    site: SiteServer,
    server: MailServer,
    tmp_path: Path,
    subscribers: list[dict[str, Any]],
    service: dict[str, Any] | None = None,
    **mail: Any,
) -> Config:
    """The demo configuration, mailing `subscribers` through `server`."""
    data = demo_data(site, f"sqlite:///{tmp_path / 'w.db'}")
    data["service"]["public_url"] = "https://monitor.example"
    data["service"].update(service or {})
    data["mail"] = {**server.settings(), **mail}
    data["subscribers"] = subscribers
    return build_config(data, {"WATCHER_MAIL__PASSWORD": PASSWORD}, tmp_path / "watcher.toml")


async def cycle(app: App, site: SiteServer, revision: str | None = None) -> DeliveryReport:
    """One pass over every source, then compose and deliver, as `watcher check --all` does."""
    if revision:
        site.revision = revision
        await run_pass(app, every=True)
    await compose_pending(app, settle=timedelta(0))
    return await deliver(app)


async def outbox(app: App) -> dict[str, list[Message]]:
    async with read_transaction(app.engine) as connection:
        found = await list_messages(connection, limit=1000)
    by_status: dict[str, list[Message]] = {}
    for message in found:
        by_status.setdefault(message.status, []).append(message)
    return by_status


def readers(count: int) -> list[dict[str, Any]]:
    return [{"email": f"reader{n}@readers.example", "countries": ["VN"]} for n in range(count)]


def received_ids(server: MailServer) -> list[str]:
    return [str(item.message["Message-ID"]) for item in server.received]


@dataclass
class Note:
    """A message to queue, as the composer would hand it over."""

    recipient: str
    subject: str = "A note"
    message_id: str = "<note@watcher.test>"

    def as_bytes(self) -> bytes:
        return (
            f"From: watcher@monitor.example\r\nTo: {self.recipient}\r\n"
            f"Subject: {self.subject}\r\nMessage-ID: {self.message_id}\r\n\r\nHello.\r\n"
        ).encode()


async def queue_notes(app: App, count: int) -> None:
    """Queue `count` short messages straight into the outbox, one per reader."""
    async with write_transaction(app.engine) as connection:
        for n in range(count):
            note = Note(f"reader{n}@readers.example", message_id=f"<note{n}@watcher.test>")
            await add_message(connection, note, kind="alert", subscriber_id=None, now=app.clock())
