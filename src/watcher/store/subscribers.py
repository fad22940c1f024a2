"""Subscribers and what they follow (countries here, sections and keywords in follows.py);
a web request awaiting its confirmation is requests.py.

A subscriber row is kept after unsubscribing (status "unsubscribed"), so that an address an
operator once declared in the configuration is not quietly subscribed again at the next start.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from watcher.config.model import CHANNEL_PREFIX, SubscriberConfig
from watcher.diff.interest import Interest
from watcher.store.db import analyze_if_grown, insert_ignoring_duplicates
from watcher.store.follows import Choices, add_follows, cleaned, follows_of, set_follows
from watcher.store.schema import notifications, subscribers, subscriptions

ACTIVE = "active"
PENDING = "pending"
SUSPENDED = "suspended"
UNSUBSCRIBED = "unsubscribed"


CONFIRM_RESEND_AFTER = timedelta(minutes=10)  # at most one confirmation email per address
CONFIRM_LIFETIME = timedelta(hours=48)  # a confirmation link works this long


@dataclass(frozen=True, slots=True)
class Subscriber:
    id: int
    email: str  # "" for a channel's subscriber
    frequency: str
    status: str
    origin: str
    token: str
    countries: tuple[str, ...]
    created_at: datetime
    confirmed_at: datetime | None
    hard_bounces: int
    sections: tuple[tuple[str, str], ...] = ()  # (country or "*", top-level section name)
    keywords: tuple[str, ...] = ()
    channel: str | None = None  # a configured channel's name, for a channel's subscriber
    quiet: tuple[str, ...] = ()  # countries of their sections whose news they turned off
    notable: bool = False  # told only of changes whose significance reaches the notable mark

    @property
    def address(self) -> str:
        """Where their messages go: the email address, or `channel:NAME`."""
        return f"{CHANNEL_PREFIX}{self.channel}" if self.channel else self.email

    @property
    def interest(self) -> Interest:
        """What of a change this reader is told about (`diff/interest.py`)."""
        return Interest(
            frozenset(self.countries),
            frozenset(self.sections),
            self.keywords,
            frozenset(self.quiet),
        )


def new_token() -> str:
    """An unguessable secret for unsubscribe and manage links (192 bits)."""
    return secrets.token_urlsafe(24)


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def email_key(email: str) -> str:
    return email.strip().lower()


def _address_columns(address: str) -> dict[str, Any]:
    """An address as the table keeps it: an email address, or a channel's name apart."""
    address = address.strip()
    if address.startswith(CHANNEL_PREFIX):
        return {"email": "", "channel": address.removeprefix(CHANNEL_PREFIX)}
    return {"email": address, "channel": None}


async def find_subscriber(connection: AsyncConnection, email: str) -> Subscriber | None:
    """The subscriber with this address (any case), with what they follow."""
    row = (
        await connection.execute(
            select(subscribers).where(subscribers.c.email_key == email_key(email))
        )
    ).first()
    return (await with_choices(connection, [row]))[0] if row else None


async def subscribe(
    connection: AsyncConnection,
    *,
    email: str,
    countries: Sequence[str],
    frequency: str | None,
    origin: str,
    now: datetime,
    replace: bool = False,
    sections: Sequence[tuple[str, str]] = (),
    keywords: Sequence[str] = (),
    quiet: Sequence[str] = (),
    notable: bool | None = None,
) -> Subscriber:
    """Add (or with `replace`, set) the countries of an active subscriber, and the sections
    and keywords they follow (and the countries of those sections whose news they do not
    want), creating it if new; `notable`, when given, whether they hear only of notable
    changes."""
    existing = await find_subscriber(connection, email)
    if existing is None:
        result = await connection.execute(
            insert(subscribers).values(
                **_address_columns(email),
                email_key=email_key(email),
                frequency=frequency or "immediate",
                status=ACTIVE,
                origin=origin,
                token=new_token(),
                hard_bounces=0,
                notable=bool(notable),
                created_at=now,
                confirmed_at=now,
                updated_at=now,
            )
        )
        subscriber_id = int(result.inserted_primary_key[0])  # type: ignore[index]
    else:
        subscriber_id = existing.id
        values: dict[str, Any] = {"status": ACTIVE, "updated_at": now, "hard_bounces": 0}
        if notable is not None:
            values["notable"] = notable
        if frequency:
            values["frequency"] = frequency
            await retag_pending(connection, subscriber_id, frequency)
        if existing.confirmed_at is None:
            values["confirmed_at"] = now
        await connection.execute(
            update(subscribers).where(subscribers.c.id == subscriber_id).values(**values)
        )
    await set_countries(connection, subscriber_id, countries, replace=replace)
    if replace:
        await set_follows(connection, subscriber_id, sections, keywords, quiet)
    elif sections or keywords or quiet:
        await add_follows(connection, subscriber_id, sections, keywords, quiet)
    found = await find_subscriber(connection, email)
    assert found is not None
    return found


