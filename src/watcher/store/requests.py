"""Subscribing on the web: a request recorded, then confirmed from the link in an email
(double opt-in). Known or not, an address gets the same treatment; nothing changes for an
existing subscriber until the link is used."""

from __future__ import annotations

import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from watcher.store.follows import add_follows, set_follows
from watcher.store.schema import subscribers
from watcher.store.subscribers import (
    ACTIVE,
    CONFIRM_RESEND_AFTER,
    PENDING,
    Subscriber,
    email_key,
    find_subscriber,
    new_token,
    retag_pending,
    secret_hash,
    set_countries,
    with_choices,
)


@dataclass(frozen=True, slots=True)
class Request:
    """A subscription asked for on the web, awaiting the click in the confirmation email."""

    subscriber: Subscriber
    countries: tuple[str, ...]
    frequency: str
    sections: tuple[tuple[str, str], ...] = ()
    keywords: tuple[str, ...] = ()
    quiet: tuple[str, ...] = ()


async def request_subscription(
    connection: AsyncConnection,
    *,
    email: str,
    countries: Sequence[str],
    frequency: str,
    now: datetime,
    secret: str,
    lifetime: timedelta,
    sections: Sequence[tuple[str, str]] = (),
    keywords: Sequence[str] = (),
    quiet: Sequence[str] = (),
    origin: str = "web",
) -> int | None:
    """Record a web request for `email`; the id to put in the confirmation link, or None when
    a confirmation went to this address moments ago (no email is sent then).

    Known or not, active or not, the address gets the same treatment: a request that the
    link in the email confirms. Nothing changes for an existing subscriber until then.
    """
    existing = await find_subscriber(connection, email)
    request = {
        "confirm_hash": secret_hash(secret),
        "confirm_expires_at": now + lifetime,
        "confirm_sent_at": now,
        "requested_countries": ",".join(countries),
        "requested_frequency": frequency,
        "requested_follows": json.dumps(
            {
                "sections": [list(pair) for pair in sections],
                "keywords": list(keywords),
                "quiet": list(quiet),
            },
            ensure_ascii=False,
        ),
        "updated_at": now,
    }
    if existing is None:
        result = await connection.execute(
            insert(subscribers).values(
                email=email.strip(),
                email_key=email_key(email),
                frequency=frequency,
                status=PENDING,
                origin=origin,
                token=new_token(),
                hard_bounces=0,
                created_at=now,
                **request,
            )
        )
        return int(result.inserted_primary_key[0])  # type: ignore[index]
    sent = (
        await connection.execute(
            select(subscribers.c.confirm_sent_at).where(subscribers.c.id == existing.id)
        )
    ).scalar()
    if sent is not None and now - sent < CONFIRM_RESEND_AFTER:
        return None
    await connection.execute(
        update(subscribers).where(subscribers.c.id == existing.id).values(**request)
    )
    return existing.id


async def find_request(
    connection: AsyncConnection, subscriber_id: int, secret: str, now: datetime
) -> Request | None:
    """The request a confirmation link stands for; None when wrong, used or expired."""
    row = (
        await connection.execute(select(subscribers).where(subscribers.c.id == subscriber_id))
    ).first()
    if row is None or row.confirm_hash is None or row.confirm_expires_at is None:
        return None
    if not hmac.compare_digest(row.confirm_hash, secret_hash(secret)):
        return None
    if row.confirm_expires_at < now:
        return None
    return await _request_of(connection, row)


async def waiting_request(connection: AsyncConnection, email: str) -> Request | None:
    """The request of this address still awaiting its confirmation (expired or not), to
    send its confirmation again; None when there is none."""
    query = select(subscribers).where(
        subscribers.c.email_key == email_key(email), subscribers.c.confirm_hash.is_not(None)
    )
    row = (await connection.execute(query)).first()
    return await _request_of(connection, row) if row is not None else None


async def _request_of(connection: AsyncConnection, row: Any) -> Request:
    [subscriber] = await with_choices(connection, [row])
    countries = tuple(code for code in (row.requested_countries or "").split(",") if code)
    follows = json.loads(row.requested_follows or "{}")
    return Request(
        subscriber,
        countries,
        row.requested_frequency or subscriber.frequency,
        tuple((country, name) for country, name in follows.get("sections", [])),
        tuple(follows.get("keywords", [])),
        tuple(follows.get("quiet", [])),
    )


async def confirm_request(
    connection: AsyncConnection, request: Request, now: datetime
) -> Subscriber:
    """The reader clicked: the requested countries join what they already follow."""
    subscriber = request.subscriber
    keep = subscriber.countries if subscriber.status == ACTIVE else ()
    await connection.execute(
        update(subscribers)
        .where(subscribers.c.id == subscriber.id)
        .values(
            status=ACTIVE,
            frequency=request.frequency,
            confirmed_at=now,
            updated_at=now,
            hard_bounces=0,
            confirm_hash=None,
            confirm_expires_at=None,
            requested_countries=None,
            requested_frequency=None,
            requested_follows=None,
        )
    )
    await retag_pending(connection, subscriber.id, request.frequency)
    await set_countries(
        connection, subscriber.id, sorted({*keep, *request.countries}), replace=True
    )
    chosen = (request.sections, request.keywords, request.quiet)
    if subscriber.status == ACTIVE:
        await add_follows(connection, subscriber.id, *chosen)
    else:
        await set_follows(connection, subscriber.id, *chosen)
    found = await find_subscriber(connection, subscriber.email)
    assert found is not None
    return found
