"""A reader's own mail, apart from the news: the confirmation of a subscription asked for,
the welcome once it is confirmed (with the manage link to keep), and the manage link asked
for again. Each is one message to one address, outside any list, rendered with the
composer's templates, links and headers (`notify/compose.py`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from watcher.notify.composed import Composed
from watcher.notify.mime import build_message, clean_header, new_message_id, quoted_printable

if TYPE_CHECKING:
    from watcher.notify.compose import Composer
    from watcher.store.subscribers import Subscriber


def confirmation_message(
    composer: Composer,
    recipient: str,
    confirm_url: str,
    countries: Sequence[str],
    frequency: str,
    lifetime: timedelta,
    now: datetime,
    sections: Sequence[tuple[str, str]] = (),
    keywords: Sequence[str] = (),
    quiet: Sequence[str] = (),
) -> Composed:
    """The double opt-in email: one link, valid for `lifetime`."""
    context = {
        "countries": composer.describe(countries, sections, keywords, quiet),
        "frequency": frequency,
        "confirm_url": confirm_url,
        "hours": int(lifetime.total_seconds() // 3600),
    }
    subject = f"Confirm your subscription to {composer.list_name}"
    preheader = "One click confirms it; ignore this email otherwise."
    return account_message(composer, "confirm", recipient, subject, preheader, context, now)


def welcome_message(composer: Composer, subscriber: Subscriber, now: datetime) -> Composed:
    """After the confirmation: what the reader follows, and their manage link to keep."""
    subject = f"Welcome to {composer.list_name}: your link to change what you follow"
    preheader = "Keep this email: its link changes what you follow, or stops it."
    return _reader_message(composer, "welcome", subscriber, subject, preheader, now)


def manage_link_message(composer: Composer, subscriber: Subscriber, now: datetime) -> Composed:
    """The manage link a reader asked for again ("email me my manage link")."""
    subject = f"Your link to manage your {composer.list_name} subscription"
    preheader = "The link changes what you follow, how often, or stops it."
    return _reader_message(composer, "manage_link", subscriber, subject, preheader, now)


def _reader_message(
    composer: Composer,
    kind: str,
    subscriber: Subscriber,
    subject: str,
    preheader: str,
    now: datetime,
) -> Composed:
    personal = composer.personal(subscriber)
    context = {
        "countries": personal.following,
        "frequency": subscriber.frequency,
        "manage_url": personal.manage_url,
        "unsubscribe_url": personal.unsubscribe_url,
    }
    return account_message(composer, kind, subscriber.email, subject, preheader, context, now)


def account_message(
    composer: Composer,
    kind: str,
    recipient: str,
    subject: str,
    preheader: str,
    context: dict[str, Any],
    now: datetime,
) -> Composed:
    """A message about a reader's own subscription (templates `{kind}.txt` and `.html`)."""
    context = {
        **context,
        "subject": subject,
        "preheader": preheader,
        "list_name": composer.list_name,
        "links": composer.links,
        "email": recipient,
    }
    text, html = composer.render(kind, context)
    message_id = new_message_id(composer.domain, kind)
    body = build_message(
        sender=composer.mail.from_,
        recipient=recipient,
        subject=subject,
        text=quoted_printable(text),
        html=quoted_printable(html),
        message_id=message_id,
        date=now,
    )
    return Composed(recipient, clean_header(subject), message_id, body)
