"""Queued messages (emails, and posts to channels): leased for delivery, each result recorded
as soon as the server has answered, counted for the gauges. Composing queues them
(`store/notifications.py`); `notify/delivery.py` and the channel lanes deliver them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from watcher.config.model import CHANNEL_PREFIX
from watcher.store.db import lock_rows
from watcher.store.schema import messages, subscribers
from watcher.store.subscribers import ACTIVE, SUSPENDED

QUEUED, SENT, FAILED, CANCELLED = "queued", "sent", "failed", "cancelled"


@dataclass(frozen=True, slots=True)
class Message:
    id: int
    kind: str
    subscriber_id: int | None
    recipient: str
    subject: str
    message_id: str
    body: bytes
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    bounces: int = 0  # the subscriber's hard bounces so far, when claimed for delivery
    body_dropped_at: datetime | None = None  # retention emptied the body (store/retention.py)


async def claim_messages(
    connection: AsyncConnection,
    *,
    now: datetime,
    worker: str,
    lease: timedelta,
    limit: int,
    channels: bool = False,
) -> list[Message]:
    """Lease up to `limit` queued messages that are due: emails, or with `channels` the
    messages to channels (`channel:NAME` addresses). Call in a write transaction.

    News (a change or a digest) for someone who has since unsubscribed, was suspended or
    erased is cancelled as it is claimed, not sent: checked for the claimed batch only, so a
    delivery's work stays in proportion to what it sends (checking every queued message at
    every batch made a fan-out to 1,500 read 188,000 rows)."""
    query = lock_rows(
        connection,
        select(
            messages,
            subscribers.c.hard_bounces.label("bounces"),
            subscribers.c.status.label("subscriber_status"),
        )
        .outerjoin(subscribers, subscribers.c.id == messages.c.subscriber_id)
        .where(
            messages.c.status == QUEUED,
            messages.c.next_attempt_at <= now,
            or_(messages.c.claimed_until.is_(None), messages.c.claimed_until < now),
            _to_channel if channels else ~_to_channel,
        )
        .order_by(messages.c.next_attempt_at, messages.c.id)
        .limit(limit),
        of=messages,
    )
    rows = (await connection.execute(query)).all()
    unwanted = [
        row.id
        for row in rows
        if row.kind in ("change", "digest") and row.subscriber_status != ACTIVE
    ]
    if unwanted:
        await connection.execute(
            update(messages)
            .where(messages.c.id.in_(unwanted))
            .values(status=CANCELLED, last_error="the subscriber is no longer active")
        )
    cancelled = set(unwanted)
    wanted = [row for row in rows if row.id not in cancelled]
    if wanted:
        await connection.execute(
            update(messages)
            .where(messages.c.id.in_([row.id for row in wanted]))
            .values(claimed_by=worker, claimed_until=now + lease)
        )
    return [_message(row) for row in wanted]


_to_channel = messages.c.recipient.startswith(CHANNEL_PREFIX, autoescape=True)

_MARK_SENT = (  # built once: a delivery runs it for every few messages it sends
    update(messages)
    .where(messages.c.id == bindparam("sent_id"), messages.c.status != SENT)
    .values(
        status=SENT,
        sent_at=bindparam("sent_now"),
        attempts=bindparam("sent_attempts"),
        last_error=None,
        claimed_by=None,
        claimed_until=None,
    )
)


async def mark_sent(connection: AsyncConnection, sent: Sequence[Message], now: datetime) -> None:
    """Record messages the server accepted, all in one statement. That a message went out is
    a fact, written whoever holds its claim now (a worker whose lease lapsed mid-send): a
    record of it never goes missing to have it sent once more."""
    if not sent:
        return
    await connection.execute(
        _MARK_SENT,
        [{"sent_id": m.id, "sent_attempts": m.attempts + 1, "sent_now": now} for m in sent],
    )
    bounced = [m.subscriber_id for m in sent if m.subscriber_id is not None and m.bounces]
    if bounced:  # a delivery ends a run of hard bounces
        await connection.execute(
            update(subscribers).where(subscribers.c.id.in_(bounced)).values(hard_bounces=0)
        )


async def mark_retry(
    connection: AsyncConnection, message: Message, *, error: str, at: datetime, tried: bool = True
) -> None:
    await connection.execute(
        update(messages)
        .where(messages.c.id == message.id)
        .values(
            attempts=message.attempts + int(tried),
            last_error=error,
            next_attempt_at=at,
            claimed_by=None,
            claimed_until=None,
        )
    )


async def mark_failed(
    connection: AsyncConnection,
    message: Message,
    *,
    error: str,
    bounce: bool,
    bounce_limit: int,
    now: datetime,
) -> bool:
    """Give up on a message. With `bounce` (the address was refused) count a hard bounce and
    suspend the subscriber at `bounce_limit`; return whether it was suspended."""
    await connection.execute(
        update(messages)
        .where(messages.c.id == message.id)
        .values(
            status=FAILED,
            attempts=message.attempts + 1,
            last_error=error,
            claimed_by=None,
            claimed_until=None,
        )
    )
    if not bounce or message.subscriber_id is None:
        return False
    await connection.execute(
        update(subscribers)
        .where(subscribers.c.id == message.subscriber_id)
        .values(hard_bounces=subscribers.c.hard_bounces + 1, updated_at=now)
    )
    result = await connection.execute(
        update(subscribers)
        .where(
            subscribers.c.id == message.subscriber_id,
            subscribers.c.status == ACTIVE,
            subscribers.c.hard_bounces >= bounce_limit,
        )
        .values(status=SUSPENDED, updated_at=now)
    )
    return bool(result.rowcount)


async def sent_since(
    connection: AsyncConnection, subscriber_id: int, kind: str, since: datetime
) -> bool:
    """Has a message of this kind been queued for this subscriber since `since`?"""
    query = select(messages.c.id).where(
        messages.c.subscriber_id == subscriber_id,
        messages.c.kind == kind,
        messages.c.created_at > since,
    )
    return (await connection.execute(query.limit(1))).first() is not None


async def list_messages(
    connection: AsyncConnection, *, status: str | None = None, limit: int = 100
) -> list[Message]:
    query = select(messages).order_by(messages.c.id.desc()).limit(limit)
    if status:
        query = query.where(messages.c.status == status)
    return [_message(row) for row in (await connection.execute(query)).all()]


async def messages_of(
    connection: AsyncConnection, subscriber_id: int, *, limit: int = 100
) -> list[Message]:
    """The messages queued for one subscriber, newest first (off its index)."""
    query = (
        select(messages)
        .where(messages.c.subscriber_id == subscriber_id)
        .order_by(messages.c.id.desc())
        .limit(limit)
    )
    return [_message(row) for row in (await connection.execute(query)).all()]


async def outbox_counts(
    connection: AsyncConnection, statuses: Sequence[str] | None = None
) -> dict[str, int]:
    """Messages by status; of `statuses` only, if given (counted off the status index)."""
    rows = await connection.execute(counts_query(statuses))
    return {status: int(count) for status, count in rows.all()}


def counts_query(statuses: Sequence[str] | None = None) -> Select[Any]:
    query = select(messages.c.status, func.count()).group_by(messages.c.status)
    if statuses is not None:
        query = query.where(messages.c.status.in_(list(statuses)))
    return query


def _message(row: Any) -> Message:
    return Message(
        id=row.id,
        kind=row.kind,
        subscriber_id=row.subscriber_id,
        recipient=row.recipient,
        subject=row.subject,
        message_id=row.message_id,
        body=row.body,
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
        created_at=row.created_at,
        sent_at=row.sent_at,
        bounces=getattr(row, "bounces", None) or 0,
        body_dropped_at=row.body_dropped_at,
    )
