"""Channels: where a subscriber's messages go, and how each medium renders and delivers them.

Every subscriber is reached through one kind of channel. An email address is the `email`
channel (`email.py`: MIME, then SMTP or a maildir). A subscriber declared with
`channel = "NAME"` has the address `channel:NAME`; its URL (and, for a webhook, its signing
secret) come from the environment or the secrets file (`config/loader.py: Channel`), and
the URL's scheme picks the kind: http(s) is a `webhook` (`webhook.py`), any other scheme
apprise knows (slack://, msteams://, matrix://, tgram://, ntfy://, json://, ...) goes
through `apprise` (`chat.py`).

Each kind is one module with one class, in the manner of the source kinds
(`extract/kinds/`): it renders a change or a digest for its medium when the outbox composes
(stored in the outbox as composed, so a retry sends exactly that), and gives the transport
that delivers a claimed batch of its messages. Every kind goes through the same outbox
(`notify/outbox.py` composes, `notify/mailer.py` delivers): claimed, retried with backoff
on temporary trouble, recorded on permanent failure, never lost, repeated at most for the
message in flight when a process died.

    class PagerKind:
        name = "pager"
        def change_messages(self, readers, country, records, now, app) -> list[Composed]: ...
        def digest_message(self, reader, records, now, period_end, app) -> Composed: ...
        def transport(self, app) -> Transport: ...

A kind whose medium has no batch of its own gives `SenderTransport(app, sender)`: a sender
with one method, `send(message, channel)`.

This module stays light (the configuration checks URLs with it); a kind's module is
imported when it is first used.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from watcher.config.model import CHANNEL_PREFIX
from watcher.errors import DeliveryError

if TYPE_CHECKING:
    from watcher.app import App
    from watcher.config.loader import Channel
    from watcher.notify.message import Composed
    from watcher.store.changes import ChangeRecord
    from watcher.store.messages import Message
    from watcher.store.subscribers import Subscriber

T = TypeVar("T")
_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*)://\S+$", re.IGNORECASE)


class Transport(Protocol):
    """Delivers one claimed batch of a kind's messages: `open`, `send` each, `close`.
    `send` returns once the message is delivered, or raises `DeliveryError` saying whether
    to try again (`connection_lost`: the rest of the batch waits too)."""

    async def open(self) -> None: ...
    async def send(self, message: Message) -> None: ...
    async def close(self) -> None: ...


class Sender(Protocol):
    """One message to one configured channel (`SenderTransport` looks the channel up)."""

    async def send(self, message: Message, channel: Channel) -> None:
        """Deliver, or raise `DeliveryError` saying whether to try again."""
        ...

    async def close(self) -> None: ...


class ChannelKind(Protocol):
    name: str

    def change_messages(
        self,
        readers: Sequence[Subscriber],
        country: str,
        records: Sequence[ChangeRecord],
        now: datetime,
        app: App,
    ) -> list[Composed]:
        """One message per reader about one country's changes (the same news for all)."""
        ...

    def digest_message(
        self,
        reader: Subscriber,
        records: Sequence[ChangeRecord],
        now: datetime,
        period_end: datetime,
        app: App,
    ) -> Composed: ...

    def transport(self, app: App) -> Transport: ...


def channel_of(address: str) -> str | None:
    """The channel an address names (`channel:ops` -> "ops"); None for an email address."""
    return address[len(CHANNEL_PREFIX) :] if address.startswith(CHANNEL_PREFIX) else None


def kind_name(url: str) -> str:
    """Which kind of channel a URL is: "webhook" for http(s), else "apprise"."""
    found = _SCHEME.match(url)
    scheme = found.group(1).lower() if found else ""
    return "webhook" if scheme in ("http", "https") else "apprise"


def url_problem(url: str) -> str | None:
    """What is wrong with a channel URL, if anything (never quoting it: it holds secrets)."""
    if not _SCHEME.match(url):
        return "not a URL (a webhook starts with https://; see apprise's URLs for the rest)"
    if kind_name(url) == "apprise":
        import apprise

        if not apprise.Apprise().add(url):
            return "not a URL apprise knows (its scheme or its parts)"
    return None


def composed(reader: Subscriber, subject: str, payload: dict[str, Any]) -> Composed:
    """A channel message as the outbox keeps it: `payload` as JSON, under a fresh key that
    is its message id (a webhook's Idempotency-Key), the same for every try."""
    from watcher.notify.message import Composed

    key = secrets.token_hex(16)
    body = json.dumps({"id": key, **payload}, ensure_ascii=False, separators=(",", ":"))
    return Composed(recipient=reader.email, subject=subject, message_id=key, body=body.encode())


def kind_of(app: App, address: str) -> ChannelKind:
    """The kind of channel that reaches an address: `email` for an email address; for
    `channel:NAME`, the kind of the configured channel's URL (a webhook if it left the
    configuration: its message fails at delivery with that reason, as mail to a dead
    address would)."""
    name = channel_of(address)
    if name is None:
        return kind("email")
    channel = app.config.channels.get(name)
    return kind(channel.kind if channel is not None else "webhook")


def by_kind(
    app: App, items: Iterable[T], address: Callable[[T], str]
) -> list[tuple[ChannelKind, list[T]]]:
    """`items` (readers, messages) split by the kind of channel that reaches each one's
    address, in the order given."""
    kinds: dict[str, tuple[ChannelKind, list[T]]] = {}
    for item in items:
        found = kind_of(app, address(item))
        kinds.setdefault(found.name, (found, []))[1].append(item)
    return list(kinds.values())


@cache
def kind(name: str) -> ChannelKind:
    """The kind of channel named, its module imported on first use."""
    if name == "email":
        from watcher.notify.channels.email import EmailKind

        return EmailKind()
    if name == "webhook":
        from watcher.notify.channels.webhook import WebhookKind

        return WebhookKind()
    from watcher.notify.channels.chat import AppriseKind

    return AppriseKind()


class SenderTransport:
    """A batch for a kind that sends message by message to its configured channel: each
    message through `sender` (a bug or a library's surprise there is that message's
    temporary failure, logged, as for every channel: `notify/mailer.py`'s boundary)."""

    def __init__(self, app: App, sender: Sender) -> None:
        self.app = app
        self.sender = sender

    async def open(self) -> None:
        pass  # each request stands alone: nothing to open for the batch

    async def send(self, message: Message) -> None:
        name = channel_of(message.recipient) or ""
        channel = self.app.config.channels.get(name)
        if channel is None:
            raise DeliveryError(f"channel {name} is not configured any more", permanent=True)
        await self.sender.send(message, channel)

    async def close(self) -> None:
        await self.sender.close()
