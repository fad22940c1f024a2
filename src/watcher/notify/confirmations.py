"""The confirmation email of a subscription asked for (double opt-in): recorded with a fresh
secret and queued in one transaction, for the web's form and for an operator's resend
(`POST /api/v1/subscribers/{email}/resend`, `watcher resend`), which send the same email."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from watcher.notify.accounts import confirmation_message
from watcher.notify.compose import Composer
from watcher.notify.links import make_token
from watcher.store import read_transaction, write_transaction
from watcher.store.notifications import add_message
from watcher.store.requests import request_subscription, waiting_request
from watcher.store.subscribers import CONFIRM_LIFETIME


async def send_confirmation(
    engine: AsyncEngine,
    composer: Composer,
    *,
    email: str,
    countries: Sequence[str],
    frequency: str,
    sections: Sequence[tuple[str, str]],
    keywords: Sequence[str],
    now: datetime,
    quiet: Sequence[str] = (),
    origin: str = "web",
) -> bool:
    """Record the request and queue its confirmation; False when one went to this address
    moments ago (`CONFIRM_RESEND_AFTER`): no second email then."""
    secret = secrets.token_urlsafe(24)
    async with write_transaction(engine) as connection:
        subscriber_id = await request_subscription(
            connection,
            email=email,
            countries=countries,
            frequency=frequency,
            now=now,
            secret=secret,
            lifetime=CONFIRM_LIFETIME,
            sections=sections,
            keywords=keywords,
            quiet=quiet,
            origin=origin,
        )
        if subscriber_id is None:
            return False
        url = composer.links.confirm(make_token(subscriber_id, secret))
        composed = confirmation_message(
            composer,
            email,
            url,
            countries,
            frequency,
            CONFIRM_LIFETIME,
            now,
            sections=sections,
            keywords=keywords,
            quiet=quiet,
        )
        await add_message(
            connection, composed, kind="confirm", subscriber_id=subscriber_id, now=now
        )
    return True


async def resend_confirmation(
    engine: AsyncEngine, composer: Composer, email: str, now: datetime
) -> bool | None:
    """The confirmation of what `email` asked for and has not confirmed, again with a fresh
    link; None when nothing waits for a confirmation, False when one went out moments ago."""
    async with read_transaction(engine) as connection:
        asked = await waiting_request(connection, email)
    if asked is None:
        return None
    return await send_confirmation(
        engine,
        composer,
        email=asked.subscriber.email,
        countries=asked.countries,
        frequency=asked.frequency,
        sections=asked.sections,
        keywords=asked.keywords,
        now=now,
        quiet=asked.quiet,
    )
