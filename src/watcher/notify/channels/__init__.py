"""Channels: where a subscriber's messages go when it is not a mailbox.

A subscriber declared with `channel = "NAME"` has the address `channel:NAME`; its URL (and,
for a webhook, its signing secret) come from the environment (`config/loader.py: Channel`).
The URL's scheme picks the kind of channel: http(s) is a `webhook` (`webhook.py`), any other
scheme apprise knows (slack://, msteams://, matrix://, tgram://, ntfy://, json://, ...) goes
through `apprise` (`chat.py`).

Each kind is one module with one class, in the manner of the source kinds
(`extract/kinds/`): it renders a change or a digest for its medium when the outbox composes
(stored in the outbox like an email's bytes, so a retry sends exactly what was composed),
and gives a sender that delivers a message through the same outbox as email: claimed,
retried with backoff on temporary trouble, recorded on permanent failure, never lost
(`notify/mailer.py: ChannelTransport`).

    class PagerKind:
        name = "pager"
        def change_message(self, reader, country, records, now, config) -> Composed: ...
        def digest_message(self, reader, records, now, period_end, config) -> Composed: ...
        def sender(self, timeout: float) -> Sender: ...

This module stays light (the configuration checks URLs with it); a kind's module is
imported when it is first used.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol

from watcher.config.model import CHANNEL_PREFIX

if TYPE_CHECKING:
    from watcher.config import Config
    from watcher.config.loader import Channel
    from watcher.notify.compose import Composed
    from watcher.store.changes import ChangeRecord
    from watcher.store.outbox import Message
    from watcher.store.subscribers import Subscriber

_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*)://\S+$", re.IGNORECASE)


class Sender(Protocol):
    async def send(self, message: Message, channel: Channel) -> None:
        """Deliver, or raise `DeliveryError` saying whether to try again."""
        ...

    async def close(self) -> None: ...


class ChannelKind(Protocol):
    name: str

    def change_message(
        self,
        reader: Subscriber,
        country: str,
        records: Sequence[ChangeRecord],
        now: datetime,
        config: Config,
    ) -> Composed: ...

    def digest_message(
        self,
        reader: Subscriber,
        records: Sequence[ChangeRecord],
        now: datetime,
        period_end: datetime,
        config: Config,
    ) -> Composed: ...

    def sender(self, timeout: float) -> Sender: ...


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
    from watcher.notify.compose import Composed

    key = secrets.token_hex(16)
    body = json.dumps({"id": key, **payload}, ensure_ascii=False, separators=(",", ":"))
    return Composed(recipient=reader.email, subject=subject, message_id=key, body=body.encode())


@cache
def kind(name: str) -> ChannelKind:
    """The kind of channel named, its module imported on first use."""
    if name == "webhook":
        from watcher.notify.channels.webhook import WebhookKind

        return WebhookKind()
    from watcher.notify.channels.chat import AppriseKind

    return AppriseKind()
