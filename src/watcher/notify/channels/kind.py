"""What a kind of channel is (`ChannelKind`), how it delivers (`Transport`, or a `Sender`
behind `SenderTransport`), and the form of a channel message (`composed`): the vocabulary the
channels' modules share, apart from their registry (`notify/channels/__init__.py`), which
imports them."""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from watcher.config.model import CHANNEL_PREFIX
from watcher.errors import DeliveryError

if TYPE_CHECKING:
    from watcher.config.loader import Channel
    from watcher.notify.composed import Composed
    from watcher.notify.parts import Composing
    from watcher.store.changes import ChangeRecord
    from watcher.store.messages import Message
    from watcher.store.subscribers import Subscriber


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
        parts: Composing,
    ) -> list[Composed]:
        """One message per reader about one country's changes (the same news for all)."""
        ...

    def digest_message(
        self,
        reader: Subscriber,
        records: Sequence[ChangeRecord],
        now: datetime,
        period_end: datetime,
        parts: Composing,
    ) -> Composed: ...

    def transport(self, parts: Composing) -> Transport: ...


def channel_of(address: str) -> str | None:
    """The channel an address names (`channel:ops` -> "ops"); None for an email address."""
    return address[len(CHANNEL_PREFIX) :] if address.startswith(CHANNEL_PREFIX) else None


def composed(reader: Subscriber, subject: str, payload: dict[str, Any]) -> Composed:
    """A channel message as the outbox keeps it: `payload` as JSON, under a fresh key that
    is its message id (a webhook's Idempotency-Key), the same for every try."""
    from watcher.notify.composed import Composed

    key = secrets.token_hex(16)
    body = json.dumps({"id": key, **payload}, ensure_ascii=False, separators=(",", ":"))
    return Composed(recipient=reader.address, subject=subject, message_id=key, body=body.encode())


class SenderTransport:
    """A batch for a kind that sends message by message to its configured channel: each
    message through `sender` (a bug or a library's surprise there is that message's
    temporary failure, logged, as for every channel: `notify/delivery.py`'s boundary)."""

    def __init__(self, parts: Composing, sender: Sender) -> None:
        self.parts = parts
        self.sender = sender

    async def open(self) -> None:
        pass  # each request stands alone: nothing to open for the batch

    async def send(self, message: Message) -> None:
        name = channel_of(message.recipient) or ""
        channel = self.parts.config.channels.get(name)
        if channel is None:
            raise DeliveryError(f"channel {name} is not configured any more", permanent=True)
        await self.sender.send(message, channel)

    async def close(self) -> None:
        await self.sender.close()
