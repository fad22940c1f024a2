"""What watcher holds about one reader: all of it as JSON, or none of it (erasure).

Held about a reader: the subscriber row (address, frequency, status, where it came from,
when it was created and confirmed, bounces), the countries, sections and keywords followed,
the news waiting for them (notifications), and the mail addressed to them (the outbox rows
and their bodies).

Erasure deletes the subscriber row, and with it (by foreign keys) the countries and the
notifications; the mail rows stay for the outbox's counts, but lose their body and their
address (`ERASED`), and any still queued is cancelled. Nothing left names the reader.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from watcher.store.schema import messages, notifications, subscribers
from watcher.store.subscribers import Subscriber

ERASED = "(erased)"


async def reader_data(connection: AsyncConnection, reader: Subscriber) -> dict[str, Any]:
    """Everything stored about `reader`, as JSON-ready data but for its times (`datetime`s:
    the output writes them as it writes times)."""
    row = (await connection.execute(select(subscribers).where(subscribers.c.id == reader.id))).one()
    news = await connection.execute(
        select(notifications.c.status, func.count())
        .where(notifications.c.subscriber_id == reader.id)
        .group_by(notifications.c.status)
    )
    mail = await connection.execute(
        select(messages).where(messages.c.subscriber_id == reader.id).order_by(messages.c.id)
    )
    return {
        "email": row.email,
        "frequency": row.frequency,
        "status": row.status,
        "origin": row.origin,
        "countries": list(reader.countries),
        "sections": [{"country": country, "section": name} for country, name in reader.sections],
        "keywords": list(reader.keywords),
        "created_at": row.created_at,
        "confirmed_at": row.confirmed_at,
        "updated_at": row.updated_at,
        "hard_bounces": row.hard_bounces,
        "news": {status: count for status, count in news.all()},
        "messages": [
            {
                "id": message.id,
                "kind": message.kind,
                "subject": message.subject,
                "status": message.status,
                "created_at": message.created_at,
                "sent_at": message.sent_at,
                "last_error": message.last_error,
                "body": (
                    None
                    if message.body_dropped_at is not None
                    else message.body.decode("utf-8", "replace")
                ),
                "body_dropped_at": message.body_dropped_at,
            }
            for message in mail.all()
        ],
    }


async def erase_reader(connection: AsyncConnection, reader: Subscriber, now: datetime) -> int:
    """Erase `reader`: their row, countries and news go; their mail rows stay as counts,
    without body or address (queued ones cancelled). How many mail rows were kept so."""
    mine = messages.c.subscriber_id == reader.id
    await connection.execute(
        update(messages)
        .where(mine, messages.c.status == "queued")
        .values(status="cancelled", last_error="the subscriber erased themselves")
    )
    await connection.execute(
        update(messages)
        .where(mine, messages.c.body_dropped_at.is_(None))
        .values(body_dropped_at=now)
    )
    # The last error too: a server's refusal quotes the address ("550 <a@b>: no such user").
    result = await connection.execute(
        update(messages)
        .where(mine)
        .values(recipient=ERASED, body=b"", last_error=None, claimed_by=None, claimed_until=None)
    )
    await connection.execute(delete(subscribers).where(subscribers.c.id == reader.id))
    return int(result.rowcount or 0)