async def retag_pending(connection: AsyncConnection, subscriber_id: int, frequency: str) -> None:
    """A reader who changes how often they hear takes their pending news along: drains look
    for news by the frequency on the notification (`store/notifications.py`)."""
    await connection.execute(
        update(notifications)
        .where(
            notifications.c.subscriber_id == subscriber_id,
            notifications.c.status == "pending",
            notifications.c.frequency != frequency,
        )
        .values(frequency=frequency)
    )


async def set_countries(
    connection: AsyncConnection, subscriber_id: int, countries: Sequence[str], *, replace: bool
) -> None:
    if replace:
        await connection.execute(
            delete(subscriptions).where(subscriptions.c.subscriber_id == subscriber_id)
        )
    if countries:
        statement = insert_ignoring_duplicates(
            connection, subscriptions, ["subscriber_id", "country"]
        )
        await connection.execute(
            statement, [{"subscriber_id": subscriber_id, "country": code} for code in countries]
        )


async def unsubscribe(
    connection: AsyncConnection, email: str, countries: Sequence[str], now: datetime
) -> Subscriber | None:
    """Stop some countries (and the sections chosen of them), or everything when none are
    named. None when the address is unknown."""
    existing = await find_subscriber(connection, email)
    if existing is None:
        return None
    if countries:
        await connection.execute(
            delete(subscriptions).where(
                subscriptions.c.subscriber_id == existing.id,
                subscriptions.c.country.in_(list(countries)),
            )
        )
        kept = [pair for pair in existing.sections if pair[0] not in countries]
        await set_follows(connection, existing.id, kept, existing.keywords, existing.quiet)
    remaining = await _countries(connection, [existing.id])
    chosen = (await follows_of(connection, [existing.id])).get(existing.id)
    if not countries or not (remaining.get(existing.id) or chosen):
        await connection.execute(
            update(subscribers)
            .where(subscribers.c.id == existing.id)
            .values(status=UNSUBSCRIBED, updated_at=now)
        )
    return await find_subscriber(connection, email)


async def sync_config_subscribers(
    connection: AsyncConnection, declared: Sequence[SubscriberConfig], now: datetime
) -> None:
    """Operator-declared subscribers are active with exactly their configured countries.

    Someone who unsubscribed through a link stays unsubscribed; someone removed from the
    configuration stops receiving mail.
    """
    wanted = {email_key(item.address): item for item in declared}
    rows = (
        await connection.execute(select(subscribers).where(subscribers.c.origin == "config"))
    ).all()
    for row in rows:
        if row.email_key not in wanted and row.status == ACTIVE:
            await connection.execute(
                update(subscribers)
                .where(subscribers.c.id == row.id)
                .values(status=UNSUBSCRIBED, updated_at=now)
            )
    known: dict[str, Subscriber] = {}  # every declared address already here, read at once
    keys = list(wanted)
    for start in range(0, len(keys), 500):
        query = select(subscribers).where(subscribers.c.email_key.in_(keys[start : start + 500]))
        found = (await connection.execute(query)).all()
        known.update(
            (email_key(reader.address), reader) for reader in await with_choices(connection, found)
        )
    written = 0
    for key, item in wanted.items():
        existing = known.get(key)
        if existing is not None and existing.status in (UNSUBSCRIBED, SUSPENDED):
            continue
        choices = cleaned(item.section_pairs, item.keywords, item.quiet)
        if existing is not None and (
            existing.countries == tuple(sorted(item.countries))
            and (existing.sections, existing.keywords, existing.quiet) == choices
            and existing.frequency == item.frequency
            and existing.notable == item.notable
            and existing.status == ACTIVE
        ):
            continue
        await subscribe(
            connection,
            email=item.address,
            countries=item.countries,
            frequency=item.frequency,
            origin="config",
            now=now,
            replace=True,
            sections=choices.sections,
            keywords=choices.keywords,
            quiet=choices.quiet,
            notable=item.notable,
        )
        written += 1
    await analyze_if_grown(connection, subscribers, written)
    await analyze_if_grown(connection, subscriptions, written)


