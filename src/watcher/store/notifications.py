"""The durable outbox: notifications (who must hear of which change) turned into messages.

Notifications are written in the same transaction as their change, so a recorded change is
never without them. Composing reads the pending news subscriber by subscriber and queues a
message for each email or post, marking the news it carries; delivery claims the queued
messages with a lease and records each result (`store/messages.py`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import and_, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from watcher.store.db import insert_ignoring_duplicates, lock_rows
from watcher.store.messages import QUEUED
from watcher.store.schema import messages, notifications, subscribers
from watcher.store.subscribers import ACTIVE


@dataclass(frozen=True, slots=True)
class Pending:
    id: int
    subscriber_id: int
    change_id: int
    country: str
    created_at: datetime


def _news(
    frequencies: Sequence[str], *, before: datetime | None, settled_before: datetime | None
) -> Any:
    """Pending notifications of readers at these frequencies that may go out now: created
    before `before` (a digest's period end), and of a country with no such news after
    `settled_before` (still settling). The settle window is part of each statement that
    picks news, not a list looked up first: news committed in between would otherwise go
    out at once. Every condition is on an index that starts (status, frequency)."""
    condition = [
        notifications.c.status == "pending",
        notifications.c.frequency.in_(list(frequencies)),
    ]
    if before is not None:
        condition.append(notifications.c.created_at < before)
    if settled_before is not None:
        recent = notifications.alias("recent")
        busy = select(recent.c.country).where(
            recent.c.status == "pending",
            recent.c.frequency.in_(list(frequencies)),
            recent.c.created_at > settled_before,
        )
        condition.append(notifications.c.country.not_in(busy))
    return and_(*condition)


@dataclass(frozen=True, slots=True)
class Batch:
    """Subscribers to compose for now (locked), and where the next batch starts: the last
    subscriber id looked at, or None when no pending news lies beyond."""

    ids: list[int]
    after: int | None


async def subscribers_with_pending(
    connection: AsyncConnection,
    *,
    frequencies: Sequence[str],
    before: datetime | None = None,
    without_period: str | None = None,
    settled_before: datetime | None = None,
    after: int = 0,
    limit: int = 100,
) -> Batch:
    """Active subscribers (of these frequencies) with news that may go out now, locked for
    this transaction: another worker composing at the same time takes other subscribers
    (SKIP LOCKED), so nobody's news is split between two messages of one period.

    `without_period` leaves out those who already have that digest period's message.
    `after` is where the batch before ended: a drain walks the pending news of these
    frequencies once, in subscriber order, off the (status, frequency, subscriber_id)
    index. Looking for subscribers with news from the subscribers' side read past everyone
    already served at every batch, or every pending notification: quadratic, 135,854
    notification rows read to compose for 4,000 readers on PostgreSQL.

    Candidates who left have their pending news dropped here (it would never be sent): the
    news of readers who left is found where it is walked anyway, not by a sweep of all
    pending news at every drain.
    """
    window = limit * 4  # candidates looked at: some may have left
    candidates = [
        row.subscriber_id
        for row in await connection.execute(
            select(notifications.c.subscriber_id)
            .where(
                notifications.c.subscriber_id > after,
                _news(frequencies, before=before, settled_before=settled_before),
            )
            .group_by(notifications.c.subscriber_id)
            .order_by(notifications.c.subscriber_id)
            .limit(window)
        )
    ]
    if not candidates:
        return Batch([], None)
    query = (
        select(subscribers.c.id)
        .where(
            subscribers.c.id.in_(candidates),
            subscribers.c.status == ACTIVE,
            subscribers.c.frequency.in_(list(frequencies)),
        )
        .order_by(subscribers.c.id)
        .limit(limit)
    )
    if without_period is not None:
        done = select(messages.c.id).where(
            messages.c.subscriber_id == subscribers.c.id, messages.c.period == without_period
        )
        query = query.where(~done.exists())
    ids = [row.id for row in (await connection.execute(lock_rows(connection, query))).all()]
    full = len(ids) == limit  # then eligible candidates may remain past the last one
    looked_at = ids[-1] if full else candidates[-1]
    passed_over = set(candidates) - set(ids)
    if passed_over := {candidate for candidate in passed_over if candidate <= looked_at}:
        await _tidy(connection, sorted(passed_over), frequencies)
    if full:
        return Batch(ids, ids[-1])
    return Batch(ids, candidates[-1] if len(candidates) == window else None)


async def pending_notifications(
    connection: AsyncConnection,
    subscriber_ids: Sequence[int],
    *,
    frequencies: Sequence[str],
    before: datetime | None = None,
    settled_before: datetime | None = None,
) -> list[Pending]:
    """The news of these (locked) subscribers that may go out now, locked for this
    transaction."""
    query = (
        select(notifications)
        .where(
            notifications.c.subscriber_id.in_(list(subscriber_ids)),
            _news(frequencies, before=before, settled_before=settled_before),
        )
        .order_by(notifications.c.subscriber_id, notifications.c.country, notifications.c.change_id)
    )
    rows = (await connection.execute(lock_rows(connection, query, of=notifications))).all()
    return [
        Pending(row.id, row.subscriber_id, row.change_id, row.country, row.created_at)
        for row in rows
    ]


async def _tidy(
    connection: AsyncConnection, passed_over: Sequence[int], frequencies: Sequence[str]
) -> None:
    """Subscribers with pending news who were not taken (rare: the usual case takes every
    candidate and costs nothing here). Those no longer active will never hear of it: it is
    dropped. Those who hear at another frequency now take it along (a change of frequency
    retags it as it happens; this catches any that did not). The others were locked by
    another worker, or have the period's digest already: nothing to do."""
    rows = (
        await connection.execute(
            select(subscribers.c.id, subscribers.c.status, subscribers.c.frequency).where(
                subscribers.c.id.in_(list(passed_over))
            )
        )
    ).all()
    gone = [row.id for row in rows if row.status != ACTIVE]
    if gone:
        await connection.execute(
            update(notifications)
            .where(notifications.c.subscriber_id.in_(gone), notifications.c.status == "pending")
            .values(status="dropped")
        )
    moved: defaultdict[str, list[int]] = defaultdict(list)
    for row in rows:
        if row.status == ACTIVE and row.frequency not in frequencies:
            moved[row.frequency].append(row.id)
    for frequency, ids in moved.items():
        await connection.execute(
            update(notifications)
            .where(notifications.c.subscriber_id.in_(ids), notifications.c.status == "pending")
            .values(frequency=frequency)
        )


async def add_messages(connection: AsyncConnection, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Queue many messages in one statement; their ids, in the order given."""
    if not rows:
        return []
    values = [_queued(row) for row in rows]
    statement = insert(messages).returning(messages.c.id, sort_by_parameter_order=True)
    result = await connection.execute(statement, values)
    return [row.id for row in result.all()]


def _queued(row: dict[str, Any], period: str | None = None) -> dict[str, Any]:
    """A message row as queued: no attempt yet, the first one due at once."""
    return {
        "status": QUEUED,
        "attempts": 0,
        "period": period,
        "next_attempt_at": row["created_at"],
        **row,
    }


class Outgoing(Protocol):
    """An email ready to queue (`watcher.notify.composed.Composed` is one)."""

    @property
    def recipient(self) -> str: ...
    @property
    def subject(self) -> str: ...
    @property
    def message_id(self) -> str: ...
    def as_bytes(self) -> bytes: ...


def message_row(
    kind: str, subscriber_id: int | None, message: Outgoing, now: datetime
) -> dict[str, Any]:
    """The columns of a message to queue, for `add_message` or `add_messages`."""
    return {
        "kind": kind,
        "subscriber_id": subscriber_id,
        "recipient": message.recipient,
        "subject": message.subject,
        "message_id": message.message_id,
        "body": message.as_bytes(),
        "created_at": now,
    }


async def add_message(
    connection: AsyncConnection,
    message: Outgoing,
    *,
    kind: str,
    subscriber_id: int | None,
    now: datetime,
    period: str | None = None,
) -> int | None:
    """Queue a message; None when this subscriber already has the digest of this period."""
    values = _queued(message_row(kind, subscriber_id, message, now), period)
    if period is None:
        result = await connection.execute(insert(messages).values(**values))
        return int(result.inserted_primary_key[0])  # type: ignore[index]
    statement = insert_ignoring_duplicates(connection, messages, ["subscriber_id", "period"])
    result = await connection.execute(statement.values(**values).returning(messages.c.id))
    row = result.first()
    return int(row.id) if row else None


async def has_period(connection: AsyncConnection, subscriber_id: int, period: str) -> bool:
    query = select(messages.c.id).where(
        messages.c.subscriber_id == subscriber_id, messages.c.period == period
    )
    return (await connection.execute(query)).first() is not None


async def drop_notifications(connection: AsyncConnection, ids: Sequence[int]) -> None:
    """News that is nobody's any more (the reader's choices changed): never sent."""
    if ids:
        await connection.execute(
            update(notifications).where(notifications.c.id.in_(list(ids))).values(status="dropped")
        )


async def mark_composed(
    connection: AsyncConnection, pairs: Sequence[tuple[int, int | None]]
) -> None:
    """Notifications (id, message id) that are now in a message."""
    if pairs:
        statement = (
            update(notifications)
            .where(notifications.c.id == bindparam("notification"))
            .values(status="composed", message_id=bindparam("message"))
        )
        await connection.execute(statement, [{"notification": n, "message": m} for n, m in pairs])
