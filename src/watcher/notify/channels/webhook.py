"""Webhooks: a JSON POST of each change (or digest), signed, with an idempotency key.

The body is the change record of docs/json.md in an envelope whose `version` says its
shape. Each request carries `Watcher-Signature: t=<unix time>,v1=<hex>`, the HMAC-SHA256 of
`"<t>." + body` under the channel's secret (as Stripe signs; a receiver refuses an old `t`
to stop replays), and `Idempotency-Key`, the same for every try of one message, so a
receiver drops a repeat. A 2xx answer delivers it; 408, 425, 429 (after its Retry-After)
and 5xx, timeouts and refused connections are tried again with the outbox's backoff; any
other answer fails the message with the answer recorded, and 404 or 410 count as bounces
(enough in a row suspend the subscription, as an email address that bounces would).
Redirects are not followed. The URL is never logged or shown: only the channel's name.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Sequence
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from watcher import __version__
from watcher.config import Config
from watcher.config.loader import Channel
from watcher.errors import DeliveryError
from watcher.notify.channels.kind import SenderTransport, Transport, composed
from watcher.notify.composed import Composed
from watcher.notify.parts import Composing
from watcher.render.json import change_json
from watcher.render.times import iso
from watcher.store.changes import ChangeRecord
from watcher.store.messages import Message
from watcher.store.subscribers import Subscriber

VERSION = 1
RETRIED = {408, 425, 429}
BOUNCES = {404, 410}


class WebhookKind:
    name = "webhook"

    def change_messages(
        self,
        readers: Sequence[Subscriber],
        country: str,
        records: Sequence[ChangeRecord],
        now: datetime,
        parts: Composing,
    ) -> list[Composed]:
        """What an "immediate" channel subscriber receives about one country's changes."""
        config = parts.config
        name = config.country_name(country)
        payload = _envelope("change", now, config, records)
        payload["country"] = {"code": country, "name": name}
        return [composed(reader, f"{name}: {_changes(records)}", payload) for reader in readers]

    def digest_message(
        self,
        reader: Subscriber,
        records: Sequence[ChangeRecord],
        now: datetime,
        period_end: datetime,
        parts: Composing,
    ) -> Composed:
        """A daily or weekly channel subscriber's digest: every change of the period."""
        payload = _envelope("digest", now, parts.config, records)
        payload["frequency"] = reader.frequency
        payload["period_end"] = iso(period_end)
        label = "Daily" if reader.frequency == "daily" else "Weekly"
        return composed(reader, f"{label} digest: {_changes(records)}", payload)

    def transport(self, parts: Composing) -> Transport:
        return SenderTransport(parts, WebhookSender(parts.settings.mail.timeout.total_seconds()))


def _changes(records: Sequence[ChangeRecord]) -> str:
    return f"{len(records)} change{'s' if len(records) != 1 else ''}"


def _envelope(
    event: str, now: datetime, config: Config, records: Sequence[ChangeRecord]
) -> dict[str, Any]:
    public = config.settings.service.public_url
    changes = []
    for record in records:
        data = change_json(record, config, full=True)
        data["web_url"] = f"{public}/changes/{record.id}"
        changes.append(data)
    return {"version": VERSION, "event": event, "composed_at": iso(now), "changes": changes}


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


class WebhookSender:
    """POSTs over one client for a batch (connections kept alive between its messages)."""

    def __init__(self, timeout: float) -> None:
        self.client = httpx.AsyncClient(
            timeout=timeout,
            follow_redirects=False,
            headers={"User-Agent": f"watcher/{__version__} (webhook)"},
        )

    async def send(self, message: Message, channel: Channel) -> None:
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": message.message_id,
            "Watcher-Event": message.kind,
            "Watcher-Signature": signature(channel.secret, int(time.time()), message.body),
        }
        where = f"channel {channel.name}"
        try:
            answer = await self.client.post(channel.url, content=message.body, headers=headers)
        except httpx.TimeoutException:
            raise DeliveryError(f"{where}: no answer in time", permanent=False) from None
        except httpx.HTTPError as exc:  # never str(exc): it may hold the URL
            raise DeliveryError(
                f"{where}: cannot be reached ({type(exc).__name__})", permanent=False
            ) from None
        status = answer.status_code
        if 200 <= status < 300:
            return
        reason = f"{where}: HTTP {status} {answer.reason_phrase}".rstrip()
        if status in RETRIED or status >= 500:
            raise DeliveryError(
                reason, permanent=False, retry_after=_retry_after(answer.headers.get("Retry-After"))
            )
        raise DeliveryError(reason, permanent=True, bounce=status in BOUNCES)

    async def close(self) -> None:
        await self.client.aclose()


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait that a Retry-After asks for (a number or an HTTP date), if any."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())