async def subscribers_by_ids(
    connection: AsyncConnection, ids: Sequence[int]
) -> dict[int, Subscriber]:
    if not ids:
        return {}
    rows = (
        await connection.execute(select(subscribers).where(subscribers.c.id.in_(list(ids))))
    ).all()
    return {subscriber.id: subscriber for subscriber in await with_choices(connection, rows)}


async def list_subscribers(
    connection: AsyncConnection, *, include_inactive: bool = False, search: str | None = None
) -> list[Subscriber]:
    """Subscribers in address order; with `search`, those whose address holds it (any case)."""
    query = select(subscribers).order_by(subscribers.c.email_key)
    if not include_inactive:
        query = query.where(subscribers.c.status == ACTIVE)
    if search:
        query = query.where(
            subscribers.c.email_key.contains(search.strip().lower(), autoescape=True)
        )
    rows = (await connection.execute(query)).all()
    return await with_choices(connection, rows)


async def _countries(connection: AsyncConnection, ids: list[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    if not ids:
        return found
    rows = (
        await connection.execute(
            select(subscriptions.c.subscriber_id, subscriptions.c.country)
            .where(subscriptions.c.subscriber_id.in_(ids))
            .order_by(subscriptions.c.country)
        )
    ).all()
    for row in rows:
        found.setdefault(row.subscriber_id, []).append(row.country)
    return found


async def with_choices(connection: AsyncConnection, rows: Sequence[Any]) -> list[Subscriber]:
    """Subscribers with what they follow: countries, sections and keywords."""
    countries = await _countries(connection, [row.id for row in rows])
    chosen = await follows_of(connection, [row.id for row in rows])
    return [
        Subscriber(
            id=row.id,
            email=row.email,
            frequency=row.frequency,
            status=row.status,
            origin=row.origin,
            token=row.token,
            countries=tuple(countries.get(row.id, [])),
            created_at=row.created_at,
            confirmed_at=row.confirmed_at,
            hard_bounces=row.hard_bounces,
            sections=chosen.get(row.id, Choices()).sections,
            keywords=chosen.get(row.id, Choices()).keywords,
            quiet=chosen.get(row.id, Choices()).quiet,
            channel=row.channel,
            notable=row.notable,
        )
        for row in rows
    ]


async def subscriber_by_token(
    connection: AsyncConnection, subscriber_id: int, secret: str
) -> Subscriber | None:
    """The subscriber whose unsubscribe/manage secret this is, compared in constant time."""
    row = (
        await connection.execute(select(subscribers).where(subscribers.c.id == subscriber_id))
    ).first()
    if row is None or not hmac.compare_digest(row.token.encode(), secret.encode()):
        return None
    return (await with_choices(connection, [row]))[0]


async def change_subscription(
    connection: AsyncConnection,
    subscriber: Subscriber,
    *,
    countries: Sequence[str],
    frequency: str,
    now: datetime,
    sections: Sequence[tuple[str, str]] = (),
    keywords: Sequence[str] = (),
    quiet: Sequence[str] = (),
    notable: bool = False,
) -> None:
    """The manage page: exactly these countries, sections and keywords at this frequency,
    the news of `quiet` countries turned off, only notable changes or all (nothing at all:
    unsubscribed)."""
    values: dict[str, Any] = {"frequency": frequency, "updated_at": now, "notable": notable}
    if not (countries or sections or keywords):
        values["status"] = UNSUBSCRIBED
    elif subscriber.status == UNSUBSCRIBED:
        values["status"] = ACTIVE
    await connection.execute(
        update(subscribers).where(subscribers.c.id == subscriber.id).values(**values)
    )
    await retag_pending(connection, subscriber.id, frequency)
    await set_countries(connection, subscriber.id, countries, replace=True)
    await set_follows(connection, subscriber.id, sections, keywords, quiet)


async def unsubscribe_subscriber(
    connection: AsyncConnection, subscriber: Subscriber, now: datetime
) -> None:
    """Stop all mail (idempotent: a second click changes nothing)."""
    if subscriber.status != UNSUBSCRIBED:
        await connection.execute(
            update(subscribers)
            .where(subscribers.c.id == subscriber.id)
            .values(status=UNSUBSCRIBED, updated_at=now)
        )
